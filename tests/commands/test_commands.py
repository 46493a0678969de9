"""Every message the Central System sends, through the generic command endpoint, against a charge
point connected over a real WebSocket: its answer, and the offline / timeout / error paths."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.commands.support import T0, answer_next, command, eventually, online

FUTURE = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
PROFILE = {
    "chargingProfileId": 10,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]},
}

# action → (request payload, the charge point's answer)
EVERY_COMMAND: dict[str, tuple[dict, dict]] = {
    "RemoteStartTransaction": ({"idTag": "TAG-1", "connectorId": 1}, {"status": "Rejected"}),
    "RemoteStopTransaction": ({"transactionId": 12345}, {"status": "Rejected"}),
    "Reset": ({"type": "Soft"}, {"status": "Accepted"}),
    "ChangeAvailability": ({"connectorId": 1, "type": "Inoperative"}, {"status": "Scheduled"}),
    "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "60"}, {"status": "Accepted"}),
    "GetConfiguration": (
        {"key": ["HeartbeatInterval"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]},
    ),
    "ClearCache": ({}, {"status": "Accepted"}),
    "UnlockConnector": ({"connectorId": 1}, {"status": "Unlocked"}),
    "DataTransfer": ({"vendorId": "com.example", "messageId": "ping", "data": "x"}, {"status": "Accepted", "data": "pong"}),
    "TriggerMessage": ({"requestedMessage": "Heartbeat"}, {"status": "Accepted"}),
    "GetDiagnostics": ({"location": "ftp://diag.example/upload"}, {"fileName": "diag.zip"}),
    "UpdateFirmware": ({"location": "https://fw.example/f.bin", "retrieveDate": T0}, {}),
    "GetLocalListVersion": ({}, {"listVersion": 3}),
    "SendLocalList": ({"listVersion": 4, "updateType": "Full"}, {"status": "NotSupported"}),
    "ReserveNow": (
        {"connectorId": 1, "expiryDate": FUTURE, "idTag": "TAG-1", "reservationId": 501},
        {"status": "Occupied"},
    ),
    "CancelReservation": ({"reservationId": 999}, {"status": "Rejected"}),
    "SetChargingProfile": ({"connectorId": 1, "csChargingProfiles": PROFILE}, {"status": "Rejected"}),
    "ClearChargingProfile": ({"id": 77}, {"status": "Unknown"}),
    "GetCompositeSchedule": (
        {"connectorId": 1, "duration": 3600},
        {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": T0,
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]},
        },
    ),
    "ExtendedTriggerMessage": ({"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"}),
    "GetLog": (
        {"logType": "DiagnosticsLog", "requestId": 7, "log": {"remoteLocation": "https://logs.example/up"}},
        {"status": "Accepted", "filename": "log.txt"},
    ),
    "SignedUpdateFirmware": (
        {"requestId": 8, "firmware": {"location": "https://fw.example/f.bin", "retrieveDateTime": T0,
                                      "signingCertificate": CERT, "signature": "c2lnbmF0dXJl"}},
        {"status": "Accepted"},
    ),
    "InstallCertificate": ({"certificateType": "ManufacturerRootCertificate", "certificate": CERT}, {"status": "Accepted"}),
    "GetInstalledCertificateIds": ({"certificateType": "CentralSystemRootCertificate"}, {"status": "NotFound"}),
    "DeleteCertificate": (
        {"certificateHashData": {"hashAlgorithm": "SHA256", "issuerNameHash": "aa", "issuerKeyHash": "bb", "serialNumber": "01"}},
        {"status": "NotFound"},
    ),
    "CertificateSigned": ({"certificateChain": CERT}, {"status": "Accepted"}),
}


def test_the_table_covers_every_central_system_action() -> None:
    from voltline.ocpp.v16.outbound import CENTRAL_SYSTEM_ACTIONS

    assert set(EVERY_COMMAND) == set(CENTRAL_SYSTEM_ACTIONS)
    assert len(CENTRAL_SYSTEM_ACTIONS) == 26


async def test_every_command_reaches_the_charge_point_and_returns_its_answer(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-ALL")
    for action, (payload, answer) in EVERY_COMMAND.items():
        response, call = await command(api, cp, "CP-ALL", action, payload, answer)
        assert response.status_code == 200, (action, response.text)
        assert response.json() == answer, action
        assert call[3] == payload, action

    # Each went through the message log, both ways.
    async def logged() -> set[str]:
        page = (await api.get("/api/v1/messages", params={"charge_point_id": "CP-ALL", "direction": "out",
                                                          "message_type": 2, "limit": 100})).json()
        return {m["action"] for m in page["items"]} if len(page["items"]) >= len(EVERY_COMMAND) else set()

    assert await eventually(logged) == set(EVERY_COMMAND)
    answers = (await api.get("/api/v1/messages", params={"charge_point_id": "CP-ALL", "direction": "in",
                                                         "action": "Reset"})).json()["items"]
    assert answers and answers[0]["message_type"] == 3
    assert json.loads(answers[0]["payload"])[2] == {"status": "Accepted"}


async def test_every_command_to_an_offline_charge_point_is_refused_at_once(server, api) -> None:  # type: ignore[no-untyped-def]
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-OFF"})).status_code == 201
    for action, (payload, _) in EVERY_COMMAND.items():
        response = await api.post(f"/api/v1/charge-points/CP-OFF/commands/{action}", json=payload)
        assert response.status_code == 409, (action, response.text)
        assert response.json()["error"]["code"] == "charge_point_offline"
    for path, body in (("remote-start", {"id_tag": "X", "check_tag": False}), ("reset", {}), ("local-list/sync", {})):
        response = await api.post(f"/api/v1/charge-points/CP-OFF/{path}", json=body)
        assert response.status_code == 409, (path, response.text)
    response = await api.post(
        "/api/v1/reservations", json={"charge_point_id": "CP-OFF", "connector_id": 1, "id_tag": "X", "expiry_date": FUTURE}
    )
    assert response.status_code == 409
    assert (await api.get("/api/v1/reservations")).json()["total"] == 0
    assert (await api.get("/api/v1/remote-starts", params={"status": "Requested"})).json()["total"] == 0


async def test_unknown_charge_point_or_action_and_bad_payloads(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-BAD")
    response = await api.post("/api/v1/charge-points/NOBODY/commands/Reset", json={"type": "Soft"})
    assert response.status_code == 404
    response = await api.post("/api/v1/charge-points/CP-BAD/commands/BootNotification", json={})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_action"
    response = await api.post("/api/v1/charge-points/CP-BAD/commands/MakeCoffee", json={})
    assert response.status_code == 404
    # Our request breaks the OCPP schema: nothing is sent.
    response = await api.post("/api/v1/charge-points/CP-BAD/commands/Reset", json={"type": "Gentle"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_ocpp_request"
    assert "type" in response.json()["error"]["message"]
    response = await api.post("/api/v1/charge-points/CP-BAD/commands/ChangeAvailability", json={"connectorId": 1})
    assert response.status_code == 400
    response = await api.post("/api/v1/charge-points/CP-BAD/reset", json={"type": "Gentle"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "type"
    assert cp.server_calls.empty()


async def test_callerror_from_the_charge_point_is_a_502_with_its_code(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-ERR")
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-ERR/commands/ClearCache", json={}))
    call = await cp.next_server_call()
    await cp.ws.send(json.dumps([4, call[1], "NotImplemented", "no cache here", {"hint": "none"}]))
    response = await request
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "call_error"
    assert error["details"]["ocpp_error_code"] == "NotImplemented"
    assert error["details"]["ocpp_error_description"] == "no cache here"
    # An answer that breaks the schema is the charge point's fault too.
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-ERR/reset", json={"type": "Hard"}))
    await answer_next(cp, {"status": "Maybe"}, "Reset")
    response = await request
    assert response.status_code == 502
    assert response.json()["error"]["details"]["ocpp_error_code"] == "PropertyConstraintViolation"


async def test_a_charge_point_that_does_not_answer_in_time_is_a_504(start_server, database_url) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.ocpp_client import OcppClient

    server = await start_server(call_timeout=0.5)
    _, token = await server.services.tokens.create("t")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}",
                                 headers={"Authorization": f"Bearer {token}"}) as api:
        async def connect(identity: str, password: str | None = None) -> OcppClient:
            return await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}")

        cp = await online(api, connect, "CP-SLOW")
        try:
            response = await api.post("/api/v1/charge-points/CP-SLOW/commands/ClearCache", json={})
            assert response.status_code == 504
            assert response.json()["error"]["code"] == "timeout"
            late = await cp.next_server_call()
            await cp.answer(late, {"status": "Accepted"})  # too late: ignored

            response = await api.post("/api/v1/charge-points/CP-SLOW/reset", json={"type": "Soft"})
            assert response.status_code == 504
            await cp.next_server_call()

            # A per-call timeout overrides the server's.
            response = await api.post("/api/v1/charge-points/CP-SLOW/commands/UnlockConnector",
                                      json={"connectorId": 1}, params={"timeout": 0.2})
            assert response.status_code == 504
            await cp.next_server_call()

            # The connection still works afterwards.
            response, _ = await command(api, cp, "CP-SLOW", "Reset", {"type": "Hard"}, {"status": "Accepted"}, timeout=10)
            assert response.status_code == 200 and response.json() == {"status": "Accepted"}
            # A remote start that timed out is kept as Failed.
            response = await api.post("/api/v1/charge-points/CP-SLOW/remote-start",
                                      json={"id_tag": "ANY", "check_tag": False, "connector_id": 1})
            assert response.status_code == 504
            starts = (await api.get("/api/v1/remote-starts", params={"charge_point_id": "CP-SLOW"})).json()["items"]
            assert [s["status"] for s in starts] == ["Failed"]
        finally:
            await cp.close()


async def test_two_commands_to_one_charge_point_both_succeed_one_after_the_other(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-TWO")
    first = asyncio.create_task(api.post("/api/v1/charge-points/CP-TWO/commands/ClearCache", json={}))
    second = asyncio.create_task(api.post("/api/v1/charge-points/CP-TWO/reset", json={"type": "Soft"}))
    call_1 = await cp.next_server_call()
    # One outstanding CALL: the second waits until the first is answered.
    await asyncio.sleep(0.2)
    assert cp.server_calls.empty()
    await cp.answer(call_1, {"status": "Accepted"})
    call_2 = await cp.next_server_call()
    assert {call_1[2], call_2[2]} == {"ClearCache", "Reset"}
    await cp.answer(call_2, {"status": "Rejected"})
    results = {call_1[2]: "Accepted", call_2[2]: "Rejected"}
    assert (await first).json() == {"status": results["ClearCache"]}
    assert (await second).json() == {"status": results["Reset"]}


async def test_a_disconnect_while_waiting_for_the_answer_is_a_409(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-GONE")
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-GONE/commands/ClearCache", json={}))
    await cp.next_server_call()
    cp.abort()
    response = await request
    assert response.status_code == 409


@pytest.mark.parametrize("answer", ["Accepted", "Rejected"])
async def test_reset_shortcut(server, api, connect, answer) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-RESET")
    request = asyncio.create_task(api.post("/api/v1/charge-points/CP-RESET/reset", json={"type": "Hard"}))
    call = await answer_next(cp, {"status": answer}, "Reset")
    assert call[3] == {"type": "Hard"}
    assert (await request).json() == {"status": answer}
