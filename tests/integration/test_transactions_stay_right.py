"""Transactions, authorization, reservations and connector status stay right when charge points
lose power, repeat themselves, deliver late, or share a tag — over real WebSockets, on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.commands.support import answer_next, eventually, online
from tests.ocpp_client import OcppClient
from voltline.store import tables as t
from voltline.store.database import create_engine

T0 = "2026-11-01T10:00:00Z"
T0_15 = "2026-11-01T10:15:00Z"
T1 = "2026-11-01T11:00:00Z"
T2 = "2026-11-01T12:00:00Z"
FUTURE = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def add_tag(server: Any, id_tag: str, *, parent: str | None = None, limit: int | None = None) -> None:
    values: dict[str, Any] = {"id_tag": id_tag, "status": "Accepted", "parent_id_tag": parent}
    if limit is not None:
        values["max_active_transactions"] = limit
    await server.store.write(lambda c: c.execute(t.id_tags.insert().values(values)))


async def transaction(server: Any, transaction_id: int) -> Any:
    return await server.store.fetch_one(sa.select(t.transactions).where(t.transactions.c.id == transaction_id))


def start(connector: int, id_tag: str, meter: int, timestamp: str, **extra: Any) -> dict[str, Any]:
    return {"connectorId": connector, "idTag": id_tag, "meterStart": meter, "timestamp": timestamp, **extra}


def energy(timestamp: str, wh: float, unit: str = "Wh") -> dict[str, Any]:
    return {"timestamp": timestamp, "sampledValue": [
        {"value": str(wh), "unit": unit, "measurand": "Energy.Active.Import.Register"},
        {"value": "7400", "unit": "W", "measurand": "Power.Active.Import"},
    ]}


# -- a start on a connector whose last transaction never stopped ----------------------------------


async def test_a_start_on_a_connector_with_an_open_transaction_closes_that_one(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await add_tag(server, "DRIVER")
    client = await connect("CP-1")
    await client.boot()
    old = (await client.ok("StartTransaction", start(1, "DRIVER", 1000, T0)))["transactionId"]
    await client.ok("MeterValues", {"connectorId": 1, "transactionId": old, "meterValue": [energy(T0_15, 3.5, "kWh")]})
    # Power loss: the charge point comes back without ever sending the StopTransaction.
    client.abort()
    client = await connect("CP-1")
    await client.boot()
    async with server.bus.subscribe() as events:
        again = await client.ok("StartTransaction", start(1, "DRIVER", 3600, T1))
        stopped = await asyncio.wait_for(events.get(), 5)
    new = again["transactionId"]
    assert new != old
    assert again["idTagInfo"]["status"] == "Accepted"  # not ConcurrentTx with its own lost session

    closed = await transaction(server, old)
    assert closed.stopped_at == at(T1) and closed.meter_stop == 3500  # the last register reading
    assert closed.stop_reason == "Other" and f"transaction {new}" in closed.stop_note
    assert (stopped.type, stopped.data["transaction_id"], stopped.data["meter_stop"]) == ("transaction.stopped", old, 3500)
    active = (await api.get("/api/v1/transactions", params={"charge_point_id": "CP-1", "active": "true"})).json()
    assert [tx["id"] for tx in active["items"]] == [new]
    detail = (await api.get(f"/api/v1/transactions/{old}")).json()
    assert (detail["energy_wh"], detail["stop_reason"], detail["status"]) == (2500, "Other", "Stopped")
    assert detail["stop_note"] == closed.stop_note
    assert server.services.transactions.live[("CP-1", 1)].transaction_id == new
    # Another connector's session is none of its business.
    other = (await client.ok("StartTransaction", start(2, "OTHER", 0, T2)))["transactionId"]
    assert (await transaction(server, new)).stopped_at is None and (await transaction(server, other)).stopped_at is None


async def test_a_closed_transaction_without_meter_values_keeps_its_start_reading_and_takes_a_late_stop(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await add_tag(server, "DRIVER")
    client = await connect("CP-1")
    await client.boot()
    old = (await client.ok("StartTransaction", start(1, "DRIVER", 1000, T0)))["transactionId"]
    new = (await client.ok("StartTransaction", start(1, "DRIVER", 1200, T1)))["transactionId"]
    closed = await transaction(server, old)
    assert (closed.meter_stop, closed.stopped_at, closed.stop_reason) == (1000, at(T1), "Other")

    # Its StopTransaction does come after all: the charge point's own values replace ours.
    await client.ok("StopTransaction", {"transactionId": old, "meterStop": 1150, "timestamp": T0_15, "reason": "PowerLoss"})
    stopped = await transaction(server, old)
    assert (stopped.meter_stop, stopped.stopped_at, stopped.stop_reason, stopped.stop_note) == (1150, at(T0_15), "PowerLoss", None)
    # …and once stored, a repeat of it changes nothing.
    await client.ok("StopTransaction", {"transactionId": old, "meterStop": 9999, "timestamp": T1, "reason": "Local"})
    assert (await transaction(server, old)).meter_stop == 1150
    assert (await transaction(server, new)).stopped_at is None


async def test_a_late_start_older_than_the_open_transaction_leaves_it_open(server, connect, caplog) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    newer = (await client.ok("StartTransaction", start(1, "A", 500, T1)))["transactionId"]
    with caplog.at_level(logging.WARNING, logger="voltline.transactions"):
        older = (await client.ok("StartTransaction", start(1, "B", 100, T0)))["transactionId"]
    assert (await transaction(server, newer)).stopped_at is None
    assert (await transaction(server, older)).stopped_at is None
    assert any(f"open transactions [{newer}]" in record.getMessage() for record in caplog.records)


# -- authorization context and the per-tag limit -----------------------------------------------------


async def test_stop_transaction_never_answers_concurrent_tx(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await add_tag(server, "CARD")
    client = await connect("CP-1")
    await client.boot()
    first = (await client.ok("StartTransaction", start(1, "CARD", 0, T0)))["transactionId"]
    # The charge point lets it charge on a second connector all the same (its own decision).
    second = await client.ok("StartTransaction", start(2, "CARD", 0, T0))
    assert second["idTagInfo"]["status"] == "ConcurrentTx"
    stopped = await client.ok("StopTransaction", {"transactionId": first, "meterStop": 10, "timestamp": T1, "idTag": "CARD"})
    assert stopped["idTagInfo"]["status"] == "Accepted"
    assert (await client.ok("Authorize", {"idTag": "CARD"}))["idTagInfo"]["status"] == "Accepted"


async def test_a_tag_may_have_as_many_active_transactions_as_its_limit(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    created = await api.post("/api/v1/id-tags", json={"id_tag": "CARD"})
    assert created.status_code == 201 and created.json()["max_active_transactions"] == 1  # SteVe's default
    fleet = await api.post("/api/v1/id-tags", json={"id_tag": "FLEET", "max_active_transactions": 2})
    assert fleet.json()["max_active_transactions"] == 2
    assert (await api.get("/api/v1/id-tags/FLEET")).json()["max_active_transactions"] == 2
    assert (await api.post("/api/v1/id-tags", json={"id_tag": "BAD", "max_active_transactions": -1})).status_code == 400

    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    statuses = []
    for connector in (1, 2, 3):
        answer = await client.ok("StartTransaction", start(connector, "FLEET", 0, T0))
        statuses.append(answer["idTagInfo"]["status"])
    assert statuses == ["Accepted", "Accepted", "ConcurrentTx"]
    card = [(await client.ok("StartTransaction", start(c, "CARD", 0, T1)))["idTagInfo"]["status"] for c in (4, 5)]
    assert card == ["Accepted", "ConcurrentTx"]

    # 0: no limit (a fleet card in many cars); null in a change leaves the limit as it is.
    patched = await api.patch("/api/v1/id-tags/FLEET", json={"max_active_transactions": 0})
    assert patched.status_code == 200 and patched.json()["max_active_transactions"] == 0
    assert (await api.patch("/api/v1/id-tags/FLEET", json={"max_active_transactions": None, "description": "vans"})).json()[
        "max_active_transactions"] == 0
    assert (await client.ok("StartTransaction", start(6, "FLEET", 0, T2)))["idTagInfo"]["status"] == "Accepted"
    listed = (await api.get("/api/v1/id-tags")).json()["items"]
    assert {tag["id_tag"]: tag["max_active_transactions"] for tag in listed} == {"CARD": 1, "FLEET": 0}


# -- ids never handed out twice ----------------------------------------------------------------------


async def test_transaction_and_reservation_ids_of_a_deleted_charge_point_are_not_reused(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    keep = await online(api, connect, "CP-KEEP")
    gone = await online(api, connect, "CP-GONE")
    first = (await keep.ok("StartTransaction", start(1, "A", 0, T0)))["transactionId"]
    deleted_tx = (await gone.ok("StartTransaction", start(1, "B", 0, T0)))["transactionId"]
    request = asyncio.create_task(api.post("/api/v1/reservations", json={
        "charge_point_id": "CP-GONE", "connector_id": 1, "id_tag": "B", "expiry_date": FUTURE}))
    await answer_next(gone, {"status": "Accepted"}, "ReserveNow")
    deleted_reservation = (await request).json()["reservation"]["id"]
    await gone.close()
    assert (await api.delete("/api/v1/charge-points/CP-GONE")).status_code == 204

    later = (await keep.ok("StartTransaction", start(1, "C", 0, T1)))["transactionId"]
    assert later > deleted_tx > first
    request = asyncio.create_task(api.post("/api/v1/reservations", json={
        "charge_point_id": "CP-KEEP", "connector_id": 2, "id_tag": "C", "expiry_date": FUTURE}))
    await answer_next(keep, {"status": "Accepted"}, "ReserveNow")
    assert (await request).json()["reservation"]["id"] > deleted_reservation


async def test_a_reservation_id_an_operator_chose_is_skipped_by_the_next_one(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-1")
    ids = []
    for chosen in (None, 2, None, None):
        if chosen is None:
            request = asyncio.create_task(api.post("/api/v1/reservations", json={
                "charge_point_id": "CP-1", "connector_id": 1, "id_tag": "A", "expiry_date": FUTURE}))
            await answer_next(cp, {"status": "Accepted"}, "ReserveNow")
            ids.append((await request).json()["reservation"]["id"])
        else:
            request = asyncio.create_task(api.post("/api/v1/charge-points/CP-1/commands/ReserveNow", json={
                "connectorId": 1, "expiryDate": FUTURE, "idTag": "A", "reservationId": chosen}))
            await answer_next(cp, {"status": "Accepted"}, "ReserveNow")
            assert (await request).status_code == 200
            ids.append(chosen)
    assert ids[:2] == [1, 2] and len(set(ids)) == 4 and ids[2] > 2 and ids[3] > ids[2]


# -- reservations checked on use -----------------------------------------------------------------------


async def test_a_start_uses_only_a_reservation_that_fits_it(server, connect, caplog) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await server.services.charge_points.register("CP-2")
    await add_tag(server, "A", parent="FAMILY")
    await add_tag(server, "B")
    await add_tag(server, "KID", parent="FAMILY")
    expiry = datetime.now(UTC) + timedelta(hours=2)
    reservations = {
        # name: (id, charge point, connector, id tag, parent, expiry, status)
        "fits": (11, "CP-1", 1, "A", None, expiry, "Reserved"),
        "any connector, parent": (12, "CP-1", 0, "SOMEONE", "FAMILY", expiry, "Reserved"),
        "other tag": (13, "CP-1", 3, "B", None, expiry, "Reserved"),
        "other connector": (14, "CP-1", 9, "A", None, expiry, "Reserved"),
        "cancelled": (15, "CP-1", 5, "A", None, expiry, "Cancelled"),
        "expired before the start": (16, "CP-1", 6, "A", None, at(T0), "Reserved"),
        "another charge point's": (17, "CP-2", 7, "A", None, expiry, "Reserved"),
        "used already": (18, "CP-1", 8, "A", None, expiry, "Used"),
    }
    columns = ("id", "charge_point_id", "connector_id", "id_tag", "parent_id_tag", "expiry_date", "status")
    await server.store.write(lambda c: c.execute(t.reservations.insert(), [dict(zip(columns, r)) for r in reservations.values()]))
    client = await connect("CP-1")
    await client.boot()
    tried = {
        "fits": (1, "A"), "any connector, parent": (2, "KID"), "other tag": (3, "A"), "other connector": (4, "A"),
        "cancelled": (5, "A"), "expired before the start": (6, "A"), "another charge point's": (7, "A"),
        "used already": (8, "A"),
    }
    started = {}
    with caplog.at_level(logging.WARNING, logger="voltline.transactions"):
        for name, (connector, tag) in tried.items():
            answer = await client.ok("StartTransaction", start(connector, tag, 0, T1, reservationId=reservations[name][0]))
            # The transaction starts on the tag's own authorization, whatever the reservation.
            assert answer["idTagInfo"]["status"] in ("Accepted", "ConcurrentTx"), name
            started[name] = answer["transactionId"]

    rows = {row.id: row for row in await server.store.fetch_all(sa.select(t.reservations))}
    for name, reservation in reservations.items():
        row = rows[reservation[0]]
        if name in ("fits", "any connector, parent"):
            assert (row.status, row.transaction_id) == ("Used", started[name]), name
            assert (await transaction(server, started[name])).reservation_id == reservation[0]
        else:
            assert (row.status, row.transaction_id) == (reservation[6], None), name
            assert (await transaction(server, started[name])).reservation_id is None, name
    refused = [record.getMessage() for record in caplog.records if "reservation" in record.getMessage()]
    assert len(refused) == 6 and all("left as it was" in message for message in refused)


async def test_a_reservation_the_sweep_expired_still_counts_for_a_start_before_its_expiry(server, connect) -> None:  # type: ignore[no-untyped-def]
    # A charge point that was offline reports the start late, after the sweep ran.
    await server.services.charge_points.register("CP-1")
    await server.store.write(lambda c: c.execute(t.reservations.insert().values(
        id=21, charge_point_id="CP-1", connector_id=1, id_tag="A", expiry_date=at(T0_15), status="Expired")))
    client = await connect("CP-1")
    await client.boot()
    tx = (await client.ok("StartTransaction", start(1, "A", 0, T0, reservationId=21)))["transactionId"]
    row = await server.store.fetch_one(sa.select(t.reservations).where(t.reservations.c.id == 21))
    assert (row.status, row.transaction_id) == ("Used", tx)


# -- connector status in the charge point's order ------------------------------------------------------


async def test_a_late_status_notification_does_not_overwrite_a_newer_one(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()

    async def status(state: str, timestamp: str | None) -> str:
        payload = {"connectorId": 1, "errorCode": "NoError", "status": state}
        if timestamp is not None:
            payload["timestamp"] = timestamp
        assert await client.ok("StatusNotification", payload) == {}  # answered, applied or not
        connectors = (await api.get("/api/v1/charge-points/CP-1")).json()["connectors"]
        return next(c["status"] for c in connectors if c["connector_id"] == 1)

    assert await status("Charging", T1) == "Charging"
    assert await status("Preparing", T0) == "Charging"  # queued while offline, older: changes nothing
    assert await status("Finishing", T1) == "Finishing"  # the same instant: the later word counts
    assert await status("Available", T2) == "Available"
    assert await status("Unavailable", None) == "Unavailable"  # no timestamp: taken as it comes

    async def logged() -> bool:  # the log is written in the background
        params = {"charge_point_id": "CP-1", "action": "StatusNotification", "direction": "in"}
        return (await api.get("/api/v1/messages", params=params)).json()["total"] == 5

    assert await eventually(logged)  # the ignored one is in the message log all the same


# -- a StartTransaction's idempotency kept by the database ---------------------------------------------


async def test_the_database_refuses_a_second_row_for_one_start(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    first = (await client.ok("StartTransaction", start(1, "A", 500, T0)))["transactionId"]
    row = dict((await transaction(server, first))._mapping)
    del row["id"]
    with pytest.raises(sa.exc.IntegrityError):
        await server.store.write(lambda c: c.execute(t.transactions.insert().values(row)))
    # The charge point repeating itself still gets its transaction.
    assert (await client.ok("StartTransaction", start(1, "A", 500, T0)))["transactionId"] == first


async def test_two_nodes_storing_one_start_at_once_give_it_one_id(database_url, start_server) -> None:  # type: ignore[no-untyped-def]
    """Two nodes (each with its own connection of the charge point, as after a reconnect to
    another node) receive the same StartTransaction together: both look for it, find none, and
    then the database's key decides."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has a single writer: two nodes' look-and-insert never interleave there")
    first = await start_server()
    await first.services.charge_points.register("CP-1")
    second = await start_server()
    clients = [
        await OcppClient.connect(f"ws://127.0.0.1:{node.ocpp_port}/ocpp/CP-1") for node in (first, second)
    ]
    engine = create_engine(database_url)
    try:
        for client in clients:
            await client.boot()
        async with engine.connect() as holder:
            await holder.begin()
            # Reads go on; the inserts of both nodes wait until the lock goes.
            await holder.execute(sa.text("LOCK TABLE transactions IN SHARE ROW EXCLUSIVE MODE"))
            answers = [asyncio.create_task(c.ok("StartTransaction", start(1, "A", 500, T0))) for c in clients]
            waiting = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'transactions'::regclass")
            for _ in range(500):
                if (await holder.execute(waiting)).scalar() == 2:
                    break
                await asyncio.sleep(0.02)
            assert (await holder.execute(waiting)).scalar() == 2
            await holder.rollback()
        ids = {(await answer)["transactionId"] for answer in answers}
        assert len(ids) == 1
        count = await first.store.fetch_one(sa.select(sa.func.count()).select_from(t.transactions))
        assert count[0] == 1
    finally:
        for client in clients:
            await client.close()
        await engine.dispose()


