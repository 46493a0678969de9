"""2.0.1 charge points on the same endpoint as 1.6 ones: the subprotocol chosen by the charge point's
own order of preference, `ocpp_version` shown per charge point, and the CALLERRORs a 2.0.1 peer
gets for broken frames and payloads spelled as 2.0.1 spells them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from ocpp.v201 import call

from tests.integration.sim_fixtures import eventually
from tests.ocpp_client import OcppClient
from tests.v201.conftest import OCPP201, RAW_BOOT, ConnectStation, boot_request
from voltline.app import Voltline


async def _version(api: httpx.AsyncClient, identity: str) -> Any:
    return (await api.get(f"/api/v1/charge-points/{identity}")).json()["ocpp_version"]


async def test_the_charge_points_first_supported_subprotocol_wins(
    server: Voltline, api: httpx.AsyncClient, connect: Any
) -> None:
    for identity in ("CS-NEW", "CP-OLD"):
        await server.services.charge_points.register(identity)
    new: OcppClient = await connect("CS-NEW", subprotocols=["ocpp2.0.1", "ocpp1.6"])
    old: OcppClient = await connect("CP-OLD", subprotocols=["ocpp1.6", "ocpp2.0.1"])
    assert new.ws.subprotocol == "ocpp2.0.1" and old.ws.subprotocol == "ocpp1.6"
    # Each is served by its own version: a 2.0.1 boot on one, a 1.6 boot on the other.
    assert (await new.ok("BootNotification", RAW_BOOT))["status"] == "Accepted"
    assert (await old.boot())["status"] == "Accepted"
    assert (await old.call("BootNotification", RAW_BOOT))[2] == "OccurenceConstraintViolation"
    await eventually(lambda: _is(api, "CS-NEW", "2.0.1"), "the 2.0.1 connection recorded")
    assert await _version(api, "CS-NEW") == "2.0.1"
    assert await _version(api, "CP-OLD") == "1.6"

    # The version of the last connection stays shown after it closed, and changes with the next.
    await new.close()
    await eventually(lambda: not server.gateway.is_connected("CS-NEW"), "CS-NEW gone")
    assert await _version(api, "CS-NEW") == "2.0.1"
    again: OcppClient = await connect("CS-NEW", subprotocols=["ocpp1.6"])
    assert again.ws.subprotocol == "ocpp1.6"
    await again.boot()
    await eventually(lambda: _is(api, "CS-NEW", "1.6"), "the version of the new connection")


async def _is(api: httpx.AsyncClient, identity: str, version: str) -> bool:
    return await _version(api, identity) == version


async def test_a_16_and_a_201_charge_point_connected_at_the_same_time(
    server: Voltline, api: httpx.AsyncClient, connect: Any, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CP-16")
    await server.services.charge_points.register("CS-201")
    old: OcppClient = await connect("CP-16")
    new = await station("CS-201")
    assert (await old.boot(vendor="Old", model="One"))["status"] == "Accepted"
    assert (await new.call(boot_request())).status == "Accepted"
    await old.ok("StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
    await new.call(call.StatusNotification(
        timestamp="2026-12-02T05:00:00Z", connector_status="Occupied", evse_id=1, connector_id=1
    ))
    await old.ok("Heartbeat", {})
    await new.call(call.Heartbeat())

    listed = (await api.get("/api/v1/charge-points")).json()["items"]
    by_id = {cp["id"]: cp for cp in listed}
    assert by_id["CP-16"]["ocpp_version"] == "1.6" and by_id["CS-201"]["ocpp_version"] == "2.0.1"
    assert by_id["CP-16"]["connected"] and by_id["CS-201"]["connected"]
    assert [(c["evse_id"], c["connector_id"], c["status"]) for c in by_id["CP-16"]["connectors"]] == [
        (None, 1, "Charging")]
    assert [(c["evse_id"], c["connector_id"], c["status"]) for c in by_id["CS-201"]["connectors"]] == [
        (1, 1, "Occupied")]
    assert by_id["CP-16"]["last_heartbeat_at"] and by_id["CS-201"]["last_heartbeat_at"]


# Frames and payloads a 2.0.1 station gets wrong, and the code 2.0.1 spells for each (OCPP-J 2.0.1
# §4.3: FormatViolation, OccurrenceConstraintViolation, MessageTypeNotSupported), beside 1.6's
# spelling for a 1.6 peer.
BROKEN_FRAMES = [
    ("not json", "FormatViolation", "FormationViolation"),
    ('[2, "m1", "Heartbeat"]', "FormatViolation", "FormationViolation"),
    ('[2, "m1", "Heartbeat", []]', "FormatViolation", "FormationViolation"),
    ('[9, "m1", "Heartbeat", {}]', "MessageTypeNotSupported", "ProtocolError"),
]


@pytest.mark.parametrize(("frame", "code201", "code16"), BROKEN_FRAMES)
async def test_a_broken_frame_is_answered_in_the_peers_own_spelling(
    server: Voltline, connect: Any, frame: str, code201: str, code16: str
) -> None:
    await server.services.charge_points.register("CS-1")
    await server.services.charge_points.register("CP-1")
    new: OcppClient = await connect("CS-1", subprotocols=[OCPP201])
    old: OcppClient = await connect("CP-1")
    await new.send_raw(frame)
    await old.send_raw(frame)
    assert (await new.receive())[2] == code201
    assert (await old.receive())[2] == code16
    # The connection goes on.
    assert (await new.call("Heartbeat", {}))[0] == 3


SCHEMA_VIOLATIONS = [
    # A required property missing.
    ("BootNotification", {"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
    ("StatusNotification", {"timestamp": "2026-12-02T05:00:00Z", "connectorStatus": "Available", "evseId": 1},
     "OccurrenceConstraintViolation"),
    # A property the schema does not have.
    ("Heartbeat", {"beat": 1}, "FormatViolation"),
    # A value of the wrong type, and one outside its enumeration.
    ("StatusNotification", {"timestamp": "2026-12-02T05:00:00Z", "connectorStatus": "Available", "evseId": "one",
                            "connectorId": 1}, "TypeConstraintViolation"),
    ("StatusNotification", {"timestamp": "2026-12-02T05:00:00Z", "connectorStatus": "Charging", "evseId": 1,
                            "connectorId": 1}, "PropertyConstraintViolation"),
    # A 1.6 payload is no 2.0.1 payload.
    ("Authorize", {"idTag": "ABC"}, "FormatViolation"),
]


@pytest.mark.parametrize(("action", "payload", "code"), SCHEMA_VIOLATIONS)
async def test_a_payload_breaking_the_201_schema_is_answered_with_201s_code(
    server: Voltline, api: httpx.AsyncClient, raw201: Any, action: str, payload: dict[str, Any], code: str
) -> None:
    await server.services.charge_points.register("CS-1")
    client: OcppClient = await raw201("CS-1")
    answer = await client.call(action, payload)
    assert answer[0] == 4 and answer[2] == code, answer
    # The message log keeps the code as it was sent.
    flushed = server.services.message_log.flush()
    if flushed is not None:
        await flushed
    logged = (await api.get("/api/v1/messages", params={"charge_point_id": "CS-1", "message_type": 4})).json()
    assert [m["error_code"] for m in logged["items"] if m["direction"] == "out"] == [code], logged


async def test_an_answer_breaking_the_201_schema_is_reported_with_201s_code(
    server: Voltline, api: httpx.AsyncClient, raw201: Any
) -> None:
    await server.services.charge_points.register("CS-1")
    client: OcppClient = await raw201("CS-1")
    await client.ok("BootNotification", RAW_BOOT)
    # A first boot brings the request for the full inventory; answered, the station is free.
    inventory = await client.next_server_call()
    assert inventory[2] == "GetBaseReport"
    await client.send_raw(json.dumps([3, inventory[1], {"status": "Accepted"}]))
    sent = asyncio.create_task(api.post("/api/v1/charge-points/CS-1/commands/ClearCache", json={}))
    request = await client.next_server_call()
    assert request[2:] == ["ClearCache", {}]
    await client.send_raw(json.dumps([3, request[1], {"status": "Accepted", "colour": "green"}]))
    response = await sent
    assert response.status_code == 502, response.text
    assert response.json()["error"]["details"]["ocpp_error_code"] == "FormatViolation", response.text


async def test_messages_without_a_handler_get_a_defined_answer(server: Voltline, raw201: Any, caplog: Any) -> None:
    await server.services.charge_points.register("CS-1")
    client: OcppClient = await raw201("CS-1")
    await client.ok("BootNotification", RAW_BOOT)
    caplog.set_level("INFO", logger="voltline.ocpp.rpc")
    # A 2.0.1 message outside the Core profile, valid by its schema: not supported here, said so.
    outside_core = await client.call(
        "ReservationStatusUpdate", {"reservationId": 4, "reservationUpdateStatus": "Expired"}
    )
    assert outside_core[0] == 4 and outside_core[2] == "NotSupported", outside_core
    # A message the Central System sends, sent by the station; and one 2.0.1 does not have.
    assert (await client.call("RequestStartTransaction", {}))[2] == "NotSupported"
    assert (await client.call("StartTransaction", {}))[2] == "NotImplemented"
    assert "ReservationStatusUpdate from CS-1 answered NotSupported" in caplog.text
    assert (await client.call("Heartbeat", {}))[0] == 3


async def test_a_charge_point_that_moves_from_16_to_201_shows_its_connectors_by_evse_only(
    server: Voltline, api: httpx.AsyncClient, connect: Any
) -> None:
    await server.services.charge_points.register("CP-UP")
    old: OcppClient = await connect("CP-UP")
    await old.boot()
    for connector in (1, 2):
        await old.ok("StatusNotification", {"connectorId": connector, "status": "Available", "errorCode": "NoError"})
    await old.close()
    await eventually(lambda: not server.gateway.is_connected("CP-UP"), "the 1.6 connection gone")

    # After a firmware update it speaks 2.0.1; until it reports, what 1.6 reported is all there is.
    new: OcppClient = await connect("CP-UP", subprotocols=[OCPP201])
    await new.ok("BootNotification", RAW_BOOT)
    await eventually(lambda: _is(api, "CP-UP", "2.0.1"), "the 2.0.1 connection recorded")
    before = (await api.get("/api/v1/charge-points/CP-UP")).json()["connectors"]
    assert [(c["evse_id"], c["connector_id"]) for c in before] == [(None, 1), (None, 2)]
    await new.ok("StatusNotification", {"timestamp": "2026-12-02T05:00:00Z", "connectorStatus": "Occupied",
                                        "evseId": 1, "connectorId": 1})
    after = (await api.get("/api/v1/charge-points/CP-UP")).json()["connectors"]
    assert [(c["evse_id"], c["connector_id"], c["status"]) for c in after] == [(1, 1, "Occupied")]
