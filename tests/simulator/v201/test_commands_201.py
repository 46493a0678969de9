"""CSMS → station commands on a simulated 2.0.1 station, and their effect."""

from __future__ import annotations

import asyncio

from ocpp.exceptions import OCPPError
from ocpp.v201 import call

from voltline.simulator import Simulator
from voltline.simulator.simulator import speaks_201
from voltline.simulator.station import SimulatedChargePoint
from voltline.simulator.v201.station import SimulatedChargingStation


def _variable(component, name, instance=None, evse=None):
    variable = {"name": name} if instance is None else {"name": name, "instance": instance}
    component_ref = {"name": component} if evse is None else {"name": component, "evse": evse}
    return {"component": component_ref, "variable": variable}


async def test_full_inventory_in_several_notify_reports(csms201, make_stations):
    async with make_stations(connectors=2, connectors_per_evse=2) as sim:
        cs = sim["CP-1"]
        answer = await csms201.call("CP-1", call.GetBaseReport(request_id=7, report_base="FullInventory"))
        assert answer.status == "Accepted"
        await csms201.wait_message("CP-1", "NotifyReport", lambda p: not p.get("tbc"))
        parts = csms201.messages("CP-1", "NotifyReport")
        assert len(parts) >= 3
        assert [p["seqNo"] for p in parts] == list(range(len(parts)))
        assert all(p["requestId"] == 7 for p in parts)
        assert [p["tbc"] for p in parts] == [True] * (len(parts) - 1) + [False]
        assert all(len(p["reportData"]) <= 20 for p in parts)
        entries = [e for p in parts for e in p["reportData"]]
        assert len(entries) == len(cs.device_model.variables)
        heartbeat = next(e for e in entries if e["variable"]["name"] == "HeartbeatInterval")
        assert heartbeat["component"] == {"name": "OCPPCommCtrlr"}
        assert heartbeat["variableAttribute"][0]["mutability"] == "ReadWrite"
        assert heartbeat["variableCharacteristics"]["unit"] == "s"
        assert heartbeat["variableCharacteristics"]["dataType"] == "integer"
        connectors = {
            (e["component"]["evse"]["id"], e["component"]["evse"]["connectorId"])
            for e in entries
            if e["component"]["name"] == "Connector"
        }
        assert connectors == {(1, 1), (1, 2), (2, 1), (2, 2)}

        report = await csms201.call(
            "CP-1",
            call.GetReport(request_id=8, component_variable=[{"component": {"name": "TxCtrlr"}}]),
        )
        assert report.status == "Accepted"
        only = await csms201.wait_message("CP-1", "NotifyReport", lambda p: p["requestId"] == 8)
        assert {e["component"]["name"] for e in only["reportData"]} == {"TxCtrlr"}
        none = await csms201.call(
            "CP-1", call.GetReport(request_id=9, component_variable=[{"component": {"name": "NoSuchCtrlr"}}])
        )
        assert none.status == "EmptyResultSet"


async def test_get_and_set_variables_take_effect(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        answer = await csms201.call(
            "CP-1",
            call.GetVariables(
                get_variable_data=[
                    _variable("OCPPCommCtrlr", "HeartbeatInterval"),
                    _variable("NoSuchCtrlr", "Enabled"),
                    _variable("OCPPCommCtrlr", "NoSuchVariable"),
                    _variable("Connector", "AvailabilityState", evse={"id": 1, "connectorId": 1}),
                ]
            ),
        )
        results = answer.get_variable_result
        assert results[0]["attribute_status"] == "Accepted" and results[0]["attribute_value"] == "3600"
        assert results[1]["attribute_status"] == "UnknownComponent"
        assert results[2]["attribute_status"] == "UnknownVariable"
        assert results[3]["attribute_value"] == "Available"

        beats = len(csms201.messages("CP-1", "Heartbeat"))
        changed = await csms201.call(
            "CP-1",
            call.SetVariables(
                set_variable_data=[
                    {"attribute_value": "5", **_variable("OCPPCommCtrlr", "HeartbeatInterval")},
                    {"attribute_value": "Other", **_variable("ChargingStation", "Model")},
                    {"attribute_value": "-3", **_variable("SampledDataCtrlr", "TxUpdatedInterval")},
                ]
            ),
        )
        statuses = [r["attribute_status"] for r in changed.set_variable_result]
        assert statuses == ["Accepted", "Rejected", "Rejected"]
        # At 3600 s a heartbeat is 7 real seconds apart at this speed; at 5 s, a few milliseconds.
        await csms201.wait_for(lambda: len(csms201.messages("CP-1", "Heartbeat")) >= beats + 3, timeout=5)
        assert cs.config.get_int("HeartbeatInterval") == 5


async def test_remote_start_and_stop(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        token = {"id_token": "REMOTE", "type": "Central"}
        answer = await csms201.call("CP-1", call.RequestStartTransaction(id_token=token, remote_start_id=42, evse_id=1))
        assert answer.status == "Accepted" and answer.transaction_id is None
        started = await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["eventType"] == "Started")
        assert started["transactionInfo"]["remoteStartId"] == 42
        assert started["idToken"] == {"idToken": "REMOTE", "type": "Central"}
        transaction_id = started["transactionInfo"]["transactionId"]
        busy = await csms201.call("CP-1", call.RequestStartTransaction(id_token=token, remote_start_id=43, evse_id=1))
        assert busy.status == "Rejected"

        stop = await csms201.call("CP-1", call.RequestStopTransaction(transaction_id=transaction_id))
        assert stop.status == "Accepted"
        ended = await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["eventType"] == "Ended")
        assert ended["triggerReason"] == "RemoteStop"
        assert ended["transactionInfo"]["stoppedReason"] == "Remote"
        assert ended["transactionInfo"]["transactionId"] == transaction_id
        again = await csms201.call("CP-1", call.RequestStopTransaction(transaction_id=transaction_id))
        assert again.status == "Rejected"
        assert cs.active_transaction(1) is None


