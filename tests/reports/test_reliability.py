"""Reliability on a generated history with known answers: a charge point offline for a whole day
and reconnecting often, its faults rising against its own past; another one steady.

The connections are fed to the server's own rollup recorder with the times of the history (a
connection's times are the server's, so they cannot come over OCPP from the past); the faults
come as StatusNotifications with the charge point's timestamps. Range: 1-8 June 2026 (UTC);
baseline: the 28 days before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.test_live_reports import report, status
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

RANGE = {"tz": "UTC", "from": "2026-06-01T00:00:00Z", "to": "2026-06-08T00:00:00Z"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_offline_day_reconnects_and_faults_rising_are_flagged(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    for identity in ("CP-A", "CP-B"):
        assert (await api.post("/api/v1/charge-points", json={"id": identity})).status_code == 201
    # The history begins before the range: the charge points exist since the new year.
    await server.store.write(lambda conn: conn.execute(
        t.charge_points.update().values(created_at=at("2026-01-01T00:00:00"))
    ))
    rollups = server.services.rollups
    segments = {
        "CP-A": [("2026-05-04T00:00:00", "2026-06-03T00:00:00"),  # then offline for a whole day
                 ("2026-06-04T00:00:00", "2026-06-05T00:00:00"),
                 ("2026-06-05T00:00:00", "2026-06-05T06:00:00"),  # a new connection replaces it
                 ("2026-06-05T06:10:00", "2026-06-05T12:00:00"),
                 ("2026-06-05T12:10:00", "2026-06-08T00:00:00")],
        "CP-B": [("2026-05-04T00:00:00", "2026-06-08T00:00:00")],
    }
    for identity, spans in segments.items():
        for start, end in spans:
            rollups.connected(identity, at(start))
            if spans[-1] == (start, end) or not any(s == end for s, _ in spans):
                rollups.disconnected(identity, at(end))
    cp = await connect("CP-A")
    await cp.boot()
    await status(cp, 1, "Available", "2026-05-04T00:00:00Z")
    await status(cp, 1, "Faulted", "2026-05-10T00:00:00Z", "GroundFailure")  # the baseline's one
    await status(cp, 1, "Available", "2026-05-10T01:00:00Z")
    for day, code in ((5, "GroundFailure"), (6, "HighTemperature"), (7, "GroundFailure")):
        await status(cp, 1, "Faulted", f"2026-06-0{day}T01:00:00Z", code)
        await status(cp, 1, "Available", f"2026-06-0{day}T02:00:00Z")
    await rollups.flush()

    items: dict[str, Any] = {i["charge_point_id"]: i for i in (await report(api, "reliability", **RANGE))["items"]}
    a, b = items["CP-A"], items["CP-B"]
    connected = (2 * 24 + 24 + 6) * 3600 + (5 * 60 + 50) * 60 + (2 * 24 + 11) * 3600 + 50 * 60
    assert a["connected_s"] == connected and a["offline_s"] == 7 * 86400 - connected
    assert a["offline_s"] == 24 * 3600 + 20 * 60  # the whole day, and the two short reconnects
    assert a["reconnects"] == 4
    assert a["faults"] == 3 and a["faults_by_error_code"] == {"GroundFailure": 2, "HighTemperature": 1}
    assert a["baseline_fault_rate_per_day"] == round(1 / 28, 3)
    assert a["baseline_reconnect_rate_per_day"] == round(1 / 28, 3)
    assert a["flagged"] is True and a["flag_reasons"] == ["fault_rate_rose", "reconnect_rate_rose"]
    assert b == {**b, "connected_s": 7 * 86400.0, "offline_s": 0.0, "reconnects": 0, "faults": 0, "flagged": False}
    assert list(items) == ["CP-A", "CP-B"]  # the flagged first

    # Utilisation knows the faulted hours; the CSV carries the flags.
    util = await report(api, "utilisation", charge_point_id="CP-A", **RANGE)
    assert util["items"][0]["seconds"]["faulted"] == 3 * 3600.0
    csv = await api.get("/api/v1/reports/reliability", params={**RANGE, "format": "csv"})
    lines = csv.text.splitlines()
    assert lines[0].startswith("charge_point_id,connected_s,offline_s")
    assert lines[1].startswith("CP-A,") and "GroundFailure=2;HighTemperature=1" in lines[1]
    assert lines[1].endswith("true,fault_rate_rose;reconnect_rate_rose")

    # The same answers from the day and month rollups, in the zone they are kept in.
    berlin = {"tz": "Europe/Berlin", "from": "2026-05-01T00:00:00", "to": "2026-07-01T00:00:00"}
    by_day = {i["charge_point_id"]: i for i in (await report(api, "reliability", **berlin))["items"]}
    assert by_day["CP-A"]["faults"] == 4 and by_day["CP-A"]["reconnects"] == 5
    async with server.store.query() as conn:
        hours = await conn.scalar(sa.select(sa.func.sum(t.report_connectivity.c.connected_s))
                                  .where(t.report_connectivity.c.charge_point_id == "CP-A"))
    assert by_day["CP-A"]["connected_s"] == hours
    # A range with whole months and ragged edges (30 April from 01:00, 1 July to 01:00) sums
    # the months and, at the start, the day less its first hour: the same counts.
    edges = {"tz": "Europe/Berlin", "from": "2026-04-30T01:00:00", "to": "2026-07-01T01:00:00"}
    by_edges = {i["charge_point_id"]: i for i in (await report(api, "reliability", **edges))["items"]}
    for identity in ("CP-A", "CP-B"):
        for key in ("connected_s", "reconnects", "faults", "faults_by_error_code", "failed_starts"):
            assert by_edges[identity][key] == by_day[identity][key], (identity, key)
