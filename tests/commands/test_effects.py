"""The domain effect of each command: reservations, charging profiles, the local list,
configuration, firmware / diagnostics / log tracking, remote starts and triggered messages."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from tests.commands.support import T0, answer_next, command, online

FUTURE = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
PAST = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def profile(profile_id: int, stack_level: int = 0, purpose: str = "TxDefaultProfile", limit: float = 16.0) -> dict:
    return {
        "charging_profile_id": profile_id,
        "stack_level": stack_level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "start_schedule": T0,
            "charging_schedule_period": [{"start_period": 0, "limit": limit}, {"start_period": 3600, "limit": 8.0, "number_phases": 3}],
        },
    }


# -- reservations -------------------------------------------------------------------------------


async def test_reservation_is_stored_then_consumed_by_start_transaction(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-RES", connectors=2)
    await api.post("/api/v1/id-tags", json={"id_tag": "RES-TAG"})
    request = asyncio.create_task(api.post("/api/v1/reservations", json={
        "charge_point_id": "CP-RES", "connector_id": 2, "id_tag": "RES-TAG", "expiry_date": FUTURE, "parent_id_tag": "GROUP"}))
    call = await answer_next(cp, {"status": "Accepted"}, "ReserveNow")
    response = await request
    assert response.status_code == 201, response.text
    reservation = response.json()["reservation"]
    assert response.json()["status"] == "Accepted"
    assert reservation["status"] == "Reserved" and reservation["connector_id"] == 2
    assert call[3] == {"connectorId": 2, "expiryDate": call[3]["expiryDate"], "idTag": "RES-TAG",
                       "reservationId": reservation["id"], "parentIdTag": "GROUP"}
    assert call[3]["expiryDate"].startswith(FUTURE[:16])

    # A remote start without connector avoids the reserved one.
    start = asyncio.create_task(api.post("/api/v1/charge-points/CP-RES/remote-start", json={"id_tag": "RES-TAG"}))
    call = await answer_next(cp, {"status": "Rejected"}, "RemoteStartTransaction")
    assert call[3]["connectorId"] == 1
    assert (await start).json()["status"] == "Rejected"

    started = await cp.ok("StartTransaction", {"connectorId": 2, "idTag": "RES-TAG", "meterStart": 0,
                                               "timestamp": T0, "reservationId": reservation["id"]})
    used = (await api.get(f"/api/v1/reservations/{reservation['id']}")).json()
    assert used["status"] == "Used" and used["transaction_id"] == started["transactionId"]
    # A used reservation cannot be cancelled.
    assert (await api.delete(f"/api/v1/reservations/{reservation['id']}")).status_code == 409


async def test_reservation_refused_cancelled_and_expired(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-RES2")
    body = {"charge_point_id": "CP-RES2", "connector_id": 1, "id_tag": "T1", "expiry_date": FUTURE}
    request = asyncio.create_task(api.post("/api/v1/reservations", json=body))
    await answer_next(cp, {"status": "Occupied"}, "ReserveNow")
    refused = (await request).json()
    assert refused["status"] == "Occupied" and refused["reservation"]["status"] == "Occupied"

    request = asyncio.create_task(api.post("/api/v1/reservations", json=body))
    await answer_next(cp, {"status": "Accepted"}, "ReserveNow")
    reserved = (await request).json()["reservation"]
    assert reserved["id"] != refused["reservation"]["id"]

    cancel = asyncio.create_task(api.delete(f"/api/v1/reservations/{reserved['id']}"))
    call = await answer_next(cp, {"status": "Accepted"}, "CancelReservation")
    assert call[3] == {"reservationId": reserved["id"]}
    cancelled = (await cancel).json()
    assert cancelled["status"] == "Accepted" and cancelled["reservation"]["status"] == "Cancelled"

    # Through the generic endpoint, with an id of the operator's choice, already past its expiry.
    response, _ = await command(api, cp, "CP-RES2", "ReserveNow",
                                {"connectorId": 1, "expiryDate": PAST, "idTag": "T2", "reservationId": 4242},
                                {"status": "Accepted"})
    assert response.json() == {"status": "Accepted"}
    assert (await api.get("/api/v1/reservations/4242")).json()["status"] == "Reserved"
    assert await server.services.reservations.expire() == [4242]
    assert (await api.get("/api/v1/reservations/4242")).json()["status"] == "Expired"
    active = (await api.get("/api/v1/reservations", params={"charge_point_id": "CP-RES2", "status": "Reserved"})).json()
    assert active["total"] == 0
    assert (await api.get("/api/v1/reservations", params={"charge_point_id": "CP-RES2"})).json()["total"] == 3
    # The generic CancelReservation of an unknown id is the charge point's business.
    response, _ = await command(api, cp, "CP-RES2", "CancelReservation", {"reservationId": 31337}, {"status": "Rejected"})
    assert response.json() == {"status": "Rejected"}
    assert (await api.get("/api/v1/reservations/31337")).status_code == 404


# -- charging profiles ---------------------------------------------------------------------------


async def test_charging_profiles_stored_replaced_and_cleared(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-SC", connectors=2)

    async def install(connector_id: int, spec: dict, answer: str = "Accepted") -> dict:
        request = asyncio.create_task(api.post("/api/v1/charging-profiles", json={
            "charge_point_id": "CP-SC", "connector_id": connector_id, "charging_profile": spec}))
        call = await answer_next(cp, {"status": answer}, "SetChargingProfile")
        response = await request
        assert response.status_code == 200, response.text
        return {"call": call[3], **response.json()}

    first = await install(1, profile(1, stack_level=0, limit=16.0))
    assert first["call"]["connectorId"] == 1
    assert first["call"]["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][1] == {
        "startPeriod": 3600, "limit": 8.0, "numberPhases": 3}
    assert first["call"]["csChargingProfiles"]["chargingSchedule"]["startSchedule"] == T0
    stored = first["charging_profile"]
    assert stored["status"] == "Active" and stored["purpose"] == "TxDefaultProfile" and stored["stack_level"] == 0
    assert stored["charging_schedule"]["charging_schedule_period"][0] == {"start_period": 0, "limit": 16.0}

    # Same connector, purpose and stack level: replaces the first.
    second = (await install(1, profile(2, stack_level=0, limit=10.0)))["charging_profile"]
    assert (await api.get(f"/api/v1/charging-profiles/{stored['id']}")).json()["status"] == "Replaced"
    # Another stack level and a max profile on the whole charge point stand beside it.
    third = (await install(1, profile(3, stack_level=1)))["charging_profile"]
    fourth = (await install(0, profile(4, purpose="ChargePointMaxProfile", limit=32.0)))["charging_profile"]
    refused = await install(2, profile(5), answer="Rejected")
    assert refused["status"] == "Rejected" and refused["charging_profile"] is None

    active = (await api.get("/api/v1/charging-profiles", params={"charge_point_id": "CP-SC", "status": "Active"})).json()
    assert sorted(p["charging_profile_id"] for p in active["items"]) == [2, 3, 4]

    # Clear one by our id…
    clear = asyncio.create_task(api.delete(f"/api/v1/charging-profiles/{second['id']}"))
    call = await answer_next(cp, {"status": "Accepted"}, "ClearChargingProfile")
    assert call[3] == {"id": 2}
    assert (await clear).json()["charging_profile"]["status"] == "Cleared"
    # …and by purpose through the generic command.
    response, _ = await command(api, cp, "CP-SC", "ClearChargingProfile",
                                {"chargingProfilePurpose": "TxDefaultProfile"}, {"status": "Accepted"})
    assert response.json() == {"status": "Accepted"}
    active = (await api.get("/api/v1/charging-profiles", params={"charge_point_id": "CP-SC", "status": "Active"})).json()
    assert [p["id"] for p in active["items"]] == [fourth["id"]]
    assert (await api.get(f"/api/v1/charging-profiles/{third['id']}")).json()["status"] == "Cleared"
    # Unknown to the charge point: nothing changes here.
    response, _ = await command(api, cp, "CP-SC", "ClearChargingProfile", {}, {"status": "Unknown"})
    assert (await api.get(f"/api/v1/charging-profiles/{fourth['id']}")).json()["status"] == "Active"


# -- local authorization list ---------------------------------------------------------------------


async def test_local_list_full_then_differential(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-LL")
    for tag, status in (("A-1", "Accepted"), ("B-2", "Blocked"), ("C-3", "Accepted")):
        await api.post("/api/v1/id-tags", json={"id_tag": tag, "status": status, "parent_id_tag": "FLEET"})

    sync = asyncio.create_task(api.post("/api/v1/charge-points/CP-LL/local-list/sync", json={"update_type": "Full"}))
    call = await answer_next(cp, {"status": "Accepted"}, "SendLocalList")
    assert call[3]["updateType"] == "Full" and call[3]["listVersion"] == 1
    assert call[3]["localAuthorizationList"][1] == {"idTag": "B-2", "idTagInfo": {"status": "Blocked", "parentIdTag": "FLEET"}}
    assert (await sync).json() == {"status": "Accepted", "list_version": 1, "update_type": "Full", "entries": 3}
    held = (await api.get("/api/v1/charge-points/CP-LL/local-list")).json()
    assert held["version"] == 1 and [e["id_tag"] for e in held["entries"]] == ["A-1", "B-2", "C-3"]

    # Change one tag, delete one, add one: the differential update carries just that.
    await api.patch("/api/v1/id-tags/B-2", json={"status": "Accepted"})
    await api.delete("/api/v1/id-tags/C-3")
    await api.post("/api/v1/id-tags", json={"id_tag": "D-4"})
    sync = asyncio.create_task(api.post("/api/v1/charge-points/CP-LL/local-list/sync", json={"update_type": "Differential"}))
    call = await answer_next(cp, {"status": "Accepted"}, "SendLocalList")
    assert call[3] == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "B-2", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
            {"idTag": "D-4", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "C-3"},
        ],
    }
    await sync
    held = (await api.get("/api/v1/charge-points/CP-LL/local-list")).json()
    assert held["version"] == 2
    assert {e["id_tag"]: e["status"] for e in held["entries"]} == {"A-1": "Accepted", "B-2": "Accepted", "D-4": "Accepted"}

    # A refused update changes nothing; GetLocalListVersion records what the charge point says.
    sync = asyncio.create_task(api.post("/api/v1/charge-points/CP-LL/local-list/sync"))
    await answer_next(cp, {"status": "VersionMismatch"}, "SendLocalList")
    assert (await sync).json()["status"] == "VersionMismatch"
    assert (await api.get("/api/v1/charge-points/CP-LL/local-list")).json()["version"] == 2
    response, _ = await command(api, cp, "CP-LL", "GetLocalListVersion", {}, {"listVersion": 7})
    assert response.json() == {"listVersion": 7}
    assert (await api.get("/api/v1/charge-points/CP-LL")).json()["local_list_version"] == 7


# -- configuration ------------------------------------------------------------------------------


async def test_configuration_read_and_changed(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-CFG")
    everything = {"configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "1"},
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
    ]}
    response, _ = await command(api, cp, "CP-CFG", "GetConfiguration", {}, everything)
    assert response.status_code == 200
    keys = (await api.get("/api/v1/charge-points/CP-CFG/configuration")).json()
    assert keys["total"] == 3
    assert {k["key"]: (k["value"], k["readonly"]) for k in keys["items"]}["NumberOfConnectors"] == ("1", True)

    response, _ = await command(api, cp, "CP-CFG", "ChangeConfiguration",
                                {"key": "HeartbeatInterval", "value": "60"}, {"status": "Accepted"})
    response, _ = await command(api, cp, "CP-CFG", "ChangeConfiguration",
                                {"key": "NumberOfConnectors", "value": "4"}, {"status": "Rejected"})
    assert response.json() == {"status": "Rejected"}
    response, _ = await command(api, cp, "CP-CFG", "ChangeConfiguration",
                                {"key": "VendorKey", "value": "on"}, {"status": "RebootRequired"})
    # Some keys read again: MeterValueSampleInterval is gone, the others updated.
    response, _ = await command(api, cp, "CP-CFG", "GetConfiguration", {"key": ["MeterValueSampleInterval", "HeartbeatInterval"]},
                                {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}],
                                 "unknownKey": ["MeterValueSampleInterval"]})
    keys = {k["key"]: k["value"] for k in (await api.get("/api/v1/charge-points/CP-CFG/configuration")).json()["items"]}
    assert keys == {"HeartbeatInterval": "60", "NumberOfConnectors": "1", "VendorKey": "on"}


# -- firmware, diagnostics, logs ------------------------------------------------------------------


async def test_firmware_diagnostics_and_log_requests_are_tracked_with_their_notifications(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-FW")
    await command(api, cp, "CP-FW", "UpdateFirmware", {"location": "https://fw.example/2.0.bin", "retrieveDate": T0}, {})
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        await cp.ok("FirmwareStatusNotification", {"status": status})
    await command(api, cp, "CP-FW", "GetDiagnostics", {"location": "ftp://diag.example/"}, {"fileName": "d.zip"})
    await cp.ok("DiagnosticsStatusNotification", {"status": "Uploaded"})
    await command(api, cp, "CP-FW", "GetLog",
                  {"logType": "SecurityLog", "requestId": 42, "log": {"remoteLocation": "https://logs.example/"}},
                  {"status": "Accepted", "filename": "sec.log"})
    await cp.ok("LogStatusNotification", {"status": "Uploading", "requestId": 42})
    await command(api, cp, "CP-FW", "SignedUpdateFirmware",
                  {"requestId": 43, "firmware": {"location": "https://fw.example/s.bin", "retrieveDateTime": T0,
                                                 "signingCertificate": "CERT", "signature": "SIG"}},
                  {"status": "InvalidCertificate"})

    firmware = (await api.get("/api/v1/charge-points/CP-FW/events", params={"kind": "firmware"})).json()["items"]
    assert [e["status"] for e in reversed(firmware)] == ["Requested", "Downloading", "Downloaded", "Installing", "Installed"]
    assert firmware[-1]["detail"]["request"]["location"] == "https://fw.example/2.0.bin"
    diagnostics = (await api.get("/api/v1/charge-points/CP-FW/events", params={"kind": "diagnostics"})).json()["items"]
    assert [e["status"] for e in reversed(diagnostics)] == ["Requested", "Uploaded"]
    assert diagnostics[-1]["detail"]["response"] == {"fileName": "d.zip"}
    logs = (await api.get("/api/v1/charge-points/CP-FW/events", params={"kind": "log"})).json()["items"]
    assert [(e["status"], e["request_id"]) for e in reversed(logs)] == [("Requested", 42), ("Uploading", 42)]
    signed = (await api.get("/api/v1/charge-points/CP-FW/events", params={"kind": "signed_firmware"})).json()["items"]
    assert [(e["status"], e["request_id"]) for e in signed] == [("InvalidCertificate", 43)]
    cp_view = (await api.get("/api/v1/charge-points/CP-FW")).json()
    assert cp_view["firmware_status"] == "Installed" and cp_view["diagnostics_status"] == "Uploaded"


# -- remote start ---------------------------------------------------------------------------------


async def test_remote_start_passes_over_a_connector_still_charging_though_it_says_available(  # type: ignore[no-untyped-def]
    server, api, connect
) -> None:
    cp = await online(api, connect, "CP-BUSY", connectors=2)
    await api.post("/api/v1/id-tags", json={"id_tag": "FIRST"})
    await api.post("/api/v1/id-tags", json={"id_tag": "SECOND"})
    # Started on connector 1 without a StatusNotification: its last status is still Available.
    await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "FIRST", "meterStart": 0, "timestamp": T0})
    start = asyncio.create_task(api.post("/api/v1/charge-points/CP-BUSY/remote-start", json={"id_tag": "SECOND"}))
    call = await answer_next(cp, {"status": "Accepted"}, "RemoteStartTransaction")
    assert call[3] == {"idTag": "SECOND", "connectorId": 2}
    assert (await start).json()["status"] == "Accepted"


async def test_remote_start_checks_the_tag_and_picks_a_free_connector(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-RS", connectors=3)
    await api.post("/api/v1/id-tags", json={"id_tag": "GOOD"})
    await api.post("/api/v1/id-tags", json={"id_tag": "BLOCKED", "status": "Blocked"})
    for tag, status in (("BLOCKED", "Blocked"), ("NOBODY", "Invalid")):
        response = await api.post("/api/v1/charge-points/CP-RS/remote-start", json={"id_tag": tag})
        assert response.status_code == 400
        assert response.json()["error"]["details"] == {"id_tag_status": status}
    assert cp.server_calls.empty()

    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"})
    await cp.ok("StatusNotification", {"connectorId": 2, "errorCode": "NoError", "status": "Faulted"})
    start = asyncio.create_task(api.post("/api/v1/charge-points/CP-RS/remote-start", json={"id_tag": "GOOD"}))
    call = await answer_next(cp, {"status": "Accepted"}, "RemoteStartTransaction")
    assert call[3] == {"idTag": "GOOD", "connectorId": 3}
    body = (await start).json()
    assert body["status"] == "Accepted" and body["transaction_id"] is None
    assert body["remote_start"] == (await api.get(f"/api/v1/remote-starts/{body['remote_start']['id']}")).json()
    # Not waiting: the transaction is found on the remote start once it started.
    started = await cp.ok("StartTransaction", {"connectorId": 3, "idTag": "GOOD", "meterStart": 0, "timestamp": T0})
    remote_start = (await api.get(f"/api/v1/remote-starts/{body['remote_start']['id']}")).json()
    assert remote_start["status"] == "Started" and remote_start["transaction_id"] == started["transactionId"]

    await cp.ok("StatusNotification", {"connectorId": 3, "errorCode": "NoError", "status": "Charging"})
    response = await api.post("/api/v1/charge-points/CP-RS/remote-start", json={"id_tag": "OTHER", "check_tag": False})
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_free_connector"

    # The tag is charging now: ConcurrentTx, not sent.
    response = await api.post("/api/v1/charge-points/CP-RS/remote-start", json={"id_tag": "GOOD", "connector_id": 1})
    assert response.status_code == 400 and response.json()["error"]["details"] == {"id_tag_status": "ConcurrentTx"}

    # An explicit connector and a TxProfile go as given; the charge point's refusal is kept.
    start = asyncio.create_task(api.post("/api/v1/charge-points/CP-RS/remote-start", json={
        "id_tag": "OTHER", "check_tag": False, "connector_id": 2,
        "charging_profile": profile(9, purpose="TxProfile")}))
    call = await answer_next(cp, {"status": "Rejected"}, "RemoteStartTransaction")
    assert call[3]["connectorId"] == 2 and call[3]["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"
    body = (await start).json()
    assert body["status"] == "Rejected" and body["remote_start"]["status"] == "Rejected"
    assert body["remote_start"] == (await api.get(f"/api/v1/remote-starts/{body['remote_start']['id']}")).json()


async def test_remote_start_matched_when_the_charge_point_starts_before_we_read_its_answer(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-FAST")
    await api.post("/api/v1/id-tags", json={"id_tag": "QUICK"})
    start = asyncio.create_task(api.post("/api/v1/charge-points/CP-FAST/remote-start",
                                         json={"id_tag": "QUICK", "connector_id": 1, "wait": True}))
    call = await cp.next_server_call()
    # The StartTransaction goes out right behind the answer, in the same breath.
    start_transaction = {"connectorId": 1, "idTag": "QUICK", "meterStart": 5, "timestamp": T0}
    await cp.ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
    await cp.ws.send(json.dumps([2, "fast-1", "StartTransaction", start_transaction]))
    answer = await cp.receive()
    body = (await start).json()
    assert body["transaction_id"] == answer[2]["transactionId"]
    # What the command answered is what was stored.
    stored = (await api.get(f"/api/v1/remote-starts/{body['remote_start']['id']}")).json()
    assert body["remote_start"] == stored
    assert stored["status"] == "Started" and stored["connector_id"] == 1


# -- TriggerMessage while the registration is Pending ----------------------------------------------


async def test_trigger_message_lets_a_pending_charge_point_send_what_was_asked(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await api.post("/api/v1/charge-points", json={"id": "CP-PEND", "registration_status": "Pending"})
    cp = await connect("CP-PEND")
    assert (await cp.boot())["status"] == "Pending"
    refused = await cp.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
    assert refused[0] == 4 and refused[2] == "SecurityError"

    response, _ = await command(api, cp, "CP-PEND", "TriggerMessage",
                                   {"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"})
    assert response.json() == {"status": "Accepted"}
    assert (await cp.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}))[0] == 3
    # Once only.
    assert (await cp.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}))[0] == 4

    # A trigger the charge point rejects lets nothing through.
    await command(api, cp, "CP-PEND", "TriggerMessage", {"requestedMessage": "MeterValues"}, {"status": "Rejected"})
    refused = await cp.call("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "1"}]}]})
    assert refused[0] == 4

    # The security extension's ExtendedTriggerMessage works the same way.
    await command(api, cp, "CP-PEND", "ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    assert (await cp.call("Heartbeat", {}))[0] == 3


async def test_a_trigger_for_no_connector_lets_every_connectors_status_through(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await api.post("/api/v1/charge-points", json={"id": "CP-PEND", "registration_status": "Pending"})
    cp = await connect("CP-PEND")
    assert (await cp.boot())["status"] == "Pending"
    await command(api, cp, "CP-PEND", "TriggerMessage", {"requestedMessage": "StatusNotification"}, {"status": "Accepted"})
    # One StatusNotification per connector, and one for the charge point itself (connector 0).
    for connector_id, status in ((0, "Available"), (1, "Preparing"), (2, "Faulted")):
        answer = await cp.call("StatusNotification", {"connectorId": connector_id, "errorCode": "NoError", "status": status})
        assert answer[0] == 3, answer
    stored = (await api.get("/api/v1/charge-points/CP-PEND")).json()["connectors"]
    assert sorted((c["connector_id"], c["status"]) for c in stored) == [(0, "Available"), (1, "Preparing"), (2, "Faulted")]
    # Still nothing else.
    refused = await cp.call("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "1"}]}]})
    assert refused[0] == 4 and refused[2] == "SecurityError"
    assert (await cp.call("Heartbeat", {}))[2] == "SecurityError"
