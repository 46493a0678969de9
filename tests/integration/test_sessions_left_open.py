"""Sessions their charge point no longer has: an operator closes them without it, and a charge
point that reboots reports which it still holds (the rule in voltline/services/transactions/reconciliation.py)
— over real WebSockets and the real API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tests.ocpp_client import OcppClient
from voltline.store import tables as t

T0 = "2026-11-01T10:00:00Z"
T0_10 = "2026-11-01T10:10:00Z"
T0_20 = "2026-11-01T10:20:00Z"
T0_30 = "2026-11-01T10:30:00Z"
T1 = "2026-11-01T11:00:00Z"
BEFORE = "2026-11-01T09:00:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def add_tag(server: Any, id_tag: str) -> None:
    await server.store.write(lambda c: c.execute(t.id_tags.insert().values(id_tag=id_tag, status="Accepted")))


async def transaction(server: Any, transaction_id: int) -> Any:
    return await server.store.fetch_one(sa.select(t.transactions).where(t.transactions.c.id == transaction_id))


def start(connector: int, id_tag: str, meter: int, timestamp: str) -> dict[str, Any]:
    return {"connectorId": connector, "idTag": id_tag, "meterStart": meter, "timestamp": timestamp}


def register_reading(connector: int, transaction_id: int, timestamp: str, wh: float) -> dict[str, Any]:
    return {"connectorId": connector, "transactionId": transaction_id, "meterValue": [{"timestamp": timestamp, "sampledValue": [
        {"value": str(wh), "unit": "Wh", "measurand": "Energy.Active.Import.Register"},
        {"value": "7000", "unit": "W", "measurand": "Power.Active.Import"},
    ]}]}


async def next_of(events: Any, kind: str) -> Any:
    while (event := await asyncio.wait_for(events.get(), 5)).type != kind:
        pass
    return event


def status(connector: int, state: str, timestamp: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"connectorId": connector, "errorCode": "NoError", "status": state}
    if timestamp is not None:
        payload["timestamp"] = timestamp
    return payload


async def charging(server: Any, connect: Any, identity: str, sessions: dict[int, tuple[str, int]]) -> tuple[OcppClient, dict[int, int]]:
    """`identity` online with a session per connector (tag, meter start), a reading in each."""
    if server.services.charge_points.access(identity) is None:
        await server.services.charge_points.register(identity)
    client = await connect(identity)
    await client.boot()
    ids = {}
    for connector, (tag, meter) in sessions.items():
        ids[connector] = (await client.ok("StartTransaction", start(connector, tag, meter, T0)))["transactionId"]
        await client.ok("MeterValues", register_reading(connector, ids[connector], T0_10, meter + 1500))
    return client, ids


# -- an operator closes a session without its charge point ----------------------------------------


async def test_an_operator_closes_a_session_without_the_charge_point(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "DRIVER")
    client, ids = await charging(server, connect, "CP-1", {1: ("DRIVER", 1000)})
    tx = ids[1]
    assert server.services.transactions.live[("CP-1", 1)].energy_wh == 2500
    # The charge point answers Rejected to a remote stop: it no longer has the session.
    async with server.bus.subscribe() as events:
        closed = await api.post(f"/api/v1/transactions/{tx}/close", json={"reason": "stuck after a restart"})
        stopped = await next_of(events, "transaction.stopped")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["id"], body["status"], body["meter_stop"], body["energy_wh"], body["stop_reason"]) == (
        tx, "Stopped", 2500, 1500, "Other"  # the last register reading
    )
    assert body["stop_note"] == "closed by operator tests (API token) without the charge point: stuck after a restart"
    assert body["stopped_at"] is not None and len(body["meter_values"]) == 2
    assert (stopped.type, stopped.charge_point_id, stopped.data["transaction_id"], stopped.data["meter_stop"]) == (
        "transaction.stopped", "CP-1", tx, 2500
    )
    assert stopped.data["note"] == body["stop_note"]
    assert ("CP-1", 1) not in server.services.transactions.live
    active = (await api.get("/api/v1/transactions", params={"active": "true"})).json()
    assert active["total"] == 0
    assert (await api.get(f"/api/v1/transactions/{tx}")).json()["stop_note"] == body["stop_note"]

    # Once stopped, it cannot be closed again; an unknown one is unknown.
    again = await api.post(f"/api/v1/transactions/{tx}/close", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "transaction_stopped"
    unknown = await api.post("/api/v1/transactions/99999/close", json={})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_closing_takes_the_operators_meter_value_and_time_and_refuses_impossible_ones(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "A")
    await add_tag(server, "B")
    client, ids = await charging(server, connect, "CP-1", {1: ("A", 1000), 2: ("B", 5000)})
    await client.ok("MeterValues", register_reading(1, ids[1], T0_30, 4000))
    url = f"/api/v1/transactions/{ids[1]}/close"
    for bad in ({"meter_stop": 999}, {"meter_stop": -1}, {"meter_stop": "lots"}, {"stopped_at": BEFORE},
                {"stopped_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, {"reason": "x\u0000"},
                {"unknown_field": 1}):
        refused = await api.post(url, json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert set(refused.json()["error"]) >= {"code", "message"}
        assert (await transaction(server, ids[1])).stopped_at is None  # nothing written
    assert "below the transaction's meter_start" in (await api.post(url, json={"meter_stop": 999})).json()["error"]["message"]

    # A time of the operator's: the last reading up to then.
    closed = (await api.post(url, json={"stopped_at": T0_20})).json()
    assert (closed["meter_stop"], closed["stopped_at"]) == (2500, "2026-11-01T10:20:00Z")
    assert closed["stop_note"] == "closed by operator tests (API token) without the charge point"
    # A value of the operator's, read off the charge point's display; no body at all is fine too.
    other = await api.post(f"/api/v1/transactions/{ids[2]}/close", json={"meter_stop": 7777})
    assert other.status_code == 200 and other.json()["meter_stop"] == 7777
    without_readings = (await client.ok("StartTransaction", start(1, "A", 9000, T1)))["transactionId"]
    bare = await api.post(f"/api/v1/transactions/{without_readings}/close")
    assert bare.status_code == 200 and bare.json()["meter_stop"] == 9000  # no reading: its meter start


async def test_the_tag_of_a_closed_session_can_start_again(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "DRIVER")
    _, ids = await charging(server, connect, "CP-1", {1: ("DRIVER", 0)})
    await server.services.charge_points.register("CP-2")
    other = await connect("CP-2")
    await other.boot()
    refused = await other.ok("StartTransaction", start(1, "DRIVER", 0, T1))
    assert refused["idTagInfo"]["status"] == "ConcurrentTx"  # the ghost session holds the tag
    await other.ok("StopTransaction", {"transactionId": refused["transactionId"], "meterStop": 0, "timestamp": T1})

    assert (await api.post(f"/api/v1/transactions/{ids[1]}/close", json={})).status_code == 200
    accepted = await other.ok("StartTransaction", start(1, "DRIVER", 10, T1))
    assert accepted["idTagInfo"]["status"] == "Accepted"


async def test_a_stop_transaction_delivered_after_the_close_replaces_its_values(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "DRIVER")
    client, ids = await charging(server, connect, "CP-1", {1: ("DRIVER", 1000)})
    tx = ids[1]
    assert (await api.post(f"/api/v1/transactions/{tx}/close", json={"reason": "gone"})).status_code == 200
    # The charge point comes back after all, with the StopTransaction it had queued.
    await client.ok("StopTransaction", {"transactionId": tx, "meterStop": 3100, "timestamp": T0_30, "reason": "PowerLoss"})
    stopped = await transaction(server, tx)
    assert (stopped.meter_stop, stopped.stopped_at, stopped.stop_reason, stopped.stop_note) == (3100, at(T0_30), "PowerLoss", None)
    detail = (await api.get(f"/api/v1/transactions/{tx}")).json()
    assert (detail["energy_wh"], detail["stop_note"]) == (2100, None)
    # Now the charge point's own stop is stored: neither a close nor a repeat of it changes it.
    assert (await api.post(f"/api/v1/transactions/{tx}/close", json={})).status_code == 409
    await client.ok("StopTransaction", {"transactionId": tx, "meterStop": 9999, "timestamp": T1})
    assert (await transaction(server, tx)).meter_stop == 3100


# -- a charge point that reboots reports which sessions it still holds --------------------------------


async def test_after_a_reboot_a_connector_reported_free_closes_its_open_session(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    for tag in "ABCDEFG":
        await add_tag(server, tag)
    client, ids = await charging(server, connect, "CP-1", {n: (tag, 1000 * n) for n, tag in enumerate("ABCDE", 1)})
    # Before any reboot, a connector's status closes nothing: the charge point kept its state.
    await client.ok("StatusNotification", status(5, "Available"))
    assert (await transaction(server, ids[5])).stopped_at is None

    bare = (await client.ok("StartTransaction", start(7, "G", 100, T0)))["transactionId"]  # no reading yet
    client.abort()  # the charge point loses power mid-session
    client = await connect("CP-1")
    booted_at = datetime.now(UTC)
    await client.boot()
    async with server.bus.subscribe() as events:
        await client.ok("StatusNotification", status(1, "Available", T1))
        stopped = await next_of(events, "transaction.stopped")
    closed = await transaction(server, ids[1])
    assert closed.stop_reason == "Other" and closed.stop_note == "closed after reboot: connector 1 reported Available"
    assert (closed.meter_stop, closed.stopped_at) == (2500, at(T0_10))  # its last register reading
    assert (stopped.type, stopped.data["transaction_id"], stopped.data["note"]) == ("transaction.stopped", ids[1], closed.stop_note)
    assert ("CP-1", 1) not in server.services.transactions.live

    # Still charging: the charge point holds it. And that status decided: a later one is the
    # ordinary course of the session, whose StopTransaction will come.
    await client.ok("StatusNotification", status(2, "Charging", T1))
    await client.ok("StatusNotification", status(2, "Finishing", T1))
    assert (await transaction(server, ids[2])).stopped_at is None
    # Faulted says neither: the next status decides.
    await client.ok("StatusNotification", status(3, "Faulted", T1))
    assert (await transaction(server, ids[3])).stopped_at is None
    await client.ok("StatusNotification", status(3, "Preparing", T1))
    assert (await transaction(server, ids[3])).stop_note == "closed after reboot: connector 3 reported Preparing"
    # A status queued from before the session began says nothing about it.
    await client.ok("StatusNotification", status(4, "Available", BEFORE))
    assert (await transaction(server, ids[4])).stopped_at is None
    # No timestamp: taken as it comes.
    await client.ok("StatusNotification", status(5, "Unavailable"))
    assert (await transaction(server, ids[5])).stop_note == "closed after reboot: connector 5 reported Unavailable"

    # Without a reading: what it started with, ended by the reboot at the latest.
    await client.ok("StatusNotification", status(7, "Available", T1))
    closed = await transaction(server, bare)
    assert closed.meter_stop == 100 and booted_at <= closed.stopped_at <= datetime.now(UTC)
    # A session started after the boot is not the reboot's business: its StopTransaction will come.
    later = (await client.ok("StartTransaction", start(6, "F", 0, T1)))["transactionId"]
    await client.ok("StatusNotification", status(6, "Finishing", T1))

    active = (await api.get("/api/v1/transactions", params={"active": "true"})).json()
    assert sorted(tx["id"] for tx in active["items"]) == [ids[2], ids[4], later]
    # The tag of a closed session is free: the same driver starts again at once.
    assert (await client.ok("StartTransaction", start(1, "A", 2600, T1)))["idTagInfo"]["status"] == "Accepted"


async def test_a_stop_transaction_after_the_reboot_close_replaces_its_values_and_one_before_is_kept(server, connect) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "A")
    await add_tag(server, "B")
    client, ids = await charging(server, connect, "CP-1", {1: ("A", 1000), 2: ("B", 1000)})
    client.abort()
    client = await connect("CP-1")
    await client.boot()
    # A 1.6 charge point may report the connector Available before its queued StopTransaction…
    await client.ok("StatusNotification", status(1, "Available", T1))
    assert (await transaction(server, ids[1])).stop_note is not None
    await client.ok("StopTransaction", {"transactionId": ids[1], "meterStop": 2800, "timestamp": T0_20, "reason": "PowerLoss"})
    stopped = await transaction(server, ids[1])
    assert (stopped.meter_stop, stopped.stopped_at, stopped.stop_reason, stopped.stop_note) == (2800, at(T0_20), "PowerLoss", None)
    # …or after it: then there is nothing left to close.
    await client.ok("StopTransaction", {"transactionId": ids[2], "meterStop": 2900, "timestamp": T0_20, "reason": "PowerLoss"})
    await client.ok("StatusNotification", status(2, "Available", T1))
    stopped = await transaction(server, ids[2])
    assert (stopped.meter_stop, stopped.stop_reason, stopped.stop_note) == (2900, "PowerLoss", None)


async def test_charge_points_booting_together_each_find_their_own_open_sessions(server, connect) -> None:  # type: ignore[no-untyped-def]
    # A fleet coming back after a power cut: their boots share look-ups, each gets its own answer.
    await add_tag(server, "FLEET")
    await server.store.write(lambda c: c.execute(
        sa.update(t.id_tags).where(t.id_tags.c.id_tag == "FLEET").values(max_active_transactions=0)
    ))
    names = [f"CP-{n}" for n in range(30)]
    sessions = {}
    for name in names:
        client, ids = await charging(server, connect, name, {1: ("FLEET", 100)})
        sessions[name] = ids[1]
        client.abort()
    clients = await asyncio.gather(*(connect(name) for name in names))
    await asyncio.gather(*(client.boot() for client in clients))
    # Half still charge, half come back free.
    await asyncio.gather(*(
        client.ok("StatusNotification", status(1, "Charging" if n % 2 else "Available", T1)) for n, client in enumerate(clients)
    ))
    for n, name in enumerate(names):
        row = await transaction(server, sessions[name])
        assert (row.stopped_at is None) == bool(n % 2), name
        if not n % 2:
            assert row.stop_note == "closed after reboot: connector 1 reported Available"