async def test_remote_start_of_a_transaction_already_started_returns_its_id(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        cs.device_model.variable("TxCtrlr", "TxStartPoint").value = "EVConnected"
        tx = await cs.plug_in(1)
        answer = await csms201.call(
            "CP-1", call.RequestStartTransaction(id_token={"id_token": "R", "type": "Central"}, remote_start_id=5)
        )
        assert answer.status == "Accepted" and answer.transaction_id == tx.transaction_id
        updated = await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["triggerReason"] == "RemoteStart")
        assert updated["eventType"] == "Updated" and updated["transactionInfo"]["remoteStartId"] == 5
        assert updated["idToken"]["idToken"] == "R"


async def test_reset_immediate_and_on_idle(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        tx = await cs.plug_in(1, "TAG1")
        await tx.wait_confirmed()
        on_idle = await csms201.call("CP-1", call.Reset(type="OnIdle"))
        assert on_idle.status == "Scheduled"
        assert cs.active_transaction(1) is tx
        await cs.stop_charging(1)
        await csms201.wait_for(lambda: len(csms201.messages("CP-1", "BootNotification")) == 2)
        await cs.wait_accepted()
        tx2 = await cs.present_token(1, "TAG2")
        await tx2.wait_confirmed()
        immediate = await csms201.call("CP-1", call.Reset(type="Immediate"))
        assert immediate.status == "Accepted"
        ended = await csms201.wait_message(
            "CP-1", "TransactionEvent", lambda p: p["transactionInfo"]["transactionId"] == tx2.transaction_id
            and p["eventType"] == "Ended"
        )
        assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
        assert ended["triggerReason"] == "ResetCommand"
        await csms201.wait_for(lambda: len(csms201.messages("CP-1", "BootNotification")) == 3)
    reasons = [p["reason"] for p in csms201.messages("CP-1", "BootNotification")]
    assert reasons == ["PowerUp", "RemoteReset", "RemoteReset"]


async def test_change_availability_scheduled_during_a_transaction(csms201, make_stations):
    async with make_stations(connectors=2, connectors_per_evse=2) as sim:
        cs = sim["CP-1"]
        tx = await cs.plug_in(1, "TAG1", connector_id=2)
        await tx.wait_confirmed()
        await csms201.wait_status("CP-1", 1, 1, "Unavailable")  # the other cable of a busy EVSE
        busy = await csms201.call("CP-1", call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
        assert busy.status == "Scheduled"
        assert cs.status201(1, 2) == "Occupied"
        idle = await csms201.call(
            "CP-1", call.ChangeAvailability(operational_status="Inoperative", evse={"id": 2, "connector_id": 2})
        )
        assert idle.status == "Accepted"
        await csms201.wait_status("CP-1", 2, 2, "Unavailable")
        assert cs.status201(2, 1) == "Available"
        await cs.stop_charging(1)
        await cs.unplug(1)
        await csms201.wait_status("CP-1", 1, 2, "Unavailable")
        assert cs.status201(1, 1) == "Unavailable"
        refused = await csms201.call(
            "CP-1", call.RequestStartTransaction(id_token={"id_token": "X", "type": "Central"}, remote_start_id=1, evse_id=1)
        )
        assert refused.status == "Rejected"
        whole = await csms201.call("CP-1", call.ChangeAvailability(operational_status="Operative"))
        assert whole.status == "Accepted"
        unknown = await csms201.call("CP-1", call.ChangeAvailability(operational_status="Inoperative", evse={"id": 9}))
        assert unknown.status == "Rejected"


async def test_trigger_message(csms201, make_stations):
    async with make_stations(connectors=2) as sim:
        cs = sim["CP-1"]
        before = len(csms201.received)
        nothing = await csms201.call("CP-1", call.TriggerMessage(requested_message="TransactionEvent"))
        assert nothing.status == "Rejected"
        status = await csms201.call(
            "CP-1", call.TriggerMessage(requested_message="StatusNotification", evse={"id": 2, "connector_id": 1})
        )
        assert status.status == "Accepted"
        await csms201.wait_for(lambda: any(a == "StatusNotification" for _, a, _p in csms201.received[before:]))
        assert (await csms201.call("CP-1", call.TriggerMessage(requested_message="Heartbeat"))).status == "Accepted"
        await csms201.wait_message("CP-1", "Heartbeat")
        boot = await csms201.call("CP-1", call.TriggerMessage(requested_message="BootNotification"))
        assert boot.status == "Accepted"
        await csms201.wait_message("CP-1", "BootNotification", lambda p: p["reason"] == "Triggered")

        tx = await cs.plug_in(1, "TAG1")
        await tx.wait_confirmed()
        assert (await csms201.call("CP-1", call.TriggerMessage(requested_message="MeterValues"))).status == "Accepted"
        values = await csms201.wait_message("CP-1", "MeterValues", lambda p: p["evseId"] == 1)
        assert values["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        event = await csms201.call(
            "CP-1", call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1})
        )
        assert event.status == "Accepted"
        await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["triggerReason"] == "Trigger")
        firmware = await csms201.call("CP-1", call.TriggerMessage(requested_message="FirmwareStatusNotification"))
        assert firmware.status == "Accepted"
        await csms201.wait_message("CP-1", "FirmwareStatusNotification", lambda p: p["status"] == "Idle")


