"""A 2.0.1 station numbers its connectors per EVSE: EVSE 1's connector 1 and EVSE 2's connector 1
are two connectors, in every per-connector rollup (energy, sessions, status time) and in the
reports read from them, kept live as a `voltline reports rebuild` computes them. A 1.6 charge
point's rows beside them stay numbered as 1.6 numbers them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ocpp.v201 import call

from tests.integration.test_v201_transactions import add_tag, at, register, station  # noqa: F401
from tests.reports.test_live_reports import report
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

WINDOW = {"tz": "UTC", "from": "2026-11-01T10:00:00Z", "to": "2026-11-01T12:00:00Z"}
PER_CONNECTOR = [table for hourly in (t.report_energy, t.report_sessions, t.report_idle, t.report_status)
                 for table in (hourly, *t.COARSER[hourly].values())]


async def connector_status(cs: Any, evse: int, value: str, minutes: float) -> None:
    await cs.call(call.StatusNotification(timestamp=at(minutes), connector_status=value, evse_id=evse, connector_id=1))


async def rollup_rows(server: Any) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in PER_CONNECTOR:
        rows = await server.store.fetch_all(sa.select(table).order_by(*table.primary_key.columns))
        found[table.name] = [tuple(row) for row in rows]
    return found


async def test_two_evses_connector_1_charging_at_once_are_two_rows_live_and_rebuilt(server, station, api, connect, database_url) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    await add_tag(server, "TAG-1")
    await add_tag(server, "TAG-2")
    cs = await station("CS-E")
    for evse in (1, 2):
        await connector_status(cs, evse, "Available", 0)
    # Both EVSEs charge at once, each on its connector 1.
    await connector_status(cs, 1, "Occupied", 10)
    await cs.event("Started", 0, "tx-e1", minutes=10, evse=1, token="TAG-1", meter=[register(1000, 10)])
    await connector_status(cs, 2, "Occupied", 20)
    await cs.event("Started", 0, "tx-e2", minutes=20, evse=2, token="TAG-2", meter=[register(500, 20)])
    await cs.event("Updated", 1, "tx-e1", minutes=40, evse=1, trigger="MeterValuePeriodic", meter=[register(4000, 40)])
    await cs.event("Ended", 1, "tx-e2", minutes=50, evse=2, meter=[register(2500, 50)])
    await connector_status(cs, 2, "Available", 50)
    await cs.event("Ended", 2, "tx-e1", minutes=70, evse=1, meter=[register(7000, 70)])
    await connector_status(cs, 1, "Available", 70)

    # A 1.6 charge point's connector 1 beside them.
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-16"})).status_code == 201
    cp = await connect("CP-16")
    await cp.boot()
    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                       "timestamp": at(0)})
    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                                       "timestamp": at(30)})
    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                       "timestamp": at(60)})
    await server.services.rollups.flush()

    e, s = t.report_energy.c, t.report_sessions.c
    energy = await server.store.fetch_all(
        sa.select(e.evse_id, e.connector_id, e.id_tag, sa.func.sum(e.energy_wh))
        .where(e.charge_point_id == "CS-E").group_by(e.evse_id, e.connector_id, e.id_tag).order_by(e.evse_id)
    )
    assert [tuple(r) for r in energy] == [(1, 1, "TAG-1", 6000.0), (2, 1, "TAG-2", 2000.0)]
    sessions = await server.store.fetch_all(
        sa.select(s.evse_id, s.connector_id, s.sessions, s.energy_wh).order_by(s.evse_id)
    )
    assert [tuple(r) for r in sessions] == [(1, 1, 1, 6000.0), (2, 1, 1, 2000.0)]

    utilisation = await report(api, "utilisation", **WINDOW)
    items = {(i["charge_point_id"], i["evse_id"], i["connector_id"]): i["seconds"] for i in utilisation["items"]}
    assert set(items) == {("CS-E", 1, 1), ("CS-E", 2, 1), ("CP-16", None, 1)}
    assert items[("CS-E", 1, 1)]["occupied"] == 3600.0 and items[("CS-E", 1, 1)]["available"] == 3600.0
    assert items[("CS-E", 2, 1)]["occupied"] == 1800.0 and items[("CS-E", 2, 1)]["available"] == 5400.0
    assert items[("CP-16", None, 1)]["charging"] == 1800.0
    csv = await api.get("/api/v1/reports/utilisation", params={**WINDOW, "format": "csv"})
    assert csv.text.splitlines()[0].startswith("charge_point_id,connector_id,evse_id,")
    by_cp = await report(api, "utilisation", group="charge_point", **WINDOW)
    assert {i["charge_point_id"]: i["seconds"]["occupied"] for i in by_cp["items"]}["CS-E"] == 5400.0

    # The rebuild, from the transactions and the status history, writes the very rows kept live.
    live = await rollup_rows(server)
    assert live["report_status"] and live["report_energy_day"]
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url,
           "VOLTLINE_REPORTS_TIME_ZONE": server.settings.reports_time_zone}
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "voltline"), "reports", "rebuild"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rebuilt = await rollup_rows(server)
    for name, rows in live.items():
        assert rebuilt[name] == rows, name
    assert await report(api, "utilisation", **WINDOW) == utilisation


async def test_a_201_sessions_charging_state_is_its_connectors_charging_time_live_and_rebuilt(server, station, api, database_url) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """2.0.1 reports no Charging status (its connector is Occupied): the TransactionEvents'
    chargingState tells the charging time, which the utilisation report counts as 1.6's
    StatusNotification Charging, for an ended session (in the rollups, rebuilt alike) and for
    one still running."""
    await add_tag(server, "TAG-1")
    await add_tag(server, "TAG-2")
    cs = await station("CS-C")
    for evse in (1, 2):
        await connector_status(cs, evse, "Available", 0)
    await connector_status(cs, 1, "Occupied", 10)
    await cs.event("Started", 0, "tx-c1", minutes=10, evse=1, token="TAG-1", meter=[register(1000, 10)],
                   info={"charging_state": "EVConnected"})
    await cs.event("Updated", 1, "tx-c1", minutes=20, evse=1, trigger="ChargingStateChanged",
                   info={"charging_state": "Charging"})
    await cs.event("Updated", 2, "tx-c1", minutes=30, evse=1, trigger="MeterValuePeriodic", meter=[register(3000, 30)])
    await cs.event("Updated", 3, "tx-c1", minutes=50, evse=1, trigger="ChargingStateChanged",
                   info={"charging_state": "SuspendedEV"})
    await cs.event("Updated", 4, "tx-c1", minutes=55, evse=1, trigger="ChargingStateChanged",
                   info={"charging_state": "Charging"})
    await cs.event("Ended", 5, "tx-c1", minutes=70, evse=1, meter=[register(7000, 70)],
                   info={"charging_state": "EVConnected", "stopped_reason": "EVDisconnected"})
    await connector_status(cs, 1, "Available", 80)
    # EVSE 2 charges from minute 30 and is still at it when the report is read.
    await connector_status(cs, 2, "Occupied", 20)
    await cs.event("Started", 0, "tx-c2", minutes=20, evse=2, token="TAG-2", meter=[register(0, 20)],
                   info={"charging_state": "EVConnected"})
    await cs.event("Updated", 1, "tx-c2", minutes=30, evse=2, trigger="ChargingStateChanged",
                   info={"charging_state": "Charging"})
    await server.services.rollups.flush()

    utilisation = await report(api, "utilisation", **WINDOW)
    items = {(i["evse_id"], i["connector_id"]): i["seconds"] for i in utilisation["items"]}
    # EVSE 1: occupied 10'→80' (70'), of which charging 20'→50' and 55'→70' (45').
    assert (items[(1, 1)]["charging"], items[(1, 1)]["occupied"]) == (45 * 60.0, 25 * 60.0)
    assert items[(1, 1)]["available"] == (10 + 40) * 60.0
    # EVSE 2: occupied from 20' to the window's end (120'), charging from 30'.
    assert (items[(2, 1)]["charging"], items[(2, 1)]["occupied"]) == (90 * 60.0, 10 * 60.0)
    assert utilisation["totals"]["charging_s"] == 135 * 60.0

    live = await rollup_rows(server)
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url,
           "VOLTLINE_REPORTS_TIME_ZONE": server.settings.reports_time_zone}
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "voltline"), "reports", "rebuild"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert await rollup_rows(server) == live
    assert await report(api, "utilisation", **WINDOW) == utilisation
