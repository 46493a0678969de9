"""Every CS→CP message of the 2.0.1 Core profile sent from the API to a 2.0.1 station (the `ocpp`
package's v201.ChargePoint over a real WebSocket): the station's answer as the 200 body, the
domain effects 1.6 has, the friendly endpoints in 2.0.1's words, and what is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ocpp.v201 import call

from tests.commands.station201 import command, station
from tests.commands.support import T0, answer_next, online
from voltline.ocpp.versions import OCPP_201
from voltline.store import tables as t

FUTURE = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "aa" * 32, "issuerKeyHash": "bb" * 32, "serialNumber": "1f"}
TOKEN = {"idToken": "TAG-1", "type": "ISO14443"}
PROFILE = {
    "id": 10, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
    "chargingSchedule": [{"id": 10, "chargingRateUnit": "A", "startSchedule": T0,
                          "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}],
}

# action → (request payload, the station's answer)
EVERY_COMMAND: dict[str, tuple[dict, dict]] = {
    "RequestStartTransaction": ({"remoteStartId": 900, "idToken": TOKEN, "evseId": 1}, {"status": "Rejected"}),
    "RequestStopTransaction": ({"transactionId": "tx-unknown"}, {"status": "Rejected"}),
    "Reset": ({"type": "OnIdle", "evseId": 1}, {"status": "Scheduled"}),
    "ChangeAvailability": ({"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 1}},
                           {"status": "Scheduled", "statusInfo": {"reasonCode": "TxInProgress"}}),
    "UnlockConnector": ({"evseId": 1, "connectorId": 1}, {"status": "Unlocked"}),
    "TriggerMessage": ({"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
                       {"status": "Accepted"}),
    "ClearCache": ({}, {"status": "Accepted"}),
    "SetNetworkProfile": (
        {"configurationSlot": 1, "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms.example/ocpp",
            "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}},
        {"status": "Accepted"},
    ),
    "UpdateFirmware": ({"requestId": 5, "firmware": {"location": "https://fw.example/f.bin", "retrieveDateTime": T0}},
                       {"status": "Accepted"}),
    "GetLog": ({"logType": "DiagnosticsLog", "requestId": 7, "log": {"remoteLocation": "https://logs.example/up"}},
               {"status": "Accepted", "filename": "log.txt"}),
    "CustomerInformation": ({"requestId": 3, "report": True, "clear": False, "idToken": TOKEN}, {"status": "Accepted"}),
    "InstallCertificate": ({"certificateType": "CSMSRootCertificate", "certificate": CERT}, {"status": "Rejected"}),
    "GetInstalledCertificateIds": (
        {"certificateType": ["CSMSRootCertificate"]},
        {"status": "Accepted", "certificateHashDataChain": [{"certificateType": "CSMSRootCertificate",
                                                             "certificateHashData": HASH}]},
    ),
    "DeleteCertificate": ({"certificateHashData": {**HASH, "serialNumber": "02"}}, {"status": "NotFound"}),
    "DataTransfer": ({"vendorId": "com.example", "messageId": "ping", "data": "x"}, {"status": "Accepted", "data": "pong"}),
    "SetChargingProfile": ({"evseId": 1, "chargingProfile": PROFILE}, {"status": "Accepted"}),
    "ClearChargingProfile": ({"chargingProfileId": 77}, {"status": "Unknown"}),
    "ReserveNow": ({"id": 501, "expiryDateTime": FUTURE, "idToken": TOKEN, "evseId": 1}, {"status": "Accepted"}),
    "CancelReservation": ({"reservationId": 999}, {"status": "Rejected"}),
    "SendLocalList": ({"versionNumber": 4, "updateType": "Full",
                       "localAuthorizationList": [{"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}}]},
                      {"status": "Failed"}),
    "GetLocalListVersion": ({}, {"versionNumber": 3}),
}


async def register(api, identity: str, **fields) -> None:  # type: ignore[no-untyped-def]
    response = await api.post("/api/v1/charge-points", json={"id": identity, **fields})
    assert response.status_code == 201, response.text


def test_the_table_covers_the_core_messages_voltline_gives_a_meaning() -> None:
    from voltline.ocpp.v201.remote_control import READERS

    assert set(READERS) - {"CertificateSigned"} <= set(EVERY_COMMAND)
    assert set(EVERY_COMMAND) <= set(OCPP_201.actions)


async def test_every_command_reaches_the_station_and_returns_its_answer_exactly(server, api) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-ALL")
    async with station(server, "CS-ALL") as cs:
        assert await cs.boot() == "Accepted"
        for action, (payload, answer) in EVERY_COMMAND.items():
            response, received = await command(api, cs, action, payload, answer)
            assert response.status_code == 200, (action, response.text)
            assert response.json() == answer, action
            assert received == payload, action

    # The domain effects 1.6 has, from the same requests in 2.0.1's words.
    reservations = (await api.get("/api/v1/reservations", params={"charge_point_id": "CS-ALL"})).json()["items"]
    assert [(r["id"], r["status"], r["connector_id"], r["id_tag"]) for r in reservations] == [(501, "Reserved", 1, "TAG-1")]
    profiles = (await api.get("/api/v1/charging-profiles", params={"charge_point_id": "CS-ALL"})).json()["items"]
    assert [(p["charging_profile_id"], p["status"]) for p in profiles] == [(10, "Active")]
    installed = (await api.get("/api/v1/charge-points/CS-ALL/installed-certificates")).json()["items"]
    assert [(c["certificate_type"], c["serial_number"]) for c in installed] == [("CentralSystemRootCertificate", "1f")]
    firmware = (await api.get("/api/v1/charge-points/CS-ALL/events", params={"kind": "firmware"})).json()["items"]
    assert [(e["status"], e["request_id"]) for e in firmware] == [("Requested", 5)]
    logs = (await api.get("/api/v1/charge-points/CS-ALL/events", params={"kind": "log"})).json()["items"]
    assert [(e["status"], e["request_id"]) for e in logs] == [("Requested", 7)]
    assert (await api.get("/api/v1/charge-points/CS-ALL")).json()["local_list_version"] == 3
    started = (await api.get("/api/v1/remote-starts", params={"charge_point_id": "CS-ALL"})).json()["items"]
    assert [(s["id_tag"], s["status"]) for s in started] == [("TAG-1", "Rejected")]


async def test_only_the_stations_own_version_is_taken_and_its_schema_names_the_field(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-BAD")
    old = await online(api, connect, "CP-OLD")
    async with station(server, "CS-BAD") as cs:
        assert await cs.boot() == "Accepted"
        for action, payload in (("RemoteStartTransaction", {"idTag": "TAG-1"}), ("GetConfiguration", {}),
                                ("Reset", {"type": "Hard"})):
            response = await api.post(f"/api/v1/charge-points/CS-BAD/commands/{action}", json=payload)
            assert response.status_code == 400, (action, response.text)
        refused = await api.post("/api/v1/charge-points/CS-BAD/commands/RemoteStartTransaction", json={"idTag": "X"})
        assert refused.json()["error"]["code"] == "action_not_in_version"
        assert "2.0.1" in refused.json()["error"]["message"]
        # 2.0.1's schema: the field that breaks it is named.
        broken = await api.post("/api/v1/charge-points/CS-BAD/commands/Reset", json={"type": "Hard"})
        assert broken.json()["error"]["code"] == "invalid_ocpp_request"
        assert "type" in broken.json()["error"]["message"] and "2.0.1" in broken.json()["error"]["message"]
        broken = await api.post("/api/v1/charge-points/CS-BAD/commands/ChangeAvailability",
                                json={"operationalStatus": "Inoperative", "evse": {"connectorId": 1}})
        assert broken.status_code == 400 and "evse" in broken.json()["error"]["message"], broken.text
        assert (await api.post("/api/v1/charge-points/CS-BAD/commands/MakeCoffee", json={})).status_code == 404
        assert cs.received.empty()  # nothing refused was sent

    # And the other way round: a 2.0.1 action to a 1.6 charge point.
    refused = await api.post("/api/v1/charge-points/CP-OLD/commands/RequestStartTransaction",
                             json={"remoteStartId": 1, "idToken": TOKEN})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "action_not_in_version", refused.text
    assert "1.6" in refused.json()["error"]["message"]
    assert old.server_calls.empty()


async def test_friendly_endpoints_speak_201(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-EASY")
    old = await online(api, connect, "CP-EASY")
    async with station(server, "CS-EASY") as cs:
        assert await cs.boot() == "Accepted"
        response, received = await command(api, cs, "Reset", {"type": "Immediate", "evse_id": 2}, {"status": "Scheduled"},
                                           path="reset")
        assert (received, response.json()) == ({"type": "Immediate", "evseId": 2}, {"status": "Scheduled"})
        # 1.6's words, as their nearest in 2.0.1.
        response, received = await command(api, cs, "Reset", {"type": "Soft"}, {"status": "Accepted"}, path="reset")
        assert (received, response.json()) == ({"type": "OnIdle"}, {"status": "Accepted"})

        # remote-stop takes Voltline's id; the station is asked by its own.
        rows = await server.store.commit_one(t.transactions.insert().values(
            charge_point_id="CS-EASY", connector_id=1, evse_id=1, ocpp_transaction_id="b2c1-77", id_tag="TAG-1",
            id_tag_status="Accepted", meter_start=0, started_at=datetime.now(UTC),
        ).returning(t.transactions.c.id))
        transaction_id = rows[0].id
        response, received = await command(api, cs, "RequestStopTransaction", {"transaction_id": transaction_id},
                                           {"status": "Accepted"}, path="remote-stop")
        assert received == {"transactionId": "b2c1-77"}
        assert response.status_code == 200 and response.json() == {"status": "Accepted"}

        # A reservation and the local list name each token with its type.
        await api.post("/api/v1/id-tags", json={"id_tag": "CARD-9", "token_type": "ISO15693"})
        cs.will_answer("ReserveNow", {"status": "Accepted"})
        reserving = asyncio.create_task(api.post("/api/v1/reservations", json={
            "charge_point_id": "CS-EASY", "connector_id": 2, "id_tag": "CARD-9", "expiry_date": FUTURE}))
        received = await cs.next_request("ReserveNow")
        reservation = (await reserving).json()["reservation"]
        assert received == {"id": reservation["id"], "expiryDateTime": received["expiryDateTime"],
                            "idToken": {"idToken": "CARD-9", "type": "ISO15693"}, "evseId": 2}
        response, received = await command(api, cs, "SendLocalList", {}, {"status": "Accepted"}, path="local-list/sync")
        assert response.json()["status"] == "Accepted"
        assert received["updateType"] == "Full" and received["localAuthorizationList"] == [
            {"idToken": {"idToken": "CARD-9", "type": "ISO15693"}, "idTokenInfo": {"status": "Accepted"}}]

    # A 1.6 charge point resets whole: an EVSE's reset is not sent to it.
    refused = await api.post("/api/v1/charge-points/CP-EASY/reset", json={"type": "Hard", "evse_id": 1})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "not_in_this_version", refused.text
    reset = asyncio.create_task(api.post("/api/v1/charge-points/CP-EASY/reset", json={"type": "Immediate"}))
    assert (await answer_next(old, {"status": "Accepted"}, "Reset"))[3] == {"type": "Hard"}
    assert (await reset).json() == {"status": "Accepted"}


async def test_remote_start_carries_the_remote_start_id_and_the_tokens_type(server, api) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-RS")
    response = await api.post("/api/v1/id-tags", json={"id_tag": "EMAID-1", "token_type": "eMAID"})
    assert response.status_code == 201, response.text
    async with station(server, "CS-RS") as cs:
        assert await cs.boot() == "Accepted"
        response, received = await command(api, cs, "RequestStartTransaction", {"id_tag": "EMAID-1", "evse_id": 2},
                                           {"status": "Accepted"}, path="remote-start")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "Accepted" and body["transaction_id"] is None
        assert body["remote_start"]["status"] == "Accepted"
        assert received == {"remoteStartId": body["remote_start"]["id"], "idToken": {"idToken": "EMAID-1", "type": "eMAID"},
                            "evseId": 2}
        stored = (await api.get(f"/api/v1/remote-starts/{body['remote_start']['id']}")).json()
        assert stored["status"] == "Accepted" and stored["id_tag"] == "EMAID-1"

        # With a TxProfile: 2.0.1's shape, its schedules a list.
        profile = {"charging_profile_id": 31, "stack_level": 1, "charging_profile_purpose": "TxProfile",
                   "charging_profile_kind": "Relative",
                   "charging_schedule": {"charging_rate_unit": "W",
                                         "charging_schedule_period": [{"start_period": 0, "limit": 7400.0}]}}
        response, received = await command(
            api, cs, "RequestStartTransaction", {"id_tag": "EMAID-1", "connector_id": 1, "charging_profile": profile},
            {"status": "Rejected"}, path="remote-start")
        assert response.json()["status"] == "Rejected"
        assert received["evseId"] == 1
        assert received["chargingProfile"] == {
            "id": 31, "stackLevel": 1, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 31, "chargingRateUnit": "W",
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}],
        }
        rejected = (await api.get(f"/api/v1/remote-starts/{response.json()['remote_start']['id']}")).json()
        assert rejected["status"] == "Rejected"


async def test_remote_start_answers_with_the_transaction_the_station_starts(server, api) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-WAIT")
    await api.post("/api/v1/id-tags", json={"id_tag": "DRIVER-1"})
    async with station(server, "CS-WAIT") as cs:
        assert await cs.boot() == "Accepted"
        cs.will_answer("RequestStartTransaction", {"status": "Accepted"})
        start = asyncio.create_task(api.post("/api/v1/charge-points/CS-WAIT/remote-start",
                                             json={"id_tag": "DRIVER-1", "evse_id": 1, "wait": True, "wait_timeout": 10}))
        received = await cs.next_request("RequestStartTransaction")
        await cs.call(call.TransactionEvent(
            event_type="Started", timestamp=T0, trigger_reason="RemoteStart", seq_no=0,
            transaction_info={"transaction_id": "tx-201-1", "remote_start_id": received["remoteStartId"]},
            id_token={"id_token": "DRIVER-1", "type": "ISO14443"}, evse={"id": 1, "connector_id": 1},
        ))
        response = await start
        assert response.status_code == 200, response.text
        body = response.json()
        transactions = (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": "tx-201-1"})).json()["items"]
        assert body["transaction_id"] == transactions[0]["id"]
        assert body["remote_start"]["status"] == "Started"


async def test_a_trigger_lets_a_pending_station_send_what_was_asked_once(server, api) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-PEND", registration_status="Pending")
    async with station(server, "CS-PEND") as cs:
        assert await cs.boot() == "Pending"
        assert await cs.call(call.Heartbeat()) is None  # refused with a CALLERROR: not Accepted
        response, _ = await command(api, cs, "TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
        assert response.json() == {"status": "Accepted"}
        answered = await cs.call(call.Heartbeat())
        assert answered is not None and answered.current_time
        assert await cs.call(call.Heartbeat()) is None  # once only

        # A trigger the station rejects lets nothing through.
        await command(api, cs, "TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Rejected"})
        assert await cs.call(call.Heartbeat()) is None


async def test_remote_start_picks_a_free_evse_of_a_201_station(server, api) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CS-PICK")
    await api.post("/api/v1/id-tags", json={"id_tag": "DRIVER-2"})
    # As the station reported them: connector 1 of EVSE 1 is charging (it still says Available),
    # EVSE 2's connector 1 is free. Both are connector 1: only the EVSE tells them apart.
    for evse_id in (1, 2):
        await server.store.commit_one(t.connectors.insert().values(
            charge_point_id="CS-PICK", evse_id=evse_id, connector_id=1, status="Available"))
    await server.store.commit_one(t.transactions.insert().values(
        charge_point_id="CS-PICK", connector_id=1, evse_id=1, ocpp_transaction_id="busy-1", id_tag="SOMEONE",
        id_tag_status="Accepted", meter_start=0, started_at=datetime.now(UTC)))
    async with station(server, "CS-PICK") as cs:
        assert await cs.boot() == "Accepted"
        response, received = await command(api, cs, "RequestStartTransaction", {"id_tag": "DRIVER-2"},
                                           {"status": "Accepted"}, path="remote-start")
        assert response.status_code == 200, response.text
        assert received["evseId"] == 2


async def test_a_request_start_written_by_hand_is_a_remote_start_linked_to_its_transaction(server, api) -> None:  # type: ignore[no-untyped-def]
    """RequestStartTransaction through commands/ goes out as written, with the operator's
    remoteStartId, and is recorded as a remote start: the TransactionEvent naming that id is
    linked to it, so the operator finds the transaction it started. A Voltline-numbered remote
    start whose own id is the same number is not taken for it."""
    await register(api, "CS-HAND")
    await api.post("/api/v1/id-tags", json={"id_tag": "DRIVER-3"})
    async with station(server, "CS-HAND") as cs:
        assert await cs.boot() == "Accepted"
        response, received = await command(api, cs, "RequestStartTransaction", {"id_tag": "DRIVER-3", "evse_id": 1},
                                           {"status": "Rejected"}, path="remote-start")
        ours = response.json()["remote_start"]["id"]
        wire_id = ours + 1000
        payload = {"remoteStartId": wire_id, "idToken": {"idToken": "DRIVER-3", "type": "ISO14443"}, "evseId": 2}
        response, received = await command(api, cs, "RequestStartTransaction", payload, {"status": "Accepted"})
        assert response.json() == {"status": "Accepted"} and received == payload  # sent exactly as written
        listed = (await api.get("/api/v1/remote-starts", params={"charge_point_id": "CS-HAND",
                                                                 "ocpp_remote_start_id": wire_id})).json()["items"]
        assert [(r["status"], r["id_tag"], r["transaction_id"]) for r in listed] == [("Accepted", "DRIVER-3", None)]
        record = listed[0]["id"]

        await cs.call(call.TransactionEvent(
            event_type="Started", timestamp=T0, trigger_reason="RemoteStart", seq_no=0,
            transaction_info={"transaction_id": "tx-hand-1", "remote_start_id": wire_id},
            id_token={"id_token": "DRIVER-3", "type": "ISO14443"}, evse={"id": 2, "connector_id": 1},
        ))
        (tx,) = (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": "tx-hand-1"})).json()["items"]
        assert tx["remote_start_id"] == record
        linked = (await api.get(f"/api/v1/remote-starts/{record}")).json()
        assert (linked["status"], linked["transaction_id"], linked["ocpp_remote_start_id"]) == ("Started", tx["id"], wire_id)
        # Voltline's own remote start went out with its id, and stays apart.
        mine = (await api.get(f"/api/v1/remote-starts/{ours}")).json()
        assert (mine["status"], mine["transaction_id"], mine["ocpp_remote_start_id"]) == ("Rejected", None, ours)

        # A station naming a remoteStartId nobody sent links nothing.
        await cs.call(call.TransactionEvent(
            event_type="Started", timestamp=T0, trigger_reason="RemoteStart", seq_no=0,
            transaction_info={"transaction_id": "tx-hand-2", "remote_start_id": wire_id + 1},
            id_token={"id_token": "DRIVER-3", "type": "ISO14443"}, evse={"id": 1, "connector_id": 1},
        ))
        (other,) = (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": "tx-hand-2"})).json()["items"]
        assert other["remote_start_id"] is None
