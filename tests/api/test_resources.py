"""The REST resources: charge points, id tags, transactions (with CSV), meter values, the message
log; bearer-token authentication; pagination and errors."""

from __future__ import annotations

import csv
import io

import httpx

from tests.commands.support import T0, eventually, online
from voltline.services.security.api_tokens import TokenService


async def test_health_is_open_everything_else_needs_a_valid_token(server, api) -> None:  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{server.http_port}"
    async with httpx.AsyncClient(base_url=base) as anonymous:
        assert (await anonymous.get("/health")).status_code == 200
        for path in ("/api/v1/charge-points", "/api/v1/id-tags", "/api/v1/transactions", "/api/v1/events"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"
        assert (await anonymous.get("/api/v1/charge-points", headers={"Authorization": "Bearer nope"})).status_code == 401
        token, secret = await server.services.tokens.create("short-lived")
        assert (await anonymous.get("/api/v1/id-tags", headers={"Authorization": f"Bearer {secret}"})).status_code == 200
        await server.services.tokens.revoke(token.id)
        assert (await anonymous.get("/api/v1/id-tags", headers={"Authorization": f"Bearer {secret}"})).status_code == 401
    stored = [t.name for t in await server.services.tokens.list()]
    assert "short-lived" in stored


async def test_a_token_revoked_elsewhere_stops_working_once_rechecked_and_its_use_is_recorded(server) -> None:  # type: ignore[no-untyped-def]
    tokens = server.services.tokens
    tokens.recheck_after = 0.3
    token, secret = await tokens.create("kiosk")
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", headers=headers) as client:
        assert (await client.get("/api/v1/id-tags")).status_code == 200

        async def used() -> bool:
            return any(t.id == token.id and t.last_used_at is not None for t in await tokens.list())

        assert await eventually(used)
        # `voltline token revoke` runs in a process of its own: this server learns it on its next check.
        assert await TokenService(server.store).revoke(token.id)

        async def refused() -> bool:
            return (await client.get("/api/v1/id-tags")).status_code == 401

        assert await eventually(refused)


async def test_charge_points_register_list_get_update_delete(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    created = await api.post("/api/v1/charge-points", json={"id": "CP-A", "password": "a-long-basic-auth-password",
                                                            "description": "car park, level 1"})
    assert created.status_code == 201
    body = created.json()
    assert body["id"] == "CP-A" and body["has_password"] and body["connected"] is False
    assert "password" not in body and body["connectors"] == []
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-A"})).status_code == 409
    bad = await api.post("/api/v1/charge-points", json={"id": "", "registration_status": "Maybe"})
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"id", "registration_status"}

    cp = await online(api, connect, "CP-B", connectors=2)
    await cp.ok("BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "Fast-22",
                                     "chargePointSerialNumber": "SN-9", "firmwareVersion": "1.2.3"})
    await cp.ok("StatusNotification", {"connectorId": 2, "errorCode": "GroundFailure", "status": "Faulted", "info": "RCD"})
    view = (await api.get("/api/v1/charge-points/CP-B")).json()
    assert view["connected"] is True and view["vendor"] == "ACME" and view["model"] == "Fast-22"
    assert view["serial_number"] == "SN-9" and view["firmware_version"] == "1.2.3"
    assert view["registration_status"] == "Accepted" and "last_heartbeat_at" in view
    assert [(c["connector_id"], c["status"]) for c in view["connectors"]] == [(0, "Available"), (1, "Available"), (2, "Faulted")]
    assert view["connectors"][2]["error_code"] == "GroundFailure" and view["connectors"][2]["info"] == "RCD"

    for i in range(3):
        await api.post("/api/v1/charge-points", json={"id": f"CP-X{i}"})
    page = (await api.get("/api/v1/charge-points", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [c["id"] for c in page["items"]] == ["CP-B", "CP-X0"]
    connected = (await api.get("/api/v1/charge-points", params={"connected": "true"})).json()
    assert [c["id"] for c in connected["items"]] == ["CP-B"]
    found = (await api.get("/api/v1/charge-points", params={"q": "level"})).json()
    assert [c["id"] for c in found["items"]] == ["CP-A"]

    patched = await api.patch("/api/v1/charge-points/CP-A", json={"description": "moved", "password": None,
                                                                  "registration_status": "Pending"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "moved" and not patched.json()["has_password"]
    assert patched.json()["registration_status"] == "Pending"
    assert (await api.patch("/api/v1/charge-points/NOPE", json={"description": "x"})).status_code == 404
    assert (await api.patch("/api/v1/charge-points/CP-A", json={"ping_interval": -1})).status_code == 400

    assert (await api.delete("/api/v1/charge-points/CP-B")).status_code == 204
    assert (await api.get("/api/v1/charge-points/CP-B")).status_code == 404
    assert (await api.delete("/api/v1/charge-points/CP-B")).status_code == 404
    # Commands know at once that it is gone (and that an unknown one never was).
    for identity in ("CP-B", "NOPE"):
        command = await api.post(f"/api/v1/charge-points/{identity}/remote-start", json={"id_tag": "T", "check_tag": False})
        assert command.status_code == 404 and command.json()["error"]["code"] == "not_found"
    missing = await api.get("/api/v1/charge-points/NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_id_tags_crud_with_pagination(server, api) -> None:  # type: ignore[no-untyped-def]
    created = await api.post("/api/v1/id-tags", json={"id_tag": "CARD-1", "status": "Accepted",
                                                      "expiry_date": "2030-01-01T00:00:00+01:00", "parent_id_tag": "FLEET"})
    assert created.status_code == 201
    assert created.json()["expiry_date"] == "2029-12-31T23:00:00Z"
    assert (await api.post("/api/v1/id-tags", json={"id_tag": "CARD-1"})).status_code == 409
    assert (await api.post("/api/v1/id-tags", json={"id_tag": "X" * 37})).status_code == 400
    assert (await api.post("/api/v1/id-tags", json={"id_tag": "Y", "status": "ConcurrentTx"})).status_code == 400
    for i in range(2, 6):
        await api.post("/api/v1/id-tags", json={"id_tag": f"CARD-{i}", "status": "Blocked" if i % 2 else "Accepted"})
    page = (await api.get("/api/v1/id-tags", params={"status": "Blocked"})).json()
    assert [t["id_tag"] for t in page["items"]] == ["CARD-3", "CARD-5"] and page["total"] == 2
    page = (await api.get("/api/v1/id-tags", params={"limit": 2, "offset": 4})).json()
    assert [t["id_tag"] for t in page["items"]] == ["CARD-5"] and page["total"] == 5

    patched = (await api.patch("/api/v1/id-tags/CARD-1", json={"status": "Blocked", "expiry_date": None})).json()
    assert patched["status"] == "Blocked" and patched["expiry_date"] is None and patched["parent_id_tag"] == "FLEET"
    assert (await api.get("/api/v1/id-tags/CARD-1")).json()["status"] == "Blocked"
    assert (await api.delete("/api/v1/id-tags/CARD-1")).status_code == 204
    assert (await api.get("/api/v1/id-tags/CARD-1")).status_code == 404
    assert (await api.patch("/api/v1/id-tags/CARD-1", json={"status": "Accepted"})).status_code == 404


async def test_transactions_filters_detail_and_csv(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-T", connectors=2)
    for tag in ("T-A", "T-B"):
        await api.post("/api/v1/id-tags", json={"id_tag": tag})
    first = (await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "T-A", "meterStart": 100, "timestamp": T0}))["transactionId"]
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": first, "meterValue": [
        {"timestamp": "2026-11-01T10:05:00Z", "sampledValue": [
            {"value": "0.600", "unit": "kWh"},
            {"value": "230.1", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
        ]}]})
    await cp.ok("StopTransaction", {"transactionId": first, "meterStop": 1_100, "timestamp": "2026-11-01T10:20:00Z"})
    second = (await cp.ok("StartTransaction", {"connectorId": 2, "idTag": "T-B", "meterStart": 50,
                                               "timestamp": "2026-11-02T08:00:00Z"}))["transactionId"]
    await cp.ok("MeterValues", {"connectorId": 2, "transactionId": second, "meterValue": [
        {"timestamp": "2026-11-02T08:01:00Z", "sampledValue": [{"value": "300"}]}]})

    listed = (await api.get("/api/v1/transactions")).json()
    assert [t["id"] for t in listed["items"]] == [second, first] and listed["total"] == 2
    active = (await api.get("/api/v1/transactions", params={"active": "true"})).json()["items"]
    assert [(t["id"], t["status"], t["energy_wh"]) for t in active] == [(second, "Active", 250)]
    assert active[0]["stopped_at"] is None and active[0]["duration_s"] >= 0
    assert [t["id"] for t in (await api.get("/api/v1/transactions", params={"id_tag": "T-A"})).json()["items"]] == [first]
    assert [t["id"] for t in (await api.get("/api/v1/transactions", params={"connector_id": 2})).json()["items"]] == [second]
    window = {"started_from": "2026-11-01T00:00:00Z", "started_to": "2026-11-02T00:00:00Z"}
    assert [t["id"] for t in (await api.get("/api/v1/transactions", params=window)).json()["items"]] == [first]
    assert (await api.get("/api/v1/transactions", params={"started_from": "yesterday"})).status_code == 400

    detail = (await api.get(f"/api/v1/transactions/{first}")).json()
    assert detail["energy_wh"] == 1_000 and detail["duration_s"] == 1_200 and detail["stop_reason"] == "Local"
    assert [(m["measurand"], m["value"], m["unit"], m["phase"]) for m in detail["meter_values"]] == [
        ("Energy.Active.Import.Register", 600, "Wh", None), ("Voltage", 230.1, "V", "L1-N")]
    assert (await api.get("/api/v1/transactions/999999")).status_code == 404

    export = await api.get("/api/v1/transactions/export.csv", params={"charge_point_id": "CP-T"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [int(r["id"]) for r in rows] == [first, second]
    assert rows[0]["energy_wh"] == "1000.0" and rows[0]["duration_s"] == "1200" and rows[0]["status"] == "Stopped"
    assert rows[0]["started_at"] == "2026-11-01T10:00:00Z" and rows[1]["stopped_at"] == ""

    values = (await api.get("/api/v1/meter-values", params={"transaction_id": first, "measurand": "Voltage"})).json()
    assert [v["value"] for v in values["items"]] == [230.1] and values["total"] == 1
    values = (await api.get("/api/v1/meter-values", params={"charge_point_id": "CP-T", "from": "2026-11-02T00:00:00Z"})).json()
    assert [(v["transaction_id"], v["value"]) for v in values["items"]] == [(second, 300)]


async def test_message_log_filters(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    cp = await online(api, connect, "CP-LOG")
    await cp.ok("Heartbeat", {})

    async def heartbeats() -> list:
        return (await api.get("/api/v1/messages", params={"charge_point_id": "CP-LOG", "action": "Heartbeat"})).json()["items"]

    found = await eventually(lambda: _two(heartbeats))
    assert [(m["direction"], m["message_type"]) for m in found] == [("out", 3), ("in", 2)]
    inbound = (await api.get("/api/v1/messages", params={"charge_point_id": "CP-LOG", "direction": "in", "order": "asc"})).json()
    assert inbound["items"][0]["action"] == "BootNotification"
    assert all(m["direction"] == "in" for m in inbound["items"])
    later = (await api.get("/api/v1/messages", params={"charge_point_id": "CP-LOG", "from": "2100-01-01T00:00:00Z"})).json()
    assert later["total"] == 0
    assert (await api.get("/api/v1/messages", params={"direction": "sideways"})).status_code == 400


async def _two(fetch):  # type: ignore[no-untyped-def]
    items = await fetch()
    return items if len(items) >= 2 else None


async def test_bad_input_anywhere_answers_400_naming_the_field_and_why(server, api) -> None:  # type: ignore[no-untyped-def]
    """DESIGN §2: 400 for bad input, in the error shape, whether in the body, the query or the path."""

    async def refused(response: httpx.Response) -> tuple[str, list[dict[str, str]]]:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid"
        return error["message"], error["details"]

    message, details = await refused(await api.post("/api/v1/charge-points", json={"id": "", "registration_status": "Maybe"}))
    assert "body field `id`: String should have at least 1 character" in message
    assert "body field `registration_status`: Input should be 'Accepted', 'Pending' or 'Rejected'" in message
    assert [(d["in"], d["field"]) for d in details] == [("body", "id"), ("body", "registration_status")]

    message, details = await refused(await api.get("/api/v1/charge-points", params={"limit": 0}))
    assert message == "invalid request: query parameter `limit`: Input should be greater than or equal to 1"
    assert details == [{"in": "query", "field": "limit", "message": "Input should be greater than or equal to 1"}]

    message, _ = await refused(await api.get("/api/v1/transactions/twelve"))
    assert "path parameter `transaction_id`: Input should be a valid integer" in message

    message, _ = await refused(await api.get("/api/v1/messages", params={"from": "yesterday"}))
    assert "query parameter `from`" in message

    message, _ = await refused(await api.post("/api/v1/id-tags", content=b"{", headers={"Content-Type": "application/json"}))
    assert "JSON decode error" in message
    message, _ = await refused(await api.post("/api/v1/id-tags"))
    assert message == "invalid request: the body: Field required"

    # Nested fields by their dotted path; a long list of faults is summed up, and listed in full.
    message, details = await refused(await api.post("/api/v1/charging-profiles", json={
        "charge_point_id": "CP-1", "connector_id": 0, "charging_profile": {
            "charging_profile_id": 1, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Absolute", "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": -1, "limit": -1} for _ in range(4)]}}}))
    assert "body field `charging_profile.charging_schedule.charging_schedule_period.0.start_period`" in message
    assert message.endswith("and 3 more") and len(details) == 8
