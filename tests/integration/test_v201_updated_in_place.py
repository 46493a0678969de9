"""Periodic TransactionEvent Updated events applied from what the server knows of the open
transaction (services/transactions/open_events.py), without reading the database: every rule of
the exact path still holds around them, on SQLite and PostgreSQL, with the `ocpp` package's
v201.ChargePoint as the client."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
import websockets
from ocpp.exceptions import InternalError

from tests.integration.test_bad_input import _outage
from tests.integration import test_v201_transactions as v201
from tests.integration.test_v201_transactions import Station, at, by_wire_id, events_of, register
from voltline.store import tables as t

station = v201.station  # the fixture: a registered 2.0.1 station connected to the server


async def readings_of(server: Any, transaction_id: int) -> int:
    r = t.meter_readings.c
    return len(await server.store.fetch_all(sa.select(r.id).where(r.transaction_id == transaction_id)))


async def strict_event(cs: Any, *args: Any, **kwargs: Any) -> Any:
    """cs.event, raising the CALLERROR it is answered with (the client suppresses them)."""
    original = cs.call
    cs.call = lambda payload: original(payload, suppress=False)
    try:
        return await cs.event(*args, **kwargs)
    finally:
        cs.call = original


async def test_updated_events_applied_in_place_keep_repeats_gaps_late_readings_and_the_end(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-p", trigger="CablePluggedIn", minutes=10, meter=[register(2000, 10)])
    for seq_no in (1, 2, 3):
        await cs.event("Updated", seq_no, "tx-p", minutes=10 + seq_no, trigger="MeterValuePeriodic",
                       meter=[register(2000 + 100 * seq_no, 10 + seq_no)])
    # Applied in place: the server knows the open transaction and the seqNos it had.
    known = server.services.transactions.open_events
    assert ("CS-1", "tx-p") in known
    tx = await by_wire_id(api, "tx-p")
    assert tx["status"] == "Active" and (tx["meter_start"], tx["energy_wh"]) == (2000, 300)
    assert await readings_of(server, tx["id"]) == 4

    # A repeat changes nothing.
    await cs.event("Updated", 2, "tx-p", minutes=12, trigger="MeterValuePeriodic", meter=[register(2200, 12)])
    assert await readings_of(server, tx["id"]) == 4
    assert [e.seq_no for e in await events_of(server, "tx-p")] == [0, 1, 2, 3]

    # A gap is recorded, and filled by the event that was missing.
    await cs.event("Updated", 6, "tx-p", minutes=16, trigger="MeterValuePeriodic", meter=[register(2600, 16)])
    assert (await by_wire_id(api, "tx-p"))["missing_seq_nos"] == [4, 5]
    await cs.event("Updated", 5, "tx-p", minutes=15, trigger="MeterValuePeriodic", meter=[register(2500, 15)])
    assert (await by_wire_id(api, "tx-p"))["missing_seq_nos"] == [4]

    # An offline event from before the start moves the start and the meter start.
    await cs.event("Updated", 4, "tx-p", minutes=5, trigger="MeterValuePeriodic", offline=True,
                   meter=[register(1500, 5)])
    tx = await by_wire_id(api, "tx-p")
    assert tx["started_at"] == at(5) and tx["meter_start"] == 1500 and tx["missing_seq_nos"] == []

    # The Ended without a register: the meter stop is the last reading before it...
    await cs.event("Updated", 7, "tx-p", minutes=20, trigger="MeterValuePeriodic", meter=[register(3000, 20)])
    await cs.event("Ended", 9, "tx-p", minutes=30, trigger="EVDeparted", info={"stopped_reason": "EVDisconnected"})
    assert ("CS-1", "tx-p") not in known
    tx = await by_wire_id(api, "tx-p")
    assert tx["status"] == "Stopped" and (tx["meter_start"], tx["meter_stop"]) == (1500, 3000)
    # ...and an Updated that comes after it, with a reading from before it, moves the stop there
    # and reopens nothing.
    await cs.event("Updated", 8, "tx-p", minutes=25, trigger="MeterValuePeriodic", offline=True,
                   meter=[register(3400, 25)])
    tx = await by_wire_id(api, "tx-p")
    assert tx["status"] == "Stopped" and tx["stopped_at"] == at(30) and tx["meter_stop"] == 3400
    assert tx["energy_wh"] == 1900 and tx["missing_seq_nos"] == []
    assert ("CS-1", 1) not in server.services.transactions.live


async def test_an_updated_event_while_the_database_is_away_is_refused_and_stored_once_when_retried(server, station, api, database_url) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-d", meter=[register(100, 0)])
    await cs.event("Updated", 1, "tx-d", minutes=1, trigger="MeterValuePeriodic", meter=[register(200, 1)])
    assert ("CS-1", "tx-d") in server.services.transactions.open_events
    async with _outage(database_url):
        try:
            await strict_event(cs, "Updated", 2, "tx-d", minutes=2, trigger="MeterValuePeriodic",
                               meter=[register(300, 2)])
        except InternalError:
            pass
        else:
            raise AssertionError("an Updated event was accepted while the database was away")
    # The station sends it again until it is answered: stored once.
    for _ in range(50):
        try:
            await strict_event(cs, "Updated", 2, "tx-d", minutes=2, trigger="MeterValuePeriodic",
                               meter=[register(300, 2)])
            break
        except InternalError:
            await asyncio.sleep(0.2)
    await cs.event("Updated", 3, "tx-d", minutes=3, trigger="MeterValuePeriodic", meter=[register(400, 3)])
    tx = await by_wire_id(api, "tx-d")
    assert [e.seq_no for e in await events_of(server, "tx-d")] == [0, 1, 2, 3]
    assert [s["value"] for s in tx["meter_values"]] == [100, 200, 300, 400]
    assert tx["energy_wh"] == 300


async def test_a_transaction_voltline_closed_is_not_applied_in_place(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-v", meter=[register(100, 0)])
    await cs.event("Updated", 1, "tx-v", minutes=1, trigger="MeterValuePeriodic", meter=[register(200, 1)])
    tx = await by_wire_id(api, "tx-v")
    closed = await api.post(f"/api/v1/transactions/{tx['id']}/close", json={"reason": "gone"})
    assert closed.status_code == 200, closed.text
    assert ("CS-1", "tx-v") not in server.services.transactions.open_events
    # Its station's own Ended still counts; nothing before it reopens the transaction.
    await cs.event("Updated", 2, "tx-v", minutes=2, trigger="MeterValuePeriodic", meter=[register(300, 2)])
    assert (await by_wire_id(api, "tx-v"))["status"] == "Stopped"
    await cs.event("Ended", 3, "tx-v", minutes=3, meter=[register(400, 3)])
    tx = await by_wire_id(api, "tx-v")
    assert tx["status"] == "Stopped" and tx["meter_stop"] == 400 and tx["stop_reason"] == "Local"


async def test_a_disconnected_station_s_transactions_are_learnt_again(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-n", meter=[register(100, 0)])
    await cs.event("Updated", 1, "tx-n", minutes=1, trigger="MeterValuePeriodic", meter=[register(200, 1)])
    known = server.services.transactions.open_events
    assert ("CS-1", "tx-n") in known
    await cs._connection.close()
    for _ in range(500):
        if ("CS-1", "tx-n") not in known:
            break
        await asyncio.sleep(0.01)
    assert ("CS-1", "tx-n") not in known  # another node may apply its next events
    ws = await websockets.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CS-1", subprotocols=["ocpp2.0.1"])
    again = Station("CS-1", ws)
    serving = asyncio.create_task(again.start())
    try:
        await again.event("Updated", 1, "tx-n", minutes=1, trigger="MeterValuePeriodic", meter=[register(200, 1)])
        await again.event("Updated", 2, "tx-n", minutes=2, trigger="MeterValuePeriodic", meter=[register(300, 2)])
        assert ("CS-1", "tx-n") in known
        tx = await by_wire_id(api, "tx-n")
        assert [s["value"] for s in tx["meter_values"]] == [100, 200, 300]
    finally:
        serving.cancel()
        await ws.close()