async def test_maintenance_customer_data_and_certificates(csms201, make_stations):
    async with make_stations() as sim:
        cs = sim["CP-1"]
        tx = await cs.plug_in(1, "CARD7")
        await cs.stop_charging(1)
        await tx.wait_confirmed()
        firmware = {"location": "https://example.invalid/fw-2.0.0.bin", "retrieve_date_time": "2020-01-01T00:00:00Z"}
        update = await csms201.call("CP-1", call.UpdateFirmware(request_id=3, firmware=firmware))
        assert update.status == "Accepted"
        await csms201.wait_message("CP-1", "FirmwareStatusNotification", lambda p: p["status"] == "Installed", 20)
        statuses = [p["status"] for p in csms201.messages("CP-1", "FirmwareStatusNotification")]
        assert statuses == ["Downloading", "Downloaded", "Installing", "InstallRebooting", "Installed"]
        assert all(p["requestId"] == 3 for p in csms201.messages("CP-1", "FirmwareStatusNotification"))
        assert csms201.messages("CP-1", "BootNotification")[-1]["reason"] == "FirmwareUpdate"
        assert cs.firmware_version == "fw-2.0.0"

        log = await csms201.call(
            "CP-1",
            call.GetLog(log={"remote_location": "https://example.invalid/logs"}, log_type="DiagnosticsLog", request_id=4),
        )
        assert log.status == "Accepted" and log.filename
        await csms201.wait_message("CP-1", "LogStatusNotification", lambda p: p["status"] == "Uploaded")

        info = await csms201.call(
            "CP-1",
            call.CustomerInformation(
                request_id=5, report=True, clear=False, id_token={"id_token": "CARD7", "type": "ISO14443"}
            ),
        )
        assert info.status == "Accepted"
        told = await csms201.wait_message("CP-1", "NotifyCustomerInformation")
        assert "CARD7: 1 transactions" in told["data"] and told["requestId"] == 5

        ids = await csms201.call("CP-1", call.GetInstalledCertificateIds())
        assert ids.status == "NotFound"
        transfer = await csms201.call("CP-1", call.DataTransfer(vendor_id="Voltline", message_id="Echo", data="hi"))
        assert transfer.status == "Accepted" and transfer.data == "hi"
        assert (await csms201.call("CP-1", call.ClearCache())).status == "Accepted"


async def test_malformed_requests_get_2_0_1_error_codes(csms201, make_stations):
    async with make_stations():
        for request, code in (
            (call.Reset(type="Sideways"), "PropertyConstraintViolation"),
            (call.GetVariables(get_variable_data=[{"component": {"name": "X"}}]), "OccurrenceConstraintViolation"),
            (call.ClearCache(custom_data={"vendorId": "V", "extra": 1}), None),
        ):
            try:
                await csms201.call("CP-1", request, skip_schema_validation=True)
            except OCPPError as exc:
                assert exc.code == code
            else:
                assert code is None