# -- a charging profile sent with a remote start -------------------------------------------------------


async def test_a_remote_start_with_a_charging_profile_records_it_for_its_transaction(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-1", connectors=2)
    await api.post("/api/v1/id-tags", json={"id_tag": "APP"})
    profile = {
        "charging_profile_id": 77, "stack_level": 1, "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": {"charging_rate_unit": "W", "charging_schedule_period": [{"start_period": 0, "limit": 7400}]},
    }
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-1/remote-start", json={
        "id_tag": "APP", "connector_id": 2, "charging_profile": profile}))
    call = await answer_next(cp, {"status": "Accepted"}, "RemoteStartTransaction")
    assert call[3]["chargingProfile"]["chargingProfileId"] == 77
    assert (await request).json()["status"] == "Accepted"
    installed = (await api.get("/api/v1/charging-profiles", params={"charge_point_id": "CP-1"})).json()["items"]
    assert [(p["charging_profile_id"], p["purpose"], p["connector_id"], p["status"]) for p in installed] == [
        (77, "TxProfile", 2, "Active")]

    tx = (await cp.ok("StartTransaction", start(2, "APP", 0, T0)))["transactionId"]
    linked = (await api.get(f"/api/v1/charging-profiles/{installed[0]['id']}")).json()
    assert linked["transaction_id"] == tx

    # Refused: nothing is installed.
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-1/remote-start", json={
        "id_tag": "APP", "connector_id": 1, "charging_profile": {**profile, "charging_profile_id": 78}, "check_tag": False}))
    await answer_next(cp, {"status": "Rejected"}, "RemoteStartTransaction")
    assert (await request).json()["status"] == "Rejected"
    assert (await api.get("/api/v1/charging-profiles", params={"charge_point_id": "CP-1"})).json()["total"] == 1


async def test_a_remote_start_answered_after_its_start_transaction_links_the_profile_at_once(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    # The charge point may start before its Accepted is read.
    cp = await online(api, connect, "CP-1")
    await api.post("/api/v1/id-tags", json={"id_tag": "APP"})
    profile = {
        "charging_profile_id": 5, "stack_level": 0, "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": 16}]},
    }
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-1/remote-start", json={
        "id_tag": "APP", "charging_profile": profile}))
    call = await cp.next_server_call()
    tx = (await cp.ok("StartTransaction", start(1, "APP", 0, T0)))["transactionId"]
    await cp.answer(call, {"status": "Accepted"})
    assert (await request).json()["status"] == "Accepted"
    installed = (await api.get("/api/v1/charging-profiles", params={"charge_point_id": "CP-1"})).json()["items"]
    assert [(p["charging_profile_id"], p["connector_id"], p["transaction_id"]) for p in installed] == [(5, 1, tx)]
