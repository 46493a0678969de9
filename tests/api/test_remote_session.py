"""The reference remote charging session, driven through the REST API against a charge point
connected over a real WebSocket, watched on the server-sent event stream."""

from __future__ import annotations

import asyncio

from tests.commands.support import T0, EventStream, answer_next, online

METER = "Energy.Active.Import.Register"


def meter_value(timestamp: str, kwh: float, power_w: float) -> list[dict[str, object]]:
    return [
        {
            "timestamp": timestamp,
            "sampledValue": [
                {"value": f"{kwh:.3f}", "measurand": METER, "unit": "kWh", "context": "Sample.Periodic"},
                {"value": f"{power_w:.0f}", "measurand": "Power.Active.Import", "unit": "W"},
            ],
        }
    ]


async def test_remote_charging_session_through_the_api(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    assert (await api.post("/api/v1/id-tags", json={"id_tag": "DRIVER-1"})).status_code == 201
    cp = await online(api, connect, "CP-REF", connectors=1, password="a-long-basic-auth-password")

    async with EventStream(api, charge_point_id="CP-REF") as stream:
        # RemoteStartTransaction → Accepted; no connector named: the free one is picked.
        start = asyncio.create_task(
            api.post("/api/v1/charge-points/CP-REF/remote-start", json={"id_tag": "DRIVER-1", "wait": True})
        )
        call = await answer_next(cp, {"status": "Accepted"}, "RemoteStartTransaction")
        assert call[3] == {"idTag": "DRIVER-1", "connectorId": 1}

        await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"})
        started = await cp.ok(
            "StartTransaction", {"connectorId": 1, "idTag": "DRIVER-1", "meterStart": 1_000, "timestamp": T0}
        )
        assert started["idTagInfo"]["status"] == "Accepted"
        transaction_id = started["transactionId"]
        await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"})

        # The API answered with the transaction the remote start led to.
        answer = await start
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "Accepted"
        assert body["transaction_id"] == transaction_id
        assert body["remote_start"]["status"] == "Started"

        # Periodic meter values, in kWh on the wire.
        for minute, (kwh, power) in enumerate([(1.5, 11_000), (3.25, 10_500), (5.0, 10_000)], start=1):
            await cp.ok(
                "MeterValues",
                {"connectorId": 1, "transactionId": transaction_id,
                 "meterValue": meter_value(f"2026-11-01T10:{minute * 10:02d}:00Z", kwh, power)},
            )
        live = (await api.get(f"/api/v1/transactions/{transaction_id}")).json()
        assert live["status"] == "Active"
        assert live["energy_wh"] == 5_000 - 1_000
        connector = (await api.get("/api/v1/charge-points/CP-REF")).json()["connectors"][1]
        assert connector["status"] == "Charging"
        assert connector["transaction_id"] == transaction_id
        assert connector["energy_wh"] == 5_000 and connector["power_w"] == 10_000

        # RemoteStopTransaction → Accepted → StopTransaction (Remote) → Finishing → Available.
        stop = asyncio.create_task(
            api.post("/api/v1/charge-points/CP-REF/remote-stop", json={"transaction_id": transaction_id})
        )
        call = await answer_next(cp, {"status": "Accepted"}, "RemoteStopTransaction")
        assert call[3] == {"transactionId": transaction_id}
        assert (await stop).json() == {"status": "Accepted"}
        await cp.ok(
            "StopTransaction",
            {"transactionId": transaction_id, "meterStop": 6_200, "timestamp": "2026-11-01T10:45:00Z", "reason": "Remote"},
        )
        await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Finishing"})
        await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})

        await stream.wait_for(lambda e: e["type"] == "connector.status" and e["data"]["status"] == "Available"
                              and any(x["type"] == "transaction.stopped" for x in stream.events))

    tx = (await api.get(f"/api/v1/transactions/{transaction_id}")).json()
    assert tx["status"] == "Stopped"
    assert tx["energy_wh"] == 5_200
    assert tx["duration_s"] == 45 * 60
    assert tx["stop_reason"] == "Remote"
    assert tx["meter_start"] == 1_000 and tx["meter_stop"] == 6_200
    assert tx["started_at"] == "2026-11-01T10:00:00Z" and tx["stopped_at"] == "2026-11-01T10:45:00Z"
    energy = [m for m in tx["meter_values"] if m["measurand"] == METER]
    assert [m["value"] for m in energy] == [1_500, 3_250, 5_000]
    assert {m["unit"] for m in energy} == {"Wh"} and {m["raw_unit"] for m in energy} == {"kWh"}
    assert energy[0]["context"] == "Sample.Periodic" and energy[0]["location"] == "Outlet"

    # The remote start stays findable with its transaction.
    remote_start = (await api.get(f"/api/v1/remote-starts/{body['remote_start']['id']}")).json()
    assert remote_start["transaction_id"] == transaction_id and remote_start["connector_id"] == 1

    # The stream showed each change, in order.
    changes = [
        (e["type"], e["data"].get("status"))
        for e in stream.events
        if e["type"] in ("connector.status", "transaction.started", "transaction.stopped", "meter_values")
    ]
    assert changes == [
        ("connector.status", "Preparing"),
        ("transaction.started", None),
        ("connector.status", "Charging"),
        ("meter_values", None),
        ("meter_values", None),
        ("meter_values", None),
        ("transaction.stopped", None),
        ("connector.status", "Finishing"),
        ("connector.status", "Available"),
    ]
    started_event = next(e for e in stream.events if e["type"] == "transaction.started")
    assert started_event["data"]["transaction_id"] == transaction_id
    assert [e["data"]["energy_wh"] for e in stream.events if e["type"] == "meter_values"] == [1_500, 3_250, 5_000]
    stopped_event = next(e for e in stream.events if e["type"] == "transaction.stopped")
    assert stopped_event["data"]["reason"] == "Remote"
    assert any(e["type"] == "remote_start" and e["data"]["status"] == "Accepted" for e in stream.events)