def test_a_mixed_fleet_spreads_its_2_0_1_stations():
    sim = Simulator("ws://127.0.0.1:9/ocpp", count=4, ocpp_version="mixed", share_201=0.5)
    kinds = [type(cp) for cp in sim]
    assert kinds == [SimulatedChargePoint, SimulatedChargingStation] * 2
    assert [speaks_201(i, "mixed", 0.25) for i in range(4)] == [False, False, False, True]
    assert all(isinstance(cp, SimulatedChargingStation) for cp in Simulator("ws://x/ocpp", 2, ocpp_version="2.0.1"))


async def test_a_mixed_fleet_negotiates_each_stations_version(csms201):
    async with Simulator(csms201.url, count=2, ocpp_version="mixed", speed=500, wait_accepted=False) as sim:
        await csms201.wait_for(lambda: len(csms201.subprotocols) >= 2)
        assert sorted(csms201.subprotocols[:2]) == ["ocpp1.6", "ocpp2.0.1"]
        await sim["CP-2"].wait_accepted()


async def test_random_drivers_charge_at_a_2_0_1_station(csms201, make_stations):
    from voltline.simulator.traffic import drive_connector

    async with make_stations(speed=2000) as sim:
        cs = sim["CP-1"]
        driver = asyncio.create_task(drive_connector(cs, 1, ["TAG1"], mean_idle_s=30, energy_kwh=(0.5, 1.0)))
        try:
            await csms201.wait_message("CP-1", "TransactionEvent", lambda p: p["eventType"] == "Ended", timeout=20)
        finally:
            driver.cancel()
    ended = next(e for e in csms201.events("CP-1") if e["eventType"] == "Ended")
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"


async def test_a_pending_station_sends_what_the_csms_asks_for(csms201, make_stations):
    csms201.boot_script.append("Pending")
    csms201.pending_interval = 3600  # seven real seconds at this speed: the trigger comes first
    async with make_stations(wait_accepted=False) as sim:
        cs = sim["CP-1"]
        await csms201.wait_message("CP-1", "BootNotification")
        await cs.wait_until(lambda: cs.registration_status == "Pending")
        answer = await csms201.call("CP-1", call.GetBaseReport(request_id=1, report_base="ConfigurationInventory"))
        assert answer.status == "Accepted"
        await csms201.wait_message("CP-1", "NotifyReport", lambda p: not p.get("tbc"))
        status = await csms201.call(
            "CP-1", call.TriggerMessage(requested_message="StatusNotification", evse={"id": 1, "connector_id": 1})
        )
        assert status.status == "Accepted"
        await csms201.wait_message("CP-1", "StatusNotification")
        # Nothing the CSMS did not ask for: no heartbeat, no other status.
        assert set(csms201.actions("CP-1")) == {"BootNotification", "NotifyReport", "StatusNotification"}
        assert len(csms201.messages("CP-1", "StatusNotification")) == 1
        boot = await csms201.call("CP-1", call.TriggerMessage(requested_message="BootNotification"))
        assert boot.status == "Accepted"
        await cs.wait_accepted(timeout=5)
    assert [p["reason"] for p in csms201.messages("CP-1", "BootNotification")] == ["PowerUp", "PowerUp"]


async def test_command_line_runs_2_0_1_stations(csms201, tmp_path):
    from typer.testing import CliRunner

    from voltline.simulator.cli import simulate_app

    path = tmp_path / "scenario.yaml"
    path.write_text("- {at: 0, charge_point: SIM-1, connector: 2, plug_in: {id_tag: CLI}}\n")
    args = ["--url", csms201.url, "-n", "1", "-m", "2", "--connectors-per-evse", "2", "--ocpp-version", "2.0.1",
            "--prefix", "SIM-", "--duration", "120", "--speed", "200", "--seed", "3", "--scenario", str(path), "-q"]
    result = await asyncio.to_thread(CliRunner().invoke, simulate_app, args)
    assert result.exit_code == 0, result.output
    assert "1 charge points · 1 sessions" in result.output
    assert csms201.subprotocols == ["ocpp2.0.1"]
    events = csms201.events("SIM-1")
    assert events[0]["eventType"] == "Started" and events[0]["evse"] == {"id": 2, "connectorId": 1}
    assert events[0]["idToken"]["idToken"] == "CLI"
    # Leaving the run ends its sessions properly.
    assert events[-1]["eventType"] == "Ended" and events[-1]["transactionInfo"]["stoppedReason"] == "Local"
    reported = {(p["evseId"], p["connectorId"]) for p in csms201.messages("SIM-1", "StatusNotification")}
    assert reported == {(1, 1), (1, 2), (2, 1), (2, 2)}
