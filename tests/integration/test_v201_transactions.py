"""OCPP 2.0.1 transactions over real WebSockets, with the `ocpp` package's v201.ChargePoint as an
independent client: TransactionEvent in every order a station delivers it, MeterValues, and
GetTransactionStatus through the API — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from tests.ocpp_client import OcppClient
from voltline.store import tables as t

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SIGNED = {
    "signedMeterData": "T0NNRnx7IkZWIjoiMS4wIn18eyJTRCI6Ik1FVUNJUUMifQ==",
    "signingMethod": "ECDSA-secp256r1-SHA256",
    "encodingMethod": "OCMF",
    "publicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
}


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def register(wh: float, minutes: float, *, context: str = "Sample.Periodic", **extra: Any) -> dict[str, Any]:
    """A meterValue entry with one Energy.Active.Import.Register reading (snake_case: the client
    turns it into 2.0.1's camelCase)."""
    sampled = {"value": wh, "context": context, "measurand": "Energy.Active.Import.Register", **extra}
    return {"timestamp": at(minutes), "sampled_value": [sampled]}


class Station(ChargePoint):  # type: ignore[misc]
    """A 2.0.1 station that answers GetTransactionStatus as a test sets it."""

    ongoing: bool | None = True
    queued = False
    asked: list[str | None]

    @on("GetTransactionStatus")
    async def on_get_transaction_status(self, transaction_id: str | None = None, **_: Any) -> Any:
        self.asked.append(transaction_id)
        return call_result.GetTransactionStatus(messages_in_queue=self.queued, ongoing_indicator=self.ongoing)

    async def event(
        self, event_type: str, seq_no: int, transaction_id: str, *, minutes: float = 0, trigger: str = "Authorized",
        evse: int | None = 1, meter: list[dict[str, Any]] | None = None, token: str | None = None,
        token_type: str = "ISO14443", info: dict[str, Any] | None = None, **extra: Any,
    ) -> Any:
        return await self.call(call.TransactionEvent(
            event_type=event_type, timestamp=at(minutes), trigger_reason=trigger, seq_no=seq_no,
            transaction_info={"transaction_id": transaction_id, **(info or {})},
            evse={"id": evse, "connector_id": 1} if evse is not None else None,
            meter_value=meter,
            id_token={"id_token": token, "type": token_type} if token is not None else None,
            **extra,
        ))


Connect = Callable[..., Awaitable[Station]]


@pytest.fixture
async def station(server: Any) -> AsyncIterator[Connect]:
    """`await station("CS-1")`: a registered 2.0.1 station connected to `server`."""
    opened: list[tuple[Any, asyncio.Task[None]]] = []

    async def connect(identity: str, *, registered: bool = False) -> Station:
        if not registered:
            await server.services.charge_points.register(identity)
        ws = await websockets.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", subprotocols=["ocpp2.0.1"])
        assert ws.subprotocol == "ocpp2.0.1"
        cs = Station(identity, ws)
        cs.asked = []
        opened.append((ws, asyncio.create_task(cs.start())))
        return cs

    yield connect
    for ws, task in opened:
        task.cancel()
        await ws.close()


async def add_tag(server: Any, id_tag: str, **values: Any) -> None:
    await server.store.write(lambda c: c.execute(t.id_tags.insert().values(id_tag=id_tag, status="Accepted", **values)))


async def by_wire_id(api: Any, wire_id: str) -> dict[str, Any]:
    found = (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": wire_id})).json()["items"]
    assert len(found) == 1, found
    detail = await api.get(f"/api/v1/transactions/{found[0]['id']}")
    assert detail.status_code == 200
    return detail.json()  # type: ignore[no-any-return]


async def events_of(server: Any, wire_id: str) -> list[Any]:
    ev = t.transaction_events.c
    return await server.store.fetch_all(
        sa.select(ev.seq_no, ev.event_type, ev.offline).where(ev.ocpp_transaction_id == wire_id).order_by(ev.seq_no)
    )


async def test_a_session_started_updated_ended_has_the_energy_of_its_first_and_last_register(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1", token_type="ISO14443")
    cs = await station("CS-1")
    started = await cs.event("Started", 0, "tx-a", token="TAG-1", meter=[register(1000, 0, context="Transaction.Begin")])
    assert started.id_token_info["status"] == "Accepted"
    await cs.event("Updated", 1, "tx-a", minutes=10, trigger="MeterValuePeriodic", meter=[register(4000, 10)])
    # The Ended's own register is the last; triggerReason says why the event was sent, never the stop reason.
    ended = await cs.event(
        "Ended", 2, "tx-a", minutes=20, trigger="EVCommunicationLost", info={"stopped_reason": "EVDisconnected"},
        meter=[register(6500, 20, context="Transaction.End")],
    )
    assert ended.id_token_info is None

    tx = await by_wire_id(api, "tx-a")
    assert tx["charge_point_id"] == "CS-1" and tx["evse_id"] == 1 and tx["connector_id"] == 1
    assert tx["id_tag"] == "TAG-1" and tx["id_token_type"] == "ISO14443" and tx["id_tag_status"] == "Accepted"
    assert (tx["meter_start"], tx["meter_stop"], tx["energy_wh"]) == (1000, 6500, 5500)
    assert tx["started_at"] == "2026-11-01T10:00:00Z" and tx["stopped_at"] == "2026-11-01T10:20:00Z"
    assert tx["stop_reason"] == "EVDisconnected" and tx["status"] == "Stopped"
    assert [s["value"] for s in tx["meter_values"]] == [1000, 4000, 6500]
    assert tx["missing_seq_nos"] == []
    assert isinstance(tx["id"], int) and tx["ocpp_transaction_id"] == "tx-a"


async def test_an_ended_without_stopped_reason_is_local_and_an_unknown_token_is_unknown(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    started = await cs.event("Started", 0, "tx-b", token="NOBODY", meter=[register(0, 0)])
    assert started.id_token_info["status"] == "Unknown"
    await cs.event("Ended", 1, "tx-b", minutes=5, trigger="StopAuthorized", meter=[register(300, 5)])
    tx = await by_wire_id(api, "tx-b")
    assert tx["stop_reason"] == "Local" and tx["energy_wh"] == 300


async def test_a_repeated_event_changes_nothing_and_is_answered_the_same(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1")
    cs = await station("CS-1")
    first = await cs.event("Started", 0, "tx-r", token="TAG-1", meter=[register(100, 0)])
    again = await cs.event("Started", 0, "tx-r", token="TAG-1", meter=[register(100, 0)])
    assert first.id_token_info == again.id_token_info and again.id_token_info["status"] == "Accepted"
    await cs.event("Updated", 1, "tx-r", minutes=1, trigger="MeterValuePeriodic", meter=[register(900, 1)])
    await cs.event("Updated", 1, "tx-r", minutes=1, trigger="MeterValuePeriodic", meter=[register(900, 1)])
    tx = await by_wire_id(api, "tx-r")
    assert [s["value"] for s in tx["meter_values"]] == [100, 900]
    assert [(e.seq_no, e.event_type) for e in await events_of(server, "tx-r")] == [(0, "Started"), (1, "Updated")]
    assert len(await server.store.fetch_all(sa.select(t.transactions.c.id))) == 1


async def test_gaps_in_seq_no_are_recorded_until_the_missing_events_come(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-g", trigger="CablePluggedIn")
    await cs.event("Updated", 3, "tx-g", minutes=3, trigger="MeterValuePeriodic", meter=[register(30, 3)])
    assert (await by_wire_id(api, "tx-g"))["missing_seq_nos"] == [1, 2]
    await cs.event("Updated", 2, "tx-g", minutes=2, trigger="MeterValuePeriodic", offline=True)
    assert (await by_wire_id(api, "tx-g"))["missing_seq_nos"] == [1]


async def test_offline_events_hours_late_and_out_of_order_land_on_their_transaction_and_never_reopen_it(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1")
    cs = await station("CS-1")
    # The station was offline the whole session: its Ended comes first, the rest after, shuffled.
    await cs.event(
        "Ended", 3, "tx-o", minutes=180, trigger="EVDeparted", offline=True, info={"stopped_reason": "EVDisconnected"},
        meter=[register(9000, 180, context="Transaction.End")],
    )
    tx = await by_wire_id(api, "tx-o")
    assert tx["status"] == "Stopped" and tx["stopped_at"] == "2026-11-01T13:00:00Z"
    await cs.event("Updated", 2, "tx-o", minutes=120, trigger="MeterValuePeriodic", offline=True,
                   meter=[register(7000, 120)])
    await cs.event("Started", 0, "tx-o", trigger="Authorized", token="TAG-1", offline=True,
                   meter=[register(2000, 0, context="Transaction.Begin")])
    await cs.event("Updated", 1, "tx-o", minutes=60, trigger="MeterValuePeriodic", offline=True,
                   meter=[register(4000, 60)])
    # A reading taken after the Ended (a late Updated) is stored, but the stop stays the Ended's.
    await cs.event("Updated", 4, "tx-o", minutes=200, trigger="MeterValuePeriodic", offline=True,
                   meter=[register(9500, 200)])

    tx = await by_wire_id(api, "tx-o")
    assert tx["status"] == "Stopped" and tx["stop_reason"] == "EVDisconnected"
    assert tx["started_at"] == "2026-11-01T10:00:00Z" and tx["stopped_at"] == "2026-11-01T13:00:00Z"
    assert (tx["meter_start"], tx["meter_stop"], tx["energy_wh"]) == (2000, 9000, 7000)
    assert tx["id_tag"] == "TAG-1" and tx["missing_seq_nos"] == []
    assert [s["timestamp"] for s in tx["meter_values"]] == [at(0), at(60), at(120), at(180), at(200)]
    assert len(await server.store.fetch_all(sa.select(t.transactions.c.id))) == 1
    assert all(e.offline for e in await events_of(server, "tx-o"))
    assert ("CS-1", 1) not in server.services.transactions.live


async def test_the_id_token_may_come_in_a_later_updated_event(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "APP-7", token_type="Central")
    cs = await station("CS-1")
    started = await cs.event("Started", 0, "tx-t", trigger="EVDetected", meter=[register(500, 0)])
    assert started.id_token_info is None
    tx = await by_wire_id(api, "tx-t")
    assert tx["id_tag"] == "" and tx["id_token_type"] is None and tx["status"] == "Active"
    updated = await cs.event("Updated", 1, "tx-t", minutes=1, trigger="Authorized", token="APP-7", token_type="Central")
    assert updated.id_token_info["status"] == "Accepted"
    tx = await by_wire_id(api, "tx-t")
    assert tx["id_tag"] == "APP-7" and tx["id_token_type"] == "Central" and tx["id_tag_status"] == "Accepted"
    assert server.services.transactions.live[("CS-1", 1)].transaction_id == tx["id"]


async def test_a_seq_no_that_restarts_at_0_for_a_new_transaction_is_a_new_transaction(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-1", meter=[register(0, 0)])
    await cs.event("Ended", 1, "tx-1", minutes=5, meter=[register(100, 5)])
    await cs.event("Started", 0, "tx-2", minutes=10, meter=[register(100, 10)])
    await cs.event("Ended", 1, "tx-2", minutes=15, meter=[register(400, 15)])
    first, second = await by_wire_id(api, "tx-1"), await by_wire_id(api, "tx-2")
    assert first["id"] != second["id"]
    assert (first["energy_wh"], second["energy_wh"]) == (100, 300)


async def test_signed_meter_values_are_kept_verbatim_and_units_multiplied_out(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    signed = {"signed_meter_data": SIGNED["signedMeterData"], "signing_method": SIGNED["signingMethod"],
              "encoding_method": SIGNED["encodingMethod"], "public_key": SIGNED["publicKey"]}
    await cs.event("Started", 0, "tx-s", meter=[register(1.5, 0, unit_of_measure={"unit": "kWh"}, signed_meter_value=signed)])
    # 2.0.1 MeterValues: the EVSE's readings outside a transaction, value × 10^multiplier.
    await cs.call(call.MeterValues(evse_id=1, meter_value=[{
        "timestamp": at(1), "sampled_value": [{"value": 7.2, "measurand": "Power.Active.Import",
                                               "unit_of_measure": {"unit": "W", "multiplier": 3}}],
    }]))
    tx = await by_wire_id(api, "tx-s")
    [sample] = tx["meter_values"]
    assert sample["value"] == 1500 and sample["unit"] == "Wh" and tx["meter_start"] == 1500
    assert sample["signed_meter_value"] == signed
    readings = (await api.get("/api/v1/meter-values", params={"charge_point_id": "CS-1", "measurand": "Power.Active.Import"})).json()["items"]
    assert [(r["value"], r["unit"], r["transaction_id"], r["connector_id"]) for r in readings] == [(7200, "W", None, 1)]


async def test_a_remote_start_is_linked_to_the_transaction_that_names_its_id(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1")
    cs = await station("CS-1")
    rs = t.remote_starts.c

    async def remote_start() -> int:
        return await server.store.write(lambda c: c.scalar(
            t.remote_starts.insert().values(charge_point_id="CS-1", connector_id=1, id_tag="TAG-1", status="Requested",
                                            requested_at=datetime.now(UTC)).returning(rs.id)))

    earlier, wanted = await remote_start(), await remote_start()
    # The link is by remoteStartId, not "the oldest open remote start of this tag" as 1.6 must guess.
    await cs.event("Started", 0, "tx-rs", trigger="RemoteStart", token="TAG-1", info={"remote_start_id": wanted})
    tx = await by_wire_id(api, "tx-rs")
    assert tx["remote_start_id"] == wanted
    rows = {r.id: r for r in await server.store.fetch_all(sa.select(rs.id, rs.status, rs.transaction_id))}
    assert (rows[wanted].status, rows[wanted].transaction_id) == ("Started", tx["id"])
    assert (rows[earlier].status, rows[earlier].transaction_id) == ("Requested", None)


async def test_a_tag_in_as_many_transactions_as_it_may_have_gets_concurrent_tx(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1", max_active_transactions=1)
    cs = await station("CS-1")
    assert (await cs.event("Started", 0, "tx-c1", token="TAG-1")).id_token_info["status"] == "Accepted"
    second = await cs.event("Started", 0, "tx-c2", evse=2, token="TAG-1")
    assert second.id_token_info["status"] == "ConcurrentTx"


async def test_a_reservation_named_by_the_event_is_used_by_the_transaction(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1")
    cs = await station("CS-1")
    rv = t.reservations.c
    reservation = await server.store.write(lambda c: c.scalar(
        t.reservations.insert().values(charge_point_id="CS-1", connector_id=1, id_tag="TAG-1", status="Reserved",
                                       expiry_date=T0 + timedelta(hours=1)).returning(rv.id)))
    await cs.event("Started", 0, "tx-res", token="TAG-1", reservation_id=reservation)
    tx = await by_wire_id(api, "tx-res")
    row = await server.store.fetch_one(sa.select(rv.status, rv.transaction_id).where(rv.id == reservation))
    assert tx["reservation_id"] == reservation and (row.status, row.transaction_id) == ("Used", tx["id"])


async def test_a_16_and_a_201_charge_point_charge_at_the_same_time(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1", max_active_transactions=0)
    await server.services.charge_points.register("CP-16")
    old = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-16")
    try:
        await old.boot()
        cs = await station("CS-201")
        started16, started201 = await asyncio.gather(
            old.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG-1", "meterStart": 100, "timestamp": at(0)}),
            cs.event("Started", 0, "tx-mixed", token="TAG-1", meter=[register(5000, 0)]),
        )
        assert started16["idTagInfo"]["status"] == "Accepted" and started201.id_token_info["status"] == "Accepted"
        await asyncio.gather(
            old.ok("MeterValues", {"connectorId": 1, "transactionId": started16["transactionId"], "meterValue": [
                {"timestamp": at(5), "sampledValue": [{"value": "600"}]}]}),
            cs.event("Updated", 1, "tx-mixed", minutes=5, trigger="MeterValuePeriodic", meter=[register(5800, 5)]),
        )
        live = server.services.transactions.live
        assert live[("CP-16", 1)].energy_wh == 600 and live[("CS-201", 1)].energy_wh == 5800
        active = (await api.get("/api/v1/transactions", params={"active": "true"})).json()["items"]
        by_cp = {tx["charge_point_id"]: tx for tx in active}
        assert set(by_cp) == {"CP-16", "CS-201"}
        assert by_cp["CP-16"]["ocpp_transaction_id"] == str(started16["transactionId"]) and by_cp["CP-16"]["evse_id"] is None
        assert by_cp["CS-201"]["ocpp_transaction_id"] == "tx-mixed" and by_cp["CS-201"]["evse_id"] == 1
        assert (by_cp["CP-16"]["energy_wh"], by_cp["CS-201"]["energy_wh"]) == (500, 800)
        await asyncio.gather(
            old.ok("StopTransaction", {"transactionId": started16["transactionId"], "meterStop": 900, "timestamp": at(9)}),
            cs.event("Ended", 2, "tx-mixed", minutes=9, meter=[register(6000, 9)]),
        )
        stopped = (await api.get("/api/v1/transactions", params={"active": "false"})).json()["items"]
        assert sorted((tx["charge_point_id"], tx["energy_wh"], tx["stop_reason"]) for tx in stopped) == [
            ("CP-16", 800, "Local"), ("CS-201", 1000, "Local")]
    finally:
        await old.close()


async def test_get_transaction_status_through_the_api_honours_messages_in_queue(server, station, api) -> None:  # type: ignore[no-untyped-def]
    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-q", meter=[register(0, 0)])
    tx = await by_wire_id(api, "tx-q")

    # The station has finished the session but its Ended is still in its queue: not closed.
    cs.ongoing, cs.queued = False, True
    status = (await api.get(f"/api/v1/transactions/{tx['id']}/status")).json()
    assert status == {"transaction_id": tx["id"], "ocpp_transaction_id": "tx-q", "charge_point_id": "CS-1",
                      "ongoing_indicator": False, "messages_in_queue": True, "stopped": False, "closed": False}
    assert cs.asked == ["tx-q"]

    await cs.event("Ended", 1, "tx-q", minutes=5, offline=True, meter=[register(50, 5)])
    cs.queued = False
    status = (await api.get(f"/api/v1/transactions/{tx['id']}/status")).json()
    assert (status["stopped"], status["closed"]) == (True, True)

    assert (await api.get("/api/v1/transactions/999999/status")).status_code == 404


async def test_get_transaction_status_of_a_16_transaction_or_an_offline_station_is_refused(server, station, api, connect) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1")
    await server.services.charge_points.register("CP-16")
    old = await connect("CP-16")
    await old.boot()
    started = await old.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": at(0)})
    answer = await api.get(f"/api/v1/transactions/{started['transactionId']}/status")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "not_supported_by_version"

    cs = await station("CS-1")
    await cs.event("Started", 0, "tx-off")
    tx = await by_wire_id(api, "tx-off")
    await cs._connection.close()
    await _until(lambda: not server.gateway.is_connected("CS-1"))
    assert (await api.get(f"/api/v1/transactions/{tx['id']}/status")).status_code == 409


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_a_201_session_reaches_the_live_feed_and_the_report_rollups_as_a_16_one_does(server, station, api) -> None:  # type: ignore[no-untyped-def]
    await add_tag(server, "TAG-1")
    cs = await station("CS-1")
    async with server.bus.subscribe() as events:
        await cs.event("Started", 0, "tx-feed", token="TAG-1", meter=[register(1000, 0)])
        await cs.event("Updated", 1, "tx-feed", minutes=30, trigger="MeterValuePeriodic", meter=[register(4000, 30)])
        await cs.event("Ended", 2, "tx-feed", minutes=60, meter=[register(6500, 60)])
        seen = []
        while not seen or seen[-1].type != "transaction.stopped":
            seen.append(await asyncio.wait_for(events.get(), 5))
    kinds = [(e.type, e.data.get("ocpp_transaction_id")) for e in seen if e.type.startswith("transaction.")]
    assert kinds == [("transaction.started", "tx-feed"), ("transaction.stopped", "tx-feed")]
    assert [e.data["energy_wh"] for e in seen if e.type == "meter_values"][-1] == 6500
    assert seen[-1].data["meter_stop"] == 6500 and seen[-1].data["reason"] == "Local"

    await server.services.rollups.flush()
    s = t.report_sessions.c
    rows = await server.store.fetch_all(sa.select(s.charge_point_id, s.connector_id, s.id_tag, s.sessions, s.energy_wh))
    assert [tuple(r) for r in rows] == [("CS-1", 1, "TAG-1", 1, 5500.0)]
    e = t.report_energy.c
    assert sum(r.energy_wh for r in await server.store.fetch_all(sa.select(e.energy_wh))) == 5500.0


async def test_an_event_token_is_its_value_with_its_type_and_no_authorization_is_accepted(server, station, api) -> None:  # type: ignore[no-untyped-def]
    """The TransactionEvent's idToken is judged as Authorize judges it: a registered value of
    another type is Unknown; NoAuthorization (a session on free charging, OCPP 2.0.1 C02.FR.02)
    is Accepted without a lookup and the transaction keeps the type."""
    await add_tag(server, "CARD-9", token_type="ISO14443")
    cs = await station("CS-1")
    wrong = await cs.event("Started", 0, "tx-type", token="CARD-9", token_type="KeyCode", meter=[register(0, 0)])
    assert wrong.id_token_info == {"status": "Unknown"}
    right = await cs.event("Started", 0, "tx-right", evse=2, token="CARD-9", meter=[register(0, 0)])
    assert right.id_token_info["status"] == "Accepted"

    free = await cs.event("Started", 0, "tx-free", evse=3, trigger="CablePluggedIn", token="",
                          token_type="NoAuthorization", meter=[register(0, 0)])
    assert free.id_token_info == {"status": "Accepted"}
    tx = await by_wire_id(api, "tx-free")
    assert (tx["id_tag"], tx["id_token_type"], tx["id_tag_status"]) == ("", "NoAuthorization", "Accepted")


async def _status(cs: Station, evse: int, state: str, minutes: float = 60) -> None:
    await cs.call(call.StatusNotification(timestamp=at(minutes), connector_status=state, evse_id=evse, connector_id=1))


async def test_after_a_reboot_a_connector_reported_available_closes_the_session_its_station_did_not_carry_on(server, station, api) -> None:  # type: ignore[no-untyped-def]
    # The rule of voltline/services/transactions/reconciliation.py, per EVSE and connector.
    cs = await station("CS-1")
    for evse, wire_id in ((1, "tx-a"), (2, "tx-b"), (3, "tx-c"), (4, "tx-d")):
        await cs.event("Started", 0, wire_id, evse=evse, meter=[register(1000, 0, context="Transaction.Begin")])
        await cs.event("Updated", 1, wire_id, evse=evse, minutes=10, trigger="MeterValuePeriodic", meter=[register(2500, 10)])
    # Before any reboot a connector's status closes nothing: the station kept its state.
    await _status(cs, 4, "Available")
    assert (await by_wire_id(api, "tx-d"))["stopped_at"] is None

    await cs._connection.close()  # the station loses power mid-session
    cs = await station("CS-1", registered=True)
    assert (await cs.call(call.BootNotification(
        charging_station={"vendorName": "Independent", "model": "Station201"}, reason="PowerUp"))).status == "Accepted"
    # It carries tx-b on (an event sent now, not queued), and one of tx-d queued from before the boot.
    await cs.event("Updated", 2, "tx-b", evse=2, minutes=30, trigger="MeterValuePeriodic", meter=[register(3000, 30)])
    await cs.event("Updated", 2, "tx-d", evse=4, minutes=11, trigger="MeterValuePeriodic", offline=True)

    async with server.bus.subscribe() as events:
        await _status(cs, 1, "Available")
        while (stopped := await asyncio.wait_for(events.get(), 5)).type != "transaction.stopped":
            pass
    closed = await by_wire_id(api, "tx-a")
    assert closed["stop_reason"] == "Other" and closed["stop_note"] == "closed after reboot: EVSE 1 connector 1 reported Available"
    assert (closed["meter_stop"], closed["stopped_at"]) == (2500, at(10))  # its last register reading
    assert (stopped.data["transaction_id"], stopped.data["connector_id"]) == (closed["id"], 1)
    assert ("CS-1", 1) not in server.services.transactions.live

    await _status(cs, 2, "Available")  # carried on: this status decides nothing about it
    await _status(cs, 3, "Occupied")  # the station still holds it
    await _status(cs, 4, "Available")  # an offline event says nothing about now
    assert (await by_wire_id(api, "tx-b"))["stopped_at"] is None
    assert (await by_wire_id(api, "tx-c"))["stopped_at"] is None
    assert (await by_wire_id(api, "tx-d"))["stop_note"] == "closed after reboot: EVSE 4 connector 1 reported Available"
    active = (await api.get("/api/v1/transactions", params={"active": "true"})).json()["items"]
    assert sorted(tx["ocpp_transaction_id"] for tx in active) == ["tx-b", "tx-c"]

    # The station's own Ended, delivered after, replaces Voltline's stop.
    await cs.event("Ended", 3, "tx-a", minutes=20, offline=True, info={"stopped_reason": "PowerLoss"},
                   meter=[register(2800, 20, context="Transaction.End")])
    ended = await by_wire_id(api, "tx-a")
    assert (ended["meter_stop"], ended["stopped_at"], ended["stop_reason"], ended["stop_note"]) == (2800, at(20), "PowerLoss", None)
