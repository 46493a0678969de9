"""Each operator reads the dashboard in their own time zone; the store, API and CSV stay UTC.

Against the real server over HTTP: sessions recorded at known UTC instants (written to the store
as a charge point's StartTransaction would leave them), operators whose zones differ.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from tests.web.conftest import csrf_of, log_in
from voltline.app import Voltline
from voltline.services.security.operators import UserService
from voltline.store import tables as t

# 2026-03-29 is the day Berlin's clocks go from 02:00 CET to 03:00 CEST: a day of 23 hours.
LATE_EVENING = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 2026-03-29 00:30 CET
NEXT_NIGHT = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)  # 2026-03-30 00:30 CEST


async def add_session(server: Voltline, transaction_id: int, started_at: datetime,
                      stopped_at: datetime | None = None, energy_wh: int = 0) -> None:
    if server.services.charge_points.access("CP-TZ") is None:
        await server.services.charge_points.register("CP-TZ")
    await server.store.write(lambda conn: conn.execute(t.transactions.insert().values(
        id=transaction_id, charge_point_id="CP-TZ", connector_id=1, id_tag="TAG-TZ", id_tag_status="Accepted",
        meter_start=1000, meter_stop=None if stopped_at is None else 1000 + energy_wh, started_at=started_at,
        stopped_at=stopped_at, stop_reason=None if stopped_at is None else "Local",
    )))


async def set_zone(client: httpx.AsyncClient, zone: str) -> httpx.Response:
    token = csrf_of((await client.get("/account")).text)
    return await client.post("/account", data={"time_zone": zone, "csrf_token": token})


def session_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-session-row="(\d+)"', html)}


@pytest.fixture
async def second(server: Voltline) -> AsyncIterator[httpx.AsyncClient]:
    await UserService(server.store).create("night-shift", "another good password")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as client:
        assert (await log_in(client, "night-shift", "another good password")).status_code == 303
        yield client


async def test_a_late_session_shows_on_the_next_day_in_berlin_and_its_date_filter_finds_it(
    web: httpx.AsyncClient, server: Voltline
) -> None:
    await add_session(server, 101, LATE_EVENING)
    await add_session(server, 102, NEXT_NIGHT)
    saved = await set_zone(web, "Europe/Berlin")
    assert saved.status_code == 303

    page = (await web.get("/sessions")).text
    assert "2026-03-29 00:30:00 CET" in page
    assert "2026-03-30 00:30:00 CEST" in page
    assert "Started from (Europe/Berlin)" in page and "to (Europe/Berlin)" in page
    assert "Europe/Berlin" in (await web.get("/")).text  # the header names the zone

    # The operator's 29 March: 23 hours, from 23:00 UTC on the 28th to 22:00 UTC on the 29th.
    day = await web.get("/sessions", params={"since": "2026-03-29", "until": "2026-03-29"})
    assert session_ids(day.text) == {101}
    before = await web.get("/sessions", params={"since": "2026-03-28", "until": "2026-03-28"})
    assert session_ids(before.text) == set()
    after = await web.get("/sessions", params={"since": "2026-03-30"})
    assert session_ids(after.text) == {102}

    detail = (await web.get("/sessions/101")).text
    assert "2026-03-29 00:30:00 CET" in detail


async def test_the_zone_is_each_operators_own(web: httpx.AsyncClient, second: httpx.AsyncClient,
                                              server: Voltline) -> None:
    await add_session(server, 103, LATE_EVENING)
    assert (await set_zone(web, "Europe/Berlin")).status_code == 303

    # The second operator has chosen nothing: UTC, and UTC days.
    page = (await second.get("/sessions")).text
    assert "2026-03-28 23:30:00 UTC" in page and "Started from (UTC)" in page
    assert session_ids((await second.get("/sessions", params={"since": "2026-03-28", "until": "2026-03-28"})).text) == {103}

    assert (await set_zone(second, "America/New_York")).status_code == 303
    assert "2026-03-28 19:30:00 EDT" in (await second.get("/sessions")).text
    assert "2026-03-29 00:30:00 CET" in (await web.get("/sessions")).text
    zones = dict((await server.store.fetch_all(sa.select(t.users.c.username, t.users.c.time_zone))))
    assert zones == {"operator": "Europe/Berlin", "night-shift": "America/New_York"}


async def test_an_unknown_zone_is_refused_and_changes_nothing(web: httpx.AsyncClient, server: Voltline) -> None:
    assert (await set_zone(web, "Asia/Tokyo")).status_code == 303
    for bad in ["Mars/Olympus", "../../../etc/localtime", ""]:
        refused = await set_zone(web, bad)
        assert refused.status_code == 400
        assert "not a time zone" in refused.text
    account = (await web.get("/account")).text
    assert re.search(r"<option selected>Asia/Tokyo</option>", account)


async def test_the_first_login_keeps_the_browsers_zone_and_later_ones_do_not_overwrite_it(
    anonymous: httpx.AsyncClient, operator: tuple[str, str], server: Voltline
) -> None:
    async def login_from(zone: str) -> None:
        async with httpx.AsyncClient(base_url=str(anonymous.base_url)) as client:
            token = csrf_of((await client.get("/login")).text)
            response = await client.post("/login", data={"username": operator[0], "password": operator[1],
                                                        "csrf_token": token, "next": "/", "time_zone": zone})
            assert response.status_code == 303

    async def stored() -> str | None:
        return await server.store.fetch_one(sa.select(t.users.c.time_zone))  # type: ignore[return-value]

    await login_from("Not/A_Zone")
    assert (await stored())[0] is None  # type: ignore[index]
    await login_from("Asia/Kolkata")
    assert (await stored())[0] == "Asia/Kolkata"  # type: ignore[index]
    await login_from("America/New_York")  # the same operator on a laptop abroad
    assert (await stored())[0] == "Asia/Kolkata"  # type: ignore[index]


async def test_the_csv_export_stays_utc_while_its_filter_is_the_operators_day(
    web: httpx.AsyncClient, server: Voltline
) -> None:
    await add_session(server, 104, LATE_EVENING)
    await add_session(server, 105, NEXT_NIGHT)
    await set_zone(web, "Europe/Berlin")
    export = await web.get("/sessions.csv", params={"since": "2026-03-29", "until": "2026-03-29"})
    assert export.status_code == 200
    assert re.search(r'filename="voltline-sessions-\d{8}-\d{6}Z\.csv"', export.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["id"], r["started_at"]) for r in rows] == [("104", "2026-03-28T23:30:00Z")]


async def test_energy_today_is_the_operators_today(web: httpx.AsyncClient, second: httpx.AsyncClient,
                                                   server: Voltline) -> None:
    # A session that finished (m + 30 min) ago, m being the minutes past the hour now: it finished
    # before midnight in a zone where it is now 00:m, and today where it is now 12:m.
    now = datetime.now(UTC)
    past_hour = timedelta(minutes=now.minute, seconds=now.second)
    stopped = now - past_hour - timedelta(minutes=30)
    await add_session(server, 106, stopped - timedelta(hours=1), stopped, energy_wh=12_340)

    def etc_zone(local_hour: int) -> str:
        offset = (local_hour - now.hour) % 24
        offset = offset - 24 if offset > 14 else offset
        return f"Etc/GMT{-offset:+d}" if offset else "UTC"  # Etc/GMT-5 is five hours ahead of UTC

    await set_zone(web, etc_zone(0))
    await set_zone(second, etc_zone(12))
    assert energy_today((await web.get("/")).text) == "0.00 kWh"
    overview = (await second.get("/")).text
    assert energy_today(overview) == "12.34 kWh"
    assert f"day in {etc_zone(12)}" in overview


def energy_today(html: str) -> str:
    match = re.search(r'Energy today</span>\s*<span class="tile-value">([^<]+)</span>', html)
    assert match, "no energy-today tile"
    return match.group(1)


async def test_an_id_tags_expiry_is_typed_and_shown_in_the_operators_zone(web: httpx.AsyncClient,
                                                                          server: Voltline) -> None:
    await set_zone(web, "Europe/Berlin")
    token = csrf_of((await web.get("/id-tags")).text)
    assert "Expires (Europe/Berlin)" in (await web.get("/id-tags")).text
    created = await web.post("/id-tags", data={"id_tag": "TZ-TAG", "status": "Accepted", "csrf_token": token,
                                              "expiry_date": "2026-10-25T02:30"})
    assert created.status_code == 303
    row = await server.store.fetch_one(sa.select(t.id_tags.c.expiry_date).where(t.id_tags.c.id_tag == "TZ-TAG"))
    assert row is not None
    assert row[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 of the repeated hour
    page = (await web.get("/id-tags/TZ-TAG")).text
    assert 'value="2026-10-25T02:30"' in page
    assert "2026-10-25 02:30 CEST" in (await web.get("/id-tags")).text


async def test_the_message_logs_time_filter_reads_the_operators_clock(
    web: httpx.AsyncClient, server: Voltline, connect: Any
) -> None:
    await server.services.charge_points.register("CP-LOG")
    client = await connect("CP-LOG")
    await client.call("Heartbeat", {})
    written = server.services.message_log.flush()
    if written is not None:
        await written
    await set_zone(web, "Asia/Kolkata")  # UTC+05:30: an hour's filter read as UTC would miss by hours
    here = datetime.now(UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    field = "%Y-%m-%dT%H:%M"
    around = {"charge_point_id": "CP-LOG", "action": "Heartbeat",
              "since": (here - timedelta(minutes=30)).strftime(field), "until": (here + timedelta(minutes=30)).strftime(field)}
    page = (await web.get("/messages", params=around)).text
    assert "From (Asia/Kolkata)" in page
    assert re.search(r"<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d IST</time>", page)
    earlier = {**around, "until": (here - timedelta(minutes=30)).strftime(field)}
    assert "<details" not in (await web.get("/messages", params=earlier)).text
    later = {**around, "since": (here + timedelta(minutes=30)).strftime(field), "until": ""}
    assert "<details" not in (await web.get("/messages", params=later)).text
    assert "<details" in page
