"""Reports on a known network, built by a charge point over OCPP and read through the API.

Europe/Berlin: 2026-03-29 is the day summer time starts (02:00 CET → 03:00 CEST), 23 hours long.

CP-R1 connector 1, TAG-A (parent FLEET): 23:30 CET on Saturday 28 March → 03:00 CEST on the
29th; registers 1000 → 3000 (23:30Z) → 7000 (01:30Z) Wh, stop at 7000 (02:00Z). Charging until
01:30Z, SuspendedEV, Finishing at 02:00Z, Available at 02:30Z: an hour idle after charging.
A GroundFailure fault on 30 March 08:00Z-08:30Z.
CP-R1 connector 2, TAG-B: 30 March 10:00Z-12:00Z; 50000 → 52000 (11:00Z) → 100 (11:30Z: the
meter was reset) → 1100 (12:00Z) Wh: 3000 Wh counted, the session flagged.
CP-R2 connector 1, TAG-B: 31 March 00:00Z-01:00Z, 0 → 1000 Wh without meter values.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio

MONTHS = {"tz": "Europe/Berlin", "from": "2026-02-01T00:00:00", "to": "2026-05-01T00:00:00"}
BERLIN = {"tz": "Europe/Berlin", "from": "2026-03-28T00:00:00", "to": "2026-04-01T00:00:00"}


def energy(register_wh: float, at: str, power_w: float | None = None) -> list[dict[str, Any]]:
    sampled = [{"value": str(register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    if power_w is not None:
        sampled.append({"value": str(power_w / 1000), "measurand": "Power.Active.Import", "unit": "kW"})
    return [{"timestamp": at, "sampledValue": sampled}]


async def status(cp: Any, connector: int, value: str, at: str, error: str = "NoError") -> None:
    await cp.ok("StatusNotification", {"connectorId": connector, "errorCode": error, "status": value, "timestamp": at})


async def build_network(api: Any, connect: Any) -> None:
    for tag in ({"id_tag": "FLEET"}, {"id_tag": "TAG-A", "parent_id_tag": "FLEET"}, {"id_tag": "TAG-B"},
                {"id_tag": "TAG-X", "status": "Blocked"}):
        assert (await api.post("/api/v1/id-tags", json=tag)).status_code == 201
    for identity in ("CP-R1", "CP-R2"):
        assert (await api.post("/api/v1/charge-points", json={"id": identity})).status_code == 201
    cp = await connect("CP-R1")
    await cp.boot()
    await status(cp, 1, "Available", "2026-03-28T20:00:00Z")
    await status(cp, 1, "Preparing", "2026-03-28T22:20:00Z")
    started = await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG-A", "meterStart": 1000,
                                               "timestamp": "2026-03-28T22:30:00Z"})
    tx = started["transactionId"]
    await status(cp, 1, "Charging", "2026-03-28T22:30:00Z")
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx,
                                "meterValue": energy(3000, "2026-03-28T23:30:00Z", 4000)})
    await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx,
                                "meterValue": energy(7000, "2026-03-29T01:30:00Z", 5000)})
    await status(cp, 1, "SuspendedEV", "2026-03-29T01:30:00Z")
    await cp.ok("StopTransaction", {"transactionId": tx, "meterStop": 7000, "timestamp": "2026-03-29T02:00:00Z"})
    await status(cp, 1, "Finishing", "2026-03-29T02:00:00Z")
    await status(cp, 1, "Available", "2026-03-29T02:30:00Z")
    await status(cp, 1, "Faulted", "2026-03-30T08:00:00Z", "GroundFailure")
    await status(cp, 1, "Available", "2026-03-30T08:30:00Z")

    await status(cp, 2, "Available", "2026-03-30T09:00:00Z")
    started = await cp.ok("StartTransaction", {"connectorId": 2, "idTag": "TAG-B", "meterStart": 50000,
                                               "timestamp": "2026-03-30T10:00:00Z"})
    tx = started["transactionId"]
    await status(cp, 2, "Charging", "2026-03-30T10:00:00Z")
    for register, at in ((52000, "2026-03-30T11:00:00Z"), (100, "2026-03-30T11:30:00Z"), (1100, "2026-03-30T12:00:00Z")):
        await cp.ok("MeterValues", {"connectorId": 2, "transactionId": tx, "meterValue": energy(register, at)})
    await cp.ok("StopTransaction", {"transactionId": tx, "meterStop": 1100, "timestamp": "2026-03-30T12:00:00Z"})
    await status(cp, 2, "Available", "2026-03-30T12:00:00Z")
    # Refused starts: a remote start the charge point rejects, a blocked tag, an unknown one.
    cp.auto_answer["RemoteStartTransaction"] = {"status": "Rejected"}
    answer = await api.post("/api/v1/charge-points/CP-R1/remote-start", json={"id_tag": "TAG-A", "connector_id": 1})
    assert answer.status_code == 200 and answer.json()["status"] == "Rejected", answer.text
    assert (await cp.ok("Authorize", {"idTag": "TAG-X"}))["idTagInfo"]["status"] == "Blocked"
    assert (await cp.ok("Authorize", {"idTag": "NOBODY"}))["idTagInfo"]["status"] == "Invalid"

    cp2 = await connect("CP-R2")
    await cp2.boot()
    started = await cp2.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG-B", "meterStart": 0,
                                                "timestamp": "2026-03-31T00:00:00Z"})
    await cp2.ok("StopTransaction", {"transactionId": started["transactionId"], "meterStop": 1000,
                                     "timestamp": "2026-03-31T01:00:00Z"})
    await cp2.close()


async def report(api: Any, path: str, **params: Any) -> dict[str, Any]:
    answer = await api.get(f"/api/v1/reports/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def by_period(items: list[dict[str, Any]], field: str = "energy_wh") -> dict[str, float]:
    return {item["period_start"]: item[field] for item in items}


async def every_report(api: Any) -> dict[str, Any]:
    return {
        "energy_day": await report(api, "energy", **BERLIN),
        "energy_hour": await report(api, "energy", interval="hour", **BERLIN),
        "energy_month": await report(api, "energy", interval="month", tz="UTC",
                                     **{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}),
        # Whole months of the rollups' zone: read from the monthly rollups.
        "energy_months_berlin": await report(api, "energy", interval="month", tz="Europe/Berlin",
                                             **{"from": "2026-03-01T00:00:00", "to": "2026-05-01T00:00:00"}),
        "by_cp_months": await report(api, "energy/by-charge-point", **MONTHS),
        "by_tag_months": await report(api, "energy/by-id-tag", **MONTHS),
        "sessions_months": await report(api, "sessions", **MONTHS),
        "by_cp": await report(api, "energy/by-charge-point", **BERLIN),
        "by_cp_16": await report(api, "energy/by-charge-point", ocpp_version="1.6", **BERLIN),
        "by_cp_201": await report(api, "energy/by-charge-point", ocpp_version="2.0.1", **BERLIN),
        "cp2": await report(api, "energy", charge_point_id="CP-R2", **BERLIN),
        "tag_a": await report(api, "energy", id_tag="TAG-A", **BERLIN),
        "fleet": await report(api, "energy/by-charge-point", parent_id_tag="FLEET", **BERLIN),
        "by_tag": await report(api, "energy/by-id-tag", **BERLIN),
        "by_parent": await report(api, "energy/by-id-tag", group="parent", **BERLIN),
        "sessions": await report(api, "sessions", **BERLIN),
        "utilisation": await report(api, "utilisation", tz="Europe/Berlin", **{"from": "2026-03-29T00:00:00", "to": "2026-03-30T00:00:00"}),
        # Partial days and months at the edges: read as days less hours (the 29th less its first
        # two hours) and as March less its first day and hours.
        "utilisation_edges": await report(api, "utilisation", tz="Europe/Berlin",
                                          **{"from": "2026-03-29T01:00:00Z", "to": "2026-05-02T10:00:00Z"}),
        "utilisation_months": await report(api, "utilisation", tz="Europe/Berlin",
                                           **{"from": "2026-03-02T05:00:00Z", "to": "2026-05-02T10:00:00Z"}),
        "peak": await report(api, "peak-power", **BERLIN),
        "faults": await report(api, "reliability", **BERLIN),
    }


def check(reports: dict[str, Any]) -> None:
    day = reports["energy_day"]
    assert by_period(day["items"]) == {
        "2026-03-28T00:00:00+01:00": 1000.0,  # 23:30-24:00 CET of the session across midnight
        "2026-03-29T00:00:00+01:00": 5000.0,
        "2026-03-30T00:00:00+02:00": 3000.0,  # the reset session: the step backwards counts 0
        "2026-03-31T00:00:00+02:00": 1000.0,
    }
    assert day["total_energy_wh"] == 10000.0 and day["flagged_transactions"] == 1
    hours = by_period(reports["energy_hour"]["items"])
    starts = list(hours)
    # The hour after 01:00 CET is 03:00 CEST: the day has 23 hours.
    assert starts[starts.index("2026-03-29T01:00:00+01:00") + 1] == "2026-03-29T03:00:00+02:00"
    assert hours["2026-03-28T23:00:00+01:00"] == 1000.0 and hours["2026-03-29T00:00:00+01:00"] == 2000.0
    assert hours["2026-03-29T01:00:00+01:00"] == 2000.0 and hours["2026-03-29T03:00:00+02:00"] == 1000.0
    assert len([s for s in starts if s.startswith("2026-03-29")]) == 23
    assert by_period(reports["energy_month"]["items"]) == {"2026-03-01T00:00:00+00:00": 10000.0}
    assert by_period(reports["energy_months_berlin"]["items"]) == {
        "2026-03-01T00:00:00+01:00": 10000.0, "2026-04-01T00:00:00+02:00": 0.0,
    }
    assert reports["by_cp_months"]["items"] == reports["by_cp"]["items"]
    assert reports["by_tag_months"]["items"] == reports["by_tag"]["items"]
    for key in ("count", "flagged", "duration_s", "energy_wh", "idle_s", "by_hour_of_day", "by_day_of_week"):
        assert reports["sessions_months"][key] == reports["sessions"][key], key

    assert reports["by_cp"]["items"] == [
        {"charge_point_id": "CP-R1", "energy_wh": 9000.0, "sessions": 2},
        {"charge_point_id": "CP-R2", "energy_wh": 1000.0, "sessions": 1},
    ]
    assert reports["by_cp_16"]["items"] == reports["by_cp"]["items"] and reports["by_cp_201"]["items"] == []
    assert reports["cp2"]["total_energy_wh"] == 1000.0 and reports["tag_a"]["total_energy_wh"] == 6000.0
    assert reports["fleet"]["items"] == [{"charge_point_id": "CP-R1", "energy_wh": 6000.0, "sessions": 1}]
    assert reports["by_tag"]["items"] == [
        {"id_tag": "TAG-A", "parent_id_tag": "FLEET", "energy_wh": 6000.0, "sessions": 1},
        {"id_tag": "TAG-B", "parent_id_tag": None, "energy_wh": 4000.0, "sessions": 2},
    ]
    assert reports["by_parent"]["items"] == [
        {"parent_id_tag": "FLEET", "energy_wh": 6000.0, "sessions": 1, "id_tags": 1},
        {"parent_id_tag": None, "energy_wh": 4000.0, "sessions": 2, "id_tags": 1},
    ]

    sessions = reports["sessions"]
    assert sessions["count"] == 3 and sessions["flagged"] == 1
    assert sessions["duration_s"] == {"total": 12600 + 7200 + 3600, "mean": 7800.0}
    assert sessions["energy_wh"]["total"] == 10000.0
    assert sessions["idle_s"] == {"total": 3600.0, "mean": 3600.0, "sessions": 1}
    assert [b["count"] for b in sessions["energy_distribution"]] == [0, 2, 1, 0, 0, 0]
    assert [b["count"] for b in sessions["duration_distribution"]] == [0, 0, 0, 1, 2, 0, 0]
    hours_of_day = {h["hour"]: h["count"] for h in sessions["by_hour_of_day"] if h["count"]}
    assert hours_of_day == {23: 1, 12: 1, 2: 1}  # local start hours
    days = {d["name"]: d["count"] for d in sessions["by_day_of_week"] if d["count"]}
    assert days == {"Saturday": 1, "Monday": 1, "Tuesday": 1}

    # 29 March in Berlin: 23 hours = 82800 s.
    connector_1 = next(i for i in reports["utilisation"]["items"] if i["charge_point_id"] == "CP-R1" and i["connector_id"] == 1)
    assert connector_1["seconds"] == {"charging": 9000.0, "occupied": 3600.0, "available": 70200.0,
                                      "unavailable": 0.0, "faulted": 0.0, "unknown": 0.0}
    assert connector_1["shares"]["charging"] == round(9000 / 82800, 6)
    connector_2 = next(i for i in reports["utilisation"]["items"] if i["connector_id"] == 2)
    assert connector_2["seconds"]["unknown"] == 82800.0  # it reported nothing before the 30th

    # From 29 March 01:00Z: the last half hour of charging, SuspendedEV and Finishing, then
    # Available but for the half-hour fault, up to 2 May 10:00Z.
    edges = {(i["charge_point_id"], i["connector_id"]): i["seconds"] for i in reports["utilisation_edges"]["items"]}
    assert {k: edges[("CP-R1", 1)][k] for k in ("charging", "occupied", "available", "faulted")} == {
        "charging": 1800.0, "occupied": 3600.0, "available": 2962800.0, "faulted": 1800.0}
    assert edges[("CP-R1", 2)]["charging"] == 7200.0
    months = {(i["charge_point_id"], i["connector_id"]): i["seconds"] for i in reports["utilisation_months"]["items"]}
    assert {k: months[("CP-R1", 1)][k] for k in ("charging", "occupied", "available", "faulted")} == {
        "charging": 10800.0, "occupied": 4200.0, "available": 2971200.0, "faulted": 1800.0}

    peak = reports["peak"]
    assert peak["network_peak_w"] == 5000.0 and peak["network_peak_at"] == "2026-03-29T03:00:00+02:00"
    assert by_period(peak["items"], "peak_power_w") == {
        "2026-03-28T00:00:00+01:00": 1000.0,  # 1000 Wh in 23:00-24:00 CET without a power sample there
        "2026-03-29T00:00:00+01:00": 5000.0,
        "2026-03-30T00:00:00+02:00": 2000.0,
        "2026-03-31T00:00:00+02:00": 1000.0,
    }
    assert peak["by_charge_point"][0] == {"charge_point_id": "CP-R1", "peak_power_w": 5000.0,
                                          "peak_at": "2026-03-29T03:00:00+02:00"}

    r1 = next(i for i in reports["faults"]["items"] if i["charge_point_id"] == "CP-R1")
    assert r1["faults"] == 1 and r1["faults_by_error_code"] == {"GroundFailure": 1}


async def test_reports_of_a_known_network_live_and_rebuilt(server, api, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await build_network(api, connect)
    await server.services.rollups.flush()  # what the server writes every second anyway
    live = await every_report(api)
    check(live)

    # Failed starts and connections happen in the server's time: read them for today.
    today = await report(api, "reliability", charge_point_id="CP-R1")
    r1 = today["items"][0]
    assert r1["failed_starts"] == {"remote_start_rejected": 1, "invalid": 1, "blocked": 1, "total": 3}
    assert r1["reconnects"] == 1 and r1["faults"] == 0

    csv = await api.get("/api/v1/reports/energy", params={**BERLIN, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[:3] == [
        "period_start,energy_wh", "2026-03-28T00:00:00+01:00,1000.0", "2026-03-29T00:00:00+01:00,5000.0",
    ]

    # The rebuild, from transactions, meter values and status history, gives the same answers.
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url,
           "VOLTLINE_REPORTS_TIME_ZONE": server.settings.reports_time_zone}
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "voltline"), "reports", "rebuild"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "3 transactions" in done.stdout
    rebuilt = await every_report(api)
    assert rebuilt == live


async def test_status_history_keeps_every_notification_in_the_charge_points_time(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-H"})).status_code == 201
    cp = await connect("CP-H")
    await cp.boot()
    await status(cp, 1, "Available", "2026-05-01T10:00:00Z")
    await status(cp, 1, "Faulted", "2026-05-01T11:00:00Z", "GroundFailure")
    # Queued while offline and delivered late: older than the connector's status, still kept.
    await status(cp, 1, "Preparing", "2026-05-01T10:30:00Z")
    await status(cp, 2, "Available", "2026-05-01T09:00:00Z")

    page = (await api.get("/api/v1/charge-points/CP-H/status-history", params={"limit": 2})).json()
    assert page["total"] == 4
    assert [(i["connector_id"], i["status"], i["timestamp"]) for i in page["items"]] == [
        (1, "Faulted", "2026-05-01T11:00:00Z"), (1, "Preparing", "2026-05-01T10:30:00Z"),
    ]
    assert page["items"][0]["error_code"] == "GroundFailure"
    rest = (await api.get("/api/v1/charge-points/CP-H/status-history",
                          params={"limit": 2, "after": page["next_cursor"]})).json()
    assert [(i["connector_id"], i["status"]) for i in rest["items"]] == [(1, "Available"), (2, "Available")]
    one = (await api.get("/api/v1/charge-points/CP-H/status-history", params={"connector_id": 2})).json()
    assert [i["status"] for i in one["items"]] == ["Available"]
    assert (await api.get("/api/v1/charge-points/NOPE/status-history")).status_code == 404

    # The late Preparing took its half hour from Available.
    util = await report(api, "utilisation", charge_point_id="CP-H", **{"from": "2026-05-01T10:00:00Z", "to": "2026-05-01T11:00:00Z"})
    c1 = next(i for i in util["items"] if i["connector_id"] == 1)
    assert c1["seconds"]["available"] == 1800.0 and c1["seconds"]["occupied"] == 1800.0
