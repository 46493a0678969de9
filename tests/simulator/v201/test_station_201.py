"""A simulated 2.0.1 charging station against an independent CSMS: boot, status per EVSE and
connector, transactions as TransactionEvents, the offline queue."""

from __future__ import annotations

import asyncio

from ocpp.v201 import call

from voltline.simulator import SimulatedChargingStation
from voltline.simulator.clock import iso

ENERGY = "Energy.Active.Import.Register"
FOUR = [ENERGY, "Power.Active.Import", "Current.Import", "Voltage"]


def _energy(event):
    values = [v for mv in event.get("meterValue", []) for v in mv["sampledValue"] if v.get("measurand") == ENERGY]
    return values[0]["value"] if values else None


async def test_boot_pending_then_status_of_every_connector(csms201, make_stations):
    csms201.boot_script.extend(["Pending", "Pending"])
    async with make_stations(connectors=2, connectors_per_evse=2) as sim:
        cs = sim["CP-1"]
        assert isinstance(cs, SimulatedChargingStation)
        await csms201.wait_for(lambda: len(csms201.messages("CP-1", "StatusNotification")) >= 4)
    assert csms201.subprotocols[0] == "ocpp2.0.1"
    actions = csms201.actions("CP-1")
    # While Pending the station sends nothing but its BootNotification.
    assert actions[:3] == ["BootNotification"] * 3
    boot = csms201.messages("CP-1", "BootNotification")[0]
    assert boot["reason"] == "PowerUp"
    assert boot["chargingStation"] == {
        "model": "Simulator",
        "vendorName": "Voltline",
        "serialNumber": "SIM-CP-1",
        "firmwareVersion": "1.0.0",
    }
    reported = {(p["evseId"], p["connectorId"]): p["connectorStatus"] for p in csms201.messages("CP-1", "StatusNotification")}
    assert reported == {(1, 1): "Available", (1, 2): "Available", (2, 1): "Available", (2, 2): "Available"}


async def test_rejected_station_keeps_booting(csms201, make_stations):
    csms201.boot_script.extend(["Rejected"])
    async with make_stations() as sim:
        await sim["CP-1"].wait_accepted()
    assert csms201.actions("CP-1")[:2] == ["BootNotification", "BootNotification"]


async def test_a_full_transaction(csms201, make_stations):
    async with make_stations(connectors=2) as sim:
        cs = sim["CP-1"]
        tx = await cs.plug_in(1, "TAG1")
        assert tx is not None
        await csms201.wait_status("CP-1", 1, 1, "Occupied")
        await csms201.wait_for(lambda: len(csms201.events("CP-1")) >= 4)
        await cs.present_token(1, "TAG1")
        await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["eventType"] == "Ended")
    assert csms201.messages("CP-1", "Authorize")[0]["idToken"] == {"idToken": "TAG1", "type": "ISO14443"}
    events = csms201.events("CP-1", tx.transaction_id)
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"
    assert all(e["eventType"] == "Updated" for e in events[1:-1])
    started, ended = events[0], events[-1]
    assert started["triggerReason"] == "Authorized"
    assert started["idToken"] == {"idToken": "TAG1", "type": "ISO14443"}
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    periodic = [e for e in events if e["triggerReason"] == "MeterValuePeriodic"]
    assert len(periodic) >= 2
    for event in periodic:
        assert event["transactionInfo"]["chargingState"] == "Charging"
        assert [v["measurand"] for v in event["meterValue"][0]["sampledValue"]] == FOUR
    energies = [_energy(e) for e in events if _energy(e) is not None]
    assert energies == sorted(energies) and energies[-1] > energies[0]
    assert tx.energy_wh == energies[-1] - energies[0]


