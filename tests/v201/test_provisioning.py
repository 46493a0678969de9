"""What a 2.0.1 station sends outside transactions and the device model: boot (and what a station
not yet accepted may send), heartbeats, status per EVSE and connector, Authorize, and the
notifications, each stored and shown through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from ocpp.exceptions import SecurityError
from ocpp.v201 import call

from tests.integration.sim_fixtures import eventually
from tests.ocpp_client import OcppClient
from tests.v201.conftest import RAW_BOOT, ConnectStation, boot_request
from voltline.app import Voltline


async def _charge_point(api: httpx.AsyncClient, identity: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/charge-points/{identity}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_accepted_boot_is_stored_with_its_reason_and_answered_with_time_and_interval(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    before = datetime.now(UTC) - timedelta(seconds=1)
    # 2.0.1's vendorName holds 50 characters, 1.6's 20.
    vendor = "Voltline Test Equipment Manufacturing Company GmbH"
    answer = await cp.call(call.BootNotification(
        charging_station={"model": "Wallbox 2", "vendor_name": vendor, "serial_number": "SN-0001",
                          "firmware_version": "4.2.1", "modem": {"iccid": "8931000000000000001", "imsi": "262010000000001"}},
        reason="Watchdog",
    ))
    assert answer.status == "Accepted" and answer.interval == server.services.charge_points.heartbeat_interval
    assert datetime.fromisoformat(answer.current_time) >= before
    view = await _charge_point(api, "CS-1")
    assert (view["vendor"], view["model"], view["serial_number"], view["firmware_version"]) == (
        vendor, "Wallbox 2", "SN-0001", "4.2.1")
    assert (view["iccid"], view["imsi"]) == ("8931000000000000001", "262010000000001")
    assert view["boot_reason"] == "Watchdog" and view["heartbeat_interval"] == answer.interval
    assert view["registration_status"] == "Accepted" and view["ocpp_version"] == "2.0.1"


async def test_a_pending_station_may_boot_and_nothing_else_until_accepted(
    server: Voltline, api: httpx.AsyncClient, raw201: Any
) -> None:
    await server.services.charge_points.register("CS-1", registration_status="Pending")
    client: OcppClient = await raw201("CS-1")
    boot = await client.ok("BootNotification", RAW_BOOT)
    assert boot["status"] == "Pending" and boot["interval"] > 0
    for action, payload in (
        ("Heartbeat", {}),
        ("StatusNotification", {"timestamp": "2026-12-02T05:00:00Z", "connectorStatus": "Available", "evseId": 1,
                                "connectorId": 1}),
        ("Authorize", {"idToken": {"idToken": "TAG", "type": "ISO14443"}}),
        ("SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": "2026-12-02T05:00:00Z"}),
    ):
        refused = await client.call(action, payload)
        assert refused[0] == 4 and refused[2] == "SecurityError", (action, refused)
    assert (await _charge_point(api, "CS-1"))["connectors"] == []

    # What the Central System asked for with a trigger gets through while Pending.
    connection = server.gateway.connections["CS-1"]
    connection.context.allow("Heartbeat")
    assert (await client.call("Heartbeat", {}))[0] == 3
    assert (await client.call("Heartbeat", {}))[2] == "SecurityError"  # once only

    # The operator accepts it: the next boot says so, and from then on it is served.
    assert (await api.patch("/api/v1/charge-points/CS-1", json={"registration_status": "Accepted"})).status_code == 200
    assert (await client.ok("BootNotification", RAW_BOOT))["status"] == "Accepted"
    assert (await client.call("Heartbeat", {}))[0] == 3


async def test_a_rejected_station_may_only_boot(server: Voltline, raw201: Any) -> None:
    await server.services.charge_points.register("CS-1", registration_status="Rejected")
    client: OcppClient = await raw201("CS-1")
    assert (await client.ok("BootNotification", RAW_BOOT))["status"] == "Rejected"
    # Not even what a trigger would allow a Pending station.
    server.gateway.connections["CS-1"].context.allow("Heartbeat")
    assert (await client.call("Heartbeat", {}))[2] == "SecurityError"
    assert (await client.call("DataTransfer", {"vendorId": "acme"}))[2] == "SecurityError"


async def test_heartbeats_are_answered_with_the_time_and_shown(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    before = datetime.now(UTC) - timedelta(seconds=1)
    beat = await cp.call(call.Heartbeat())
    assert datetime.fromisoformat(beat.current_time) >= before
    seen = (await _charge_point(api, "CS-1"))["last_heartbeat_at"]
    assert seen is not None and datetime.fromisoformat(seen) >= before


async def test_status_is_kept_per_evse_and_connector_with_its_history(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    for at, status, evse, connector in (
        ("2026-12-02T05:00:00Z", "Available", 1, 1),
        ("2026-12-02T05:00:00Z", "Available", 2, 1),
        ("2026-12-02T05:00:00Z", "Available", 2, 2),
        ("2026-12-02T05:01:00Z", "Occupied", 2, 1),
        ("2026-12-02T05:02:00Z", "Faulted", 2, 2),
        # Late, queued while offline: older than the status stored, so history only.
        ("2026-12-02T04:59:00Z", "Unavailable", 2, 1),
        ("2026-12-02T05:03:00Z", "Reserved", 1, 1),
    ):
        await cp.call(call.StatusNotification(timestamp=at, connector_status=status, evse_id=evse, connector_id=connector))
    connectors = (await _charge_point(api, "CS-1"))["connectors"]
    assert [(c["evse_id"], c["connector_id"], c["status"]) for c in connectors] == [
        (1, 1, "Reserved"), (2, 1, "Occupied"), (2, 2, "Faulted")]
    assert connectors[1]["status_at"] == "2026-12-02T05:01:00Z"

    history = (await api.get("/api/v1/charge-points/CS-1/status-history", params={"evse_id": 2})).json()["items"]
    assert [(h["evse_id"], h["connector_id"], h["status"]) for h in history] == [
        (2, 2, "Faulted"), (2, 1, "Occupied"), (2, 2, "Available"), (2, 1, "Available"), (2, 1, "Unavailable")]


async def test_authorize_answers_each_status_with_group_and_cache_expiry(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation, connect: Any
) -> None:
    await server.services.charge_points.register("CS-1")
    await server.services.charge_points.register("CP-16")
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    for tag in (
        {"id_tag": "FLEET", "status": "Accepted", "token_type": "Central"},
        {"id_tag": "GOOD", "status": "Accepted", "parent_id_tag": "FLEET", "expiry_date": later.isoformat()},
        {"id_tag": "ORPHAN", "status": "Accepted", "parent_id_tag": "NOT-A-TAG"},
        {"id_tag": "STOLEN", "status": "Blocked"},
        {"id_tag": "OLD", "status": "Accepted", "expiry_date": "2020-01-01T00:00:00Z"},
        {"id_tag": "VOID", "status": "Invalid"},
        {"id_tag": "APP", "status": "Accepted", "token_type": "eMAID"},
    ):
        created = await api.post("/api/v1/id-tags", json=tag)
        assert created.status_code == 201, created.text
    cp = await station("CS-1")
    await cp.call(boot_request())

    async def authorize(token: str, kind: str = "ISO14443") -> dict[str, Any]:
        answer = await cp.call(call.Authorize(id_token={"id_token": token, "type": kind}))
        return answer.id_token_info  # type: ignore[no-any-return]

    good = await authorize("GOOD")
    assert good["status"] == "Accepted"
    assert good["group_id_token"] == {"id_token": "FLEET", "type": "Central"}
    assert datetime.fromisoformat(good["cache_expiry_date_time"]) == later
    # A parent that is no tag of ours: its type is unknown, so it is named an operator's group.
    assert (await authorize("ORPHAN"))["group_id_token"] == {"id_token": "NOT-A-TAG", "type": "Central"}
    assert (await authorize("APP", "eMAID"))["status"] == "Accepted"
    assert (await authorize("STOLEN"))["status"] == "Blocked"
    assert (await authorize("OLD"))["status"] == "Expired"
    assert (await authorize("VOID"))["status"] == "Invalid"
    assert await authorize("NOBODY") == {"status": "Unknown"}
    # A token is its value with its type: the eMAID APP is not a card whose UID reads APP, and
    # a blocked card presented as a key code is no token Voltline knows either.
    assert await authorize("APP", "ISO14443") == {"status": "Unknown"}
    assert await authorize("STOLEN", "KeyCode") == {"status": "Unknown"}
    assert (await authorize("FLEET", "Central"))["status"] == "Accepted"
    # NoAuthorization names no one and needs no lookup (OCPP 2.0.1 C02.FR.02): Accepted.
    assert await authorize("", "NoAuthorization") == {"status": "Accepted"}
    # 1.6 has no Unknown: an unknown tag stays Invalid there.
    old: OcppClient = await connect("CP-16")
    await old.boot()
    assert (await old.ok("Authorize", {"idTag": "NOBODY"}))["idTagInfo"] == {"status": "Invalid"}
    assert (await old.ok("Authorize", {"idTag": "GOOD"}))["idTagInfo"]["parentIdTag"] == "FLEET"


async def test_notify_event_entries_are_stored_as_the_charge_points_events(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    await cp.call(call.NotifyEvent(
        generated_at="2026-12-02T05:10:00Z",
        seq_no=0,
        event_data=[
            {"event_id": 17, "timestamp": "2026-12-02T05:09:00Z", "trigger": "Alerting", "actual_value": "true",
             "tech_code": "E042", "tech_info": "ground fault", "cleared": False, "event_notification_type": "HardWiredMonitor",
             "component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Problem"}},
            {"event_id": 18, "timestamp": "2026-12-02T05:09:30Z", "trigger": "Delta", "actual_value": "Occupied",
             "event_notification_type": "CustomMonitor", "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
             "variable": {"name": "AvailabilityState"}},
        ],
    ))
    events = (await api.get("/api/v1/charge-points/CS-1/events", params={"kind": "event"})).json()["items"]
    assert [(e["status"], e["timestamp"]) for e in events] == [
        ("Delta", "2026-12-02T05:09:30Z"), ("Alerting", "2026-12-02T05:09:00Z")]
    fault = events[1]["detail"]
    assert fault == {
        "event_id": 17, "trigger": "Alerting", "event_notification_type": "HardWiredMonitor", "component": "EVSE",
        "evse_id": 2, "variable": "Problem", "actual_value": "true", "tech_code": "E042", "tech_info": "ground fault",
        "cleared": False, "generated_at": "2026-12-02T05:10:00Z", "seq_no": 0,
    }
    assert events[0]["detail"]["connector_id"] == 1 and events[0]["detail"]["component"] == "Connector"


async def test_security_firmware_log_and_customer_notifications_are_stored_and_shown(
    server: Voltline, api: httpx.AsyncClient, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    await cp.call(call.SecurityEventNotification(
        type="TamperDetectionActivated", timestamp="2026-12-02T05:20:00Z", tech_info="lid opened"))
    await cp.call(call.FirmwareStatusNotification(status="Downloading", request_id=5))
    await cp.call(call.FirmwareStatusNotification(status="Installed", request_id=5))
    await cp.call(call.LogStatusNotification(status="Uploaded", request_id=9))
    for seq_no, data, tbc in ((0, "name: Jane\n", True), (1, "card: 1234", False)):
        await cp.call(call.NotifyCustomerInformation(
            data=data, seq_no=seq_no, generated_at="2026-12-02T05:21:00Z", request_id=3, tbc=tbc))

    view = await _charge_point(api, "CS-1")
    assert view["firmware_status"] == "Installed" and view["log_status"] == "Uploaded"

    async def kind(name: str) -> list[dict[str, Any]]:
        return (await api.get("/api/v1/charge-points/CS-1/events", params={"kind": name})).json()["items"]  # type: ignore[no-any-return]

    security = await kind("security")
    assert [(e["status"], e["timestamp"], e["detail"]) for e in security] == [
        ("TamperDetectionActivated", "2026-12-02T05:20:00Z", {"tech_info": "lid opened"})]
    assert [(e["status"], e["request_id"]) for e in await kind("firmware")] == [("Installed", 5), ("Downloading", 5)]
    assert [(e["status"], e["request_id"]) for e in await kind("log")] == [("Uploaded", 9)]
    parts = sorted(await kind("customer_information"), key=lambda e: e["detail"]["seq_no"])
    assert [(e["request_id"], e["status"], e["detail"]) for e in parts] == [
        (3, "Continued", {"data": "name: Jane\n", "seq_no": 0, "tbc": True}),
        (3, "Complete", {"data": "card: 1234", "seq_no": 1, "tbc": False}),
    ]
    assembled = await api.get("/api/v1/charge-points/CS-1/customer-information/3")
    assert assembled.status_code == 200, assembled.text
    assert assembled.json() == {"request_id": 3, "complete": True, "parts": 2, "data": "name: Jane\ncard: 1234"}


async def test_data_transfer_is_answered_honestly(server: Voltline, station: ConnectStation) -> None:
    await server.services.charge_points.register("CS-1")
    cp = await station("CS-1")
    await cp.call(boot_request())
    answer = await cp.call(call.DataTransfer(vendor_id="com.acme", message_id="ping", data="hello"))
    assert answer.status == "UnknownVendorId"


async def test_a_pending_station_is_refused_through_the_ocpp_package_too(
    server: Voltline, station: ConnectStation
) -> None:
    await server.services.charge_points.register("CS-1", registration_status="Pending")
    cp = await station("CS-1")
    assert (await cp.call(boot_request())).status == "Pending"
    with pytest.raises(SecurityError):
        await cp.call(call.Heartbeat(), suppress=False)
    await eventually(lambda: server.gateway.is_connected("CS-1"), "still connected")
