"""The dashboard's session export and the REST API's transaction export are the same file."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from voltline.app import Voltline


async def test_the_two_csv_exports_are_the_same_file(server: Voltline, web: httpx.AsyncClient,
                                                      api: httpx.AsyncClient, station: Any) -> None:
    await api.post("/api/v1/id-tags", json={"id_tag": "FLEET,7", "status": "Accepted"})
    cp = await station("CP-CSV")
    first = await cp.call("StartTransaction", {"connectorId": 1, "idTag": "FLEET,7", "meterStart": 1000,
                                                "timestamp": "2026-11-01T10:00:00.250+01:00"})
    await cp.call("StopTransaction", {"transactionId": first["transactionId"], "meterStop": 3500,
                                      "timestamp": "2026-11-01T11:30:00Z", "reason": "EVDisconnected"})
    second = await cp.call("StartTransaction", {"connectorId": 1, "idTag": "UNKNOWN", "meterStart": 4000,
                                                 "timestamp": "2026-11-02T08:00:00Z"})
    await cp.call("StopTransaction", {"transactionId": second["transactionId"], "meterStop": 4000,
                                      "timestamp": "2026-11-02T08:05:00Z"})

    dashboard = await web.get("/sessions.csv", params={"charge_point_id": "CP-CSV", "state": "finished"})
    rest = await api.get("/api/v1/transactions/export.csv", params={"charge_point_id": "CP-CSV", "active": "false"})
    assert dashboard.status_code == rest.status_code == 200
    assert dashboard.content == rest.content  # byte for byte: header, row format, order

    lines = rest.content.decode().split("\r\n")
    assert lines[0] == ("id,charge_point_id,connector_id,id_tag,status,started_at,stopped_at,meter_start,"
                        "meter_stop,energy_wh,duration_s,stop_reason")
    rows = list(csv.DictReader(io.StringIO(dashboard.text)))
    assert [int(r["id"]) for r in rows] == [first["transactionId"], second["transactionId"]]
    assert rows[0]["id_tag"] == "FLEET,7" and rows[0]["status"] == "Stopped"
    assert rows[0]["started_at"] == "2026-11-01T09:00:00.250000Z" and rows[0]["stopped_at"] == "2026-11-01T11:30:00Z"
    assert rows[0]["energy_wh"] == "2500.0" and rows[0]["duration_s"] == "8999" and rows[0]["stop_reason"] == "EVDisconnected"
    assert rows[1]["stop_reason"] == "Local"

    # The page's date filter is the API's time window: the same rows again.
    day = await web.get("/sessions.csv", params={"since": "2026-11-02", "until": "2026-11-02"})
    window = await api.get("/api/v1/transactions/export.csv",
                           params={"started_from": "2026-11-02T00:00:00Z", "started_to": "2026-11-03T00:00:00Z"})
    assert day.content == window.content and len(day.content.decode().split("\r\n")) == 3