async def test_id_token_in_a_later_updated_with_tx_start_point_ev_connected(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        answer = await csms201.call(
            "CP-1",
            call.SetVariables(
                set_variable_data=[
                    {
                        "attribute_value": "EVConnected",
                        "component": {"name": "TxCtrlr"},
                        "variable": {"name": "TxStartPoint"},
                    }
                ]
            ),
        )
        assert answer.set_variable_result[0]["attribute_status"] == "Accepted"
        tx = await cs.plug_in(1)
        assert tx is not None and not tx.authorized
        started = await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["eventType"] == "Started")
        assert started["triggerReason"] == "CablePluggedIn"
        assert "idToken" not in started and started["transactionInfo"]["chargingState"] == "EVConnected"
        await cs.present_token(1, "LATE")
        updated = await csms201.wait_message("CP-1", "TransactionEvent", lambda p: "idToken" in p)
        assert updated["eventType"] == "Updated" and updated["triggerReason"] == "Authorized"
        assert updated["idToken"]["idToken"] == "LATE"
        assert updated["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
        await csms201.wait_message(
            "CP-1", "TransactionEvent", lambda p: p["transactionInfo"].get("chargingState") == "Charging"
        )


async def test_offline_events_replay_in_order_with_their_own_time(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        tx = await cs.plug_in(1, "TAG1")
        await tx.wait_confirmed()
        csms201.refuse = True
        await cs.drop_connection()
        await cs.wait_until(lambda: not cs.connected)
        # Periodic updates accumulate offline, then the driver stops.
        await cs.wait_until(lambda: sum(1 for e in tx.events if e.get("offline")) >= 3)
        await cs.stop_charging(1)
        queued = [e for e in tx.events if e.get("offline")]
        assert queued[-1]["eventType"] == "Ended"
        csms201.refuse = False
        await cs.wait_connected()
        back_at = iso(cs.clock.now())
        # Asked while the queue still holds the transaction's events: they are in the queue.
        answer = await csms201.call("CP-1", call.GetTransactionStatus(transaction_id=tx.transaction_id))
        assert answer.ongoing_indicator is False
        await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["eventType"] == "Ended", timeout=20)
        await asyncio.wait_for(cs.outbox.delivered.wait(), 10)
        answer = await csms201.call("CP-1", call.GetTransactionStatus(transaction_id=tx.transaction_id))
        assert answer.messages_in_queue is False
    events = csms201.events("CP-1", tx.transaction_id)
    # An event whose answer the cut lost is sent again: the CSMS sees it twice, same seqNo.
    assert sorted({e["seqNo"] for e in events}) == list(range(len(tx.events)))
    replayed = [e for e in events if e.get("offline")]
    assert replayed == queued
    assert [e["seqNo"] for e in replayed] == sorted(e["seqNo"] for e in replayed)
    assert [e["timestamp"] for e in replayed] == sorted(e["timestamp"] for e in replayed)
    # Each carries the time it happened, before the station was back.
    assert all(e["timestamp"] < back_at for e in replayed)


async def test_get_transaction_status_while_charging(csms201, make_stations):
    async with make_stations() as sim:
        tx = await sim["CP-1"].plug_in(1, "TAG1")
        await tx.wait_confirmed()
        answer = await csms201.call("CP-1", call.GetTransactionStatus(transaction_id=tx.transaction_id))
        assert answer.ongoing_indicator is True
        unknown = await csms201.call("CP-1", call.GetTransactionStatus(transaction_id="no-such-transaction"))
        assert unknown.ongoing_indicator is False


async def test_errors_are_answered_in_2_0_1_spelling(csms201, make_stations):
    """OCPP-J 2.0.1 names a frame that is not well formed FormatViolation, a missing field
    OccurrenceConstraintViolation and an unknown message type MessageTypeNotSupported (1.6:
    FormationViolation, OccurenceConstraintViolation, ProtocolError)."""
    async with make_stations() as sim:
        await sim["CP-1"].wait_accepted()

        async def answer(message_id: str) -> list:
            await csms201.send_raw("CP-1", sent[message_id])
            return await csms201.wait_for(
                lambda: [f for i, f in csms201.frames if i == "CP-1" and f[0] == 4 and f[1] == message_id]
            )

        sent = {
            "bad-payload": '[2, "bad-payload", "Reset", "Immediate"]',
            "missing": '[2, "missing", "Reset", {}]',
            "kind": '[9, "kind", "Reset", {}]',
        }
        assert (await answer("bad-payload"))[0][2] == "FormatViolation"
        assert (await answer("missing"))[0][2] == "OccurrenceConstraintViolation"
        assert (await answer("kind"))[0][2] == "MessageTypeNotSupported"
