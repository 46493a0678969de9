"""The network's rollups (energy, sessions, idle time without the charge point, connector or id
tag) and the per-id-tag day rollups, on the known network of test_live_reports: the rows the
server keeps as data arrives, read by the reports, and computed again by `voltline reports
rebuild`. The rollups' zone is Europe/Berlin: the TAG-A session crosses local midnight into
29 March, the day summer time starts (23 hours, from 28 March 23:00Z to 29 March 22:00Z)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.test_live_reports import BERLIN, build_network, by_period, every_report, report
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

NEW_TABLES = (
    *(table for network in t.NETWORK.values() for table in (network, *t.NETWORK_COARSER[network].values())),
    *t.BY_TAG_DAY.values(),
)


def z(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def rows(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in NEW_TABLES:
        # Hours with nothing in them are left out: the live rollups may hold an empty one (a
        # reading on the hour) that the rebuild has no reason to write.
        counted = table.c.energy_wh if "energy_wh" in table.c else table.c.sessions
        result = await store.query_all(sa.select(table).where(counted != 0).order_by(*table.primary_key.columns))
        found[table.name] = [tuple(row) for row in result]
    return found


def energy_of(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row[:2] for row in found]


async def rebuild(server: Any, database_url: str) -> None:
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url,
           "VOLTLINE_REPORTS_TIME_ZONE": server.settings.reports_time_zone}
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "voltline"), "reports", "rebuild"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr


async def test_network_and_tag_day_rollups_kept_live_read_by_the_reports_and_rebuilt(server, api, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await build_network(api, connect)
    await server.services.rollups.flush()
    store = server.services.store
    live = await rows(store)
    before = await every_report(api)

    # The network's hours: TAG-A's 6000 Wh from 22:30Z on the 28th to 01:30Z on the 29th, TAG-B's
    # 3000 Wh (after the reset) on the 30th, CP-R2's 1000 Wh on the 31st.
    assert live["report_energy_net"] == [
        (z(28, 22), 1000.0), (z(28, 23), 2000.0), (z(29, 0), 2000.0), (z(29, 1), 1000.0),
        (z(30, 10), 2000.0), (z(30, 11), 1000.0), (z(31, 0), 1000.0),
    ]
    # Berlin's days: the 28th from 27 23:00Z, the 29th (23 hours) from 28 23:00Z, the 30th and
    # 31st (summer time) from 22:00Z the day before. The hour 23:00Z of the 28th is the 29th's.
    assert live["report_energy_net_day"] == [(z(27, 23), 1000.0), (z(28, 23), 5000.0), (z(29, 22), 3000.0),
                                             (z(30, 22), 1000.0)]
    assert live["report_energy_net_month"] == [(datetime(2026, 2, 28, 23, tzinfo=UTC), 10000.0)]
    # Sessions by start hour and (energy, duration) bucket: sessions, seconds, Wh, flagged.
    assert live["report_sessions_net"] == [
        (z(28, 22), 2, 4, 1, 12600.0, 6000.0, 0), (z(30, 10), 1, 4, 1, 7200.0, 3000.0, 1),
        (z(31, 0), 1, 3, 1, 3600.0, 1000.0, 0),
    ]
    assert live["report_sessions_net_day"] == [
        (z(27, 23), 2, 4, 1, 12600.0, 6000.0, 0), (z(29, 22), 1, 4, 1, 7200.0, 3000.0, 1),
        (z(30, 22), 1, 3, 1, 3600.0, 1000.0, 0),
    ]
    assert [row[1:] for row in live["report_sessions_net_month"]] == [(1, 3, 1, 3600.0, 1000.0, 0),
                                                                       (1, 4, 1, 7200.0, 3000.0, 1),
                                                                       (2, 4, 1, 12600.0, 6000.0, 0)]
    assert live["report_idle_net"] == [(z(28, 22), 3600.0, 1)]
    assert live["report_idle_net_day"] == [(z(27, 23), 3600.0, 1)]
    # By id tag and local day: TAG-A's session split at Berlin's midnight, its highest sample
    # (5000 W at 01:30Z) in the 29th.
    assert live["report_energy_tag_day"] == [
        (z(27, 23), "TAG-A", 1000.0, None), (z(28, 23), "TAG-A", 5000.0, 5000.0),
        (z(29, 22), "TAG-B", 3000.0, None), (z(30, 22), "TAG-B", 1000.0, None),
    ]
    # Sessions and flagged sessions (TAG-B's reset one on the 30th).
    assert live["report_sessions_tag_day"] == [(z(27, 23), "TAG-A", 1, 0), (z(29, 22), "TAG-B", 1, 1),
                                               (z(30, 22), "TAG-B", 1, 0)]

    # Sums over a range in another zone read the rollups' whole days and hours at the edges: the
    # same answers as in Berlin's (the range holds every session in both).
    utc_range = {"tz": "UTC", "from": "2026-03-28T00:00:00", "to": "2026-04-01T00:00:00"}
    for path in ("energy/by-charge-point", "energy/by-id-tag"):
        assert (await report(api, path, **utc_range))["items"] == before["by_cp" if "charge" in path else "by_tag"]["items"]
    utc_sessions = await report(api, "sessions", **utc_range)
    for key in ("count", "flagged", "duration_s", "energy_wh", "idle_s", "energy_distribution", "duration_distribution"):
        assert utc_sessions[key] == before["sessions"][key], key
    assert (await report(api, "energy", **utc_range))["flagged_transactions"] == 1

    # What the reports show comes from those rows: change them and it follows.
    async def change(conn: Any) -> None:
        day, tag_day, hourly = t.NETWORK_COARSER[t.NETWORK[t.report_energy]]["day"], t.BY_TAG_DAY[t.report_energy], t.NETWORK[t.report_energy]
        sessions_day = t.NETWORK_COARSER[t.NETWORK[t.report_sessions]]["day"]
        await conn.execute(sa.update(day).where(day.c.hour == z(28, 23)).values(energy_wh=5500.0))
        await conn.execute(sa.update(tag_day).where(tag_day.c.hour == z(29, 22)).values(energy_wh=3300.0))
        await conn.execute(sa.update(hourly).where(hourly.c.hour == z(31, 0)).values(energy_wh=1200.0))
        await conn.execute(sa.update(sessions_day).where(sessions_day.c.hour == z(30, 22)).values(sessions=4))

    await store.write(change)
    energy = await report(api, "energy", **BERLIN)
    assert by_period(energy["items"])["2026-03-29T00:00:00+01:00"] == 5500.0 and energy["total_energy_wh"] == 10500.0
    by_tag = await report(api, "energy/by-id-tag", **BERLIN)
    assert [(i["id_tag"], i["energy_wh"]) for i in by_tag["items"]] == [("TAG-A", 6000.0), ("TAG-B", 4300.0)]
    tag_b = await report(api, "energy", id_tag="TAG-B", **BERLIN)
    assert by_period(tag_b["items"])["2026-03-30T00:00:00+02:00"] == 3300.0
    # Another zone than the rollups' reads the network's hours.
    utc = await report(api, "energy", tz="UTC", **{"from": "2026-03-31T00:00:00", "to": "2026-04-01T00:00:00"})
    assert utc["total_energy_wh"] == 1200.0
    sessions = await report(api, "sessions", **BERLIN)
    assert sessions["count"] == 6
    # A sum over the range in another zone reads the rollups' whole days too (Berlin's 29th to
    # 31st here), the hours at its edges.
    sessions = await report(api, "sessions", tz="UTC", **{"from": "2026-03-28T00:00:00", "to": "2026-04-01T00:00:00"})
    assert sessions["count"] == 6 and sum(h["count"] for h in sessions["by_hour_of_day"]) == 3
    # A charge point's or an OCPP version's reports still read the per-connector rollups.
    assert (await report(api, "energy", charge_point_id="CP-R1", **BERLIN))["total_energy_wh"] == 9000.0

    # The rebuild computes every row as the server kept it, and the reports as they were.
    await rebuild(server, database_url)
    assert await rows(store) == live
    assert await every_report(api) == before
