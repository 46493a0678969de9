"""What the API shows for OCPP 2.0.1 beside 1.6 (DESIGN §5), on a 1.6 charge point: the version
of its connection, log status and heartbeat interval; connectors with their (null) EVSE;
transactions with their wire id, EVSE, token type and remote start; id tags with a token type;
signed meter data verbatim."""

from __future__ import annotations

import asyncio

from tests.commands.support import T0, answer_next, online

OCMF = 'OCMF|{"FV":"1.0","GI":"ACME","RD":[{"RV":"1.234","RU":"kWh"}]}|{"SA":"ECDSA-secp256r1-SHA256","SD":"3045"}'


async def test_a_16_charge_point_shows_its_version_log_status_heartbeat_interval_and_no_evse(  # type: ignore[no-untyped-def]
    server, api, connect
) -> None:
    registered = (await api.post("/api/v1/charge-points", json={"id": "CP-V"})).json()
    assert (registered["ocpp_version"], registered["heartbeat_interval"], registered["log_status"]) == (None, None, None)
    cp = await connect("CP-V")
    assert (await cp.boot())["interval"] == server.settings.heartbeat_interval
    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
    await cp.ok("LogStatusNotification", {"status": "Uploading", "requestId": 4})
    await cp.ok("LogStatusNotification", {"status": "Uploaded", "requestId": 4})

    view = (await api.get("/api/v1/charge-points/CP-V")).json()
    assert view["ocpp_version"] == "1.6"
    assert view["heartbeat_interval"] == server.settings.heartbeat_interval
    assert view["log_status"] == "Uploaded" and view["log_status_at"] is not None
    assert [(c["connector_id"], c["evse_id"], c["status"]) for c in view["connectors"]] == [(1, None, "Available")]
    listed = (await api.get("/api/v1/charge-points")).json()["items"]
    assert [(c["id"], c["ocpp_version"], c["log_status"]) for c in listed] == [("CP-V", "1.6", "Uploaded")]


async def test_id_tags_carry_a_token_type_iso14443_unless_told(server, api) -> None:  # type: ignore[no-untyped-def]
    plain = await api.post("/api/v1/id-tags", json={"id_tag": "CARD"})
    assert plain.status_code == 201 and plain.json()["token_type"] == "ISO14443"
    app = await api.post("/api/v1/id-tags", json={"id_tag": "APP-7", "token_type": "Central"})
    assert app.status_code == 201 and app.json()["token_type"] == "Central"
    bad = await api.post("/api/v1/id-tags", json={"id_tag": "X", "token_type": "Barcode"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "token_type"

    patched = await api.patch("/api/v1/id-tags/CARD", json={"token_type": "eMAID"})
    assert patched.status_code == 200 and patched.json()["token_type"] == "eMAID"
    kept = await api.patch("/api/v1/id-tags/CARD", json={"token_type": None, "description": "fleet"})
    assert kept.json()["token_type"] == "eMAID" and kept.json()["description"] == "fleet"
    assert (await api.patch("/api/v1/id-tags/CARD", json={"token_type": "Barcode"})).status_code == 400
    listed = (await api.get("/api/v1/id-tags")).json()["items"]
    assert [(t["id_tag"], t["token_type"]) for t in listed] == [("APP-7", "Central"), ("CARD", "eMAID")]


async def test_transactions_show_their_wire_id_evse_token_type_and_remote_start_and_filter_by_wire_id(  # type: ignore[no-untyped-def]
    server, api, connect
) -> None:
    await api.post("/api/v1/id-tags", json={"id_tag": "APP-1", "token_type": "Central"})
    await api.post("/api/v1/id-tags", json={"id_tag": "CARD-1"})
    cp = await online(api, connect, "CP-W", connectors=2)
    other = await online(api, connect, "CP-W2", connectors=1)

    start = asyncio.create_task(
        api.post("/api/v1/charge-points/CP-W/remote-start", json={"id_tag": "APP-1", "connector_id": 1, "wait": True})
    )
    await answer_next(cp, {"status": "Accepted"}, "RemoteStartTransaction")
    remote = (await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "APP-1", "meterStart": 0, "timestamp": T0}))
    answer = (await start).json()
    assert answer["transaction_id"] == remote["transactionId"]
    local = await cp.ok("StartTransaction", {"connectorId": 2, "idTag": "CARD-1", "meterStart": 10, "timestamp": T0})
    unknown = await other.ok("StartTransaction", {"connectorId": 1, "idTag": "NOBODY", "meterStart": 0,
                                                  "timestamp": T0})
    assert unknown["idTagInfo"]["status"] == "Invalid"  # stored all the same: the charge point started it

    ids = {name: answer["transactionId"] for name, answer in (("remote", remote), ("local", local), ("unknown", unknown))}
    listed = {t["id"]: t for t in (await api.get("/api/v1/transactions")).json()["items"]}
    assert {(t["id"], t["ocpp_transaction_id"], t["evse_id"], t["id_token_type"], t["remote_start_id"])
            for t in listed.values()} == {
        (ids["remote"], str(ids["remote"]), None, "Central", answer["remote_start"]["id"]),
        (ids["local"], str(ids["local"]), None, "ISO14443", None),
        (ids["unknown"], str(ids["unknown"]), None, "ISO14443", None),
    }
    detail = (await api.get(f"/api/v1/transactions/{ids['remote']}")).json()
    assert (detail["ocpp_transaction_id"], detail["id_token_type"], detail["remote_start_id"]) == (
        str(ids["remote"]), "Central", answer["remote_start"]["id"])

    found = (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": str(ids["local"])})).json()
    assert [t["id"] for t in found["items"]] == [ids["local"]] and found["total"] == 1
    both = {"ocpp_transaction_id": str(ids["unknown"]), "charge_point_id": "CP-W"}
    assert (await api.get("/api/v1/transactions", params=both)).json()["items"] == []
    assert (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": "no-such-id"})).json()["total"] == 0
    assert (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": "x" * 37})).status_code == 400
    export = await api.get("/api/v1/transactions/export.csv", params={"ocpp_transaction_id": str(ids["remote"])})
    assert [line.split(",")[0] for line in export.text.strip().splitlines()[1:]] == [str(ids["remote"])]


async def test_signed_meter_data_is_shown_verbatim(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await api.post("/api/v1/id-tags", json={"id_tag": "CARD-S"})
    cp = await online(api, connect, "CP-S")
    tx = (await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "CARD-S", "meterStart": 0,
                                           "timestamp": T0}))["transactionId"]
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
        {"timestamp": "2026-11-01T10:05:00Z", "sampledValue": [
            {"value": "1.234", "unit": "kWh"},
            {"value": OCMF, "format": "SignedData", "context": "Sample.Clock"},
        ]}]})
    samples = (await api.get(f"/api/v1/transactions/{tx}")).json()["meter_values"]
    assert [s["signed_meter_value"] for s in samples] == [
        None, {"signed_meter_data": OCMF, "signing_method": None, "encoding_method": None, "public_key": None}]
    listed = (await api.get("/api/v1/meter-values", params={"transaction_id": tx})).json()["items"]
    assert [s["signed_meter_value"] and s["signed_meter_value"]["signed_meter_data"] for s in listed] == [None, OCMF]
