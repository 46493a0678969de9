"""The device model of 2.0.1 stations over real WebSockets, with the `ocpp` package's ChargePoint
as the station: reports in parts, variables read and set, the inventory at the first boot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration.v201_station import connected, report_entry, until
from voltline.app import Voltline
from voltline.services.device_model.views import DeviceModelViews
from voltline.store import tables as t

EVSE_1 = {"id": 1}


def three_parts() -> list[list[dict[str, Any]]]:
    return [
        [report_entry("SecurityCtrlr", "OrganizationName", "Voltline"),
         report_entry("SecurityCtrlr", "BasicAuthPassword", None, mutability="WriteOnly"),
         report_entry("OCPPCommCtrlr", "HeartbeatInterval", "300", unit="s", data_type="integer")],
        [report_entry("EVSE", "Power", "22000", mutability="ReadOnly", evse=EVSE_1, unit="W", data_type="decimal"),
         report_entry("EVSE", "AvailabilityState", "Available", mutability="ReadOnly", evse=EVSE_1)],
        [report_entry("EVSE", "Power", "11000", mutability="ReadOnly", evse={"id": 2}, unit="W", data_type="decimal"),
         report_entry("DeviceDataCtrlr", "ItemsPerMessage", "20", mutability="ReadOnly", data_type="integer")],
    ]


async def _register(server: Voltline, identity: str, status: str = "Accepted") -> None:
    await server.services.charge_points.register(identity, registration_status=status)


async def _variables(api: httpx.AsyncClient, identity: str, **params: Any) -> dict[str, Any]:
    response = await api.get(f"/api/v1/charge-points/{identity}/variables", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _report_complete(api: httpx.AsyncClient, identity: str) -> bool:
    reports = (await api.get(f"/api/v1/charge-points/{identity}/device-model-reports")).json()["items"]
    return bool(reports) and reports[0]["complete"]


async def test_a_full_inventory_in_three_parts_is_asked_at_the_first_boot_stored_and_listed(
    server: Voltline, api: httpx.AsyncClient
) -> None:
    await _register(server, "DM-1")
    async with connected(server.ocpp_port, "DM-1", parts=three_parts()) as station:
        boot = await station.boot()
        assert boot.status == "Accepted"
        await until(lambda: _report_complete(api, "DM-1"))
        assert station.base_reports == [(1, "FullInventory")]
        assert station.notify_answers and len(station.notify_answers) == 3

    report = (await api.get("/api/v1/charge-points/DM-1/device-model-reports/1")).json()
    assert (report["kind"], report["status"], report["parts"], report["variables"], report["last_seq_no"]) == (
        "FullInventory", "Accepted", 3, 7, 2)

    every = await _variables(api, "DM-1")
    assert every["total"] == 7
    power = next(v for v in every["items"] if v["variable"] == "Power" and v["evse_id"] == 1)
    assert {k: power[k] for k in ("component", "component_instance", "evse_id", "connector_id", "variable",
                                  "variable_instance", "attribute_type", "value", "mutability", "data_type", "unit")} == {
        "component": "EVSE", "component_instance": None, "evse_id": 1, "connector_id": None, "variable": "Power",
        "variable_instance": None, "attribute_type": "Actual", "value": "22000", "mutability": "ReadOnly",
        "data_type": "decimal", "unit": "W"}
    password = next(v for v in every["items"] if v["variable"] == "BasicAuthPassword")
    assert (password["mutability"], password["value"]) == ("WriteOnly", None)

    # Filters and paging.
    evse = await _variables(api, "DM-1", component="EVSE")
    assert [(v["evse_id"], v["variable"]) for v in evse["items"]] == [(1, "AvailabilityState"), (1, "Power"), (2, "Power")]
    assert [v["variable"] for v in (await _variables(api, "DM-1", evse_id=2))["items"]] == ["Power"]
    assert (await _variables(api, "DM-1", variable="Power"))["total"] == 2
    assert (await _variables(api, "DM-1", mutability="ReadWrite"))["total"] == 2
    assert [v["variable"] for v in (await _variables(api, "DM-1", q="heartbeat"))["items"]] == ["HeartbeatInterval"]
    assert [v["value"] for v in (await _variables(api, "DM-1", q="voltl"))["items"]] == ["Voltline"]
    first, second = await _variables(api, "DM-1", limit=4), await _variables(api, "DM-1", limit=4, offset=4)
    names = [(v["component"], v["evse_id"], v["variable"]) for v in first["items"] + second["items"]]
    assert len(first["items"]) == 4 and len(second["items"]) == 3 and len(set(names)) == 7


async def test_the_inventory_is_asked_at_the_first_boot_only(server: Voltline, api: httpx.AsyncClient) -> None:
    await _register(server, "DM-2")
    async with connected(server.ocpp_port, "DM-2", parts=three_parts()) as station:
        await station.boot()
        await until(lambda: _report_complete(api, "DM-2"))
    async with connected(server.ocpp_port, "DM-2", parts=three_parts()) as station:
        assert (await station.boot()).status == "Accepted"
        # The boot's own follow-up (the check, and a request if it made one) is over.
        await server.services.device_model.after_boot_done()
        assert station.base_reports == []
    reports = (await api.get("/api/v1/charge-points/DM-2/device-model-reports")).json()
    assert reports["total"] == 1


async def test_get_and_set_variables_through_the_api_keep_every_answer(server: Voltline, api: httpx.AsyncClient) -> None:
    await _register(server, "DM-3", status="Pending")  # no inventory at boot: only what the test asks
    async with connected(server.ocpp_port, "DM-3") as station:
        await station.boot()
        station.values = {("OCPPCommCtrlr", "HeartbeatInterval"): "300", ("TxCtrlr", "EVConnectionTimeOut"): "60",
                          ("SecurityCtrlr", "Identity"): "DM-3"}
        station.read_only = {("SecurityCtrlr", "Identity")}
        station.reboot_required = {("TxCtrlr", "EVConnectionTimeOut")}

        read = await api.post("/api/v1/charge-points/DM-3/variables/get", json={"variables": [
            {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
            {"component": "OCPPCommCtrlr", "variable": "NoSuchThing"},
        ]})
        assert read.status_code == 200, read.text
        assert [(r["variable"], r["attribute_status"], r["value"]) for r in read.json()["results"]] == [
            ("HeartbeatInterval", "Accepted", "300"), ("NoSuchThing", "UnknownVariable", None)]

        changed = await api.post("/api/v1/charge-points/DM-3/variables/set", json={"variables": [
            {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "120"},
            {"component": "TxCtrlr", "variable": "EVConnectionTimeOut", "value": "90"},
            {"component": "SecurityCtrlr", "variable": "Identity", "value": "other"},
        ]})
        assert changed.status_code == 200, changed.text
        assert [r["attribute_status"] for r in changed.json()["results"]] == ["Accepted", "RebootRequired", "Rejected"]

    stored = {(v["component"], v["variable"]): v for v in (await _variables(api, "DM-3"))["items"]}
    assert {k: (v["value"], v["source"], v["status"]) for k, v in stored.items()} == {
        ("OCPPCommCtrlr", "HeartbeatInterval"): ("120", "set", "Accepted"),
        ("OCPPCommCtrlr", "NoSuchThing"): (None, "get", "UnknownVariable"),
        ("TxCtrlr", "EVConnectionTimeOut"): ("90", "set", "RebootRequired"),
        ("SecurityCtrlr", "Identity"): (None, "set", "Rejected"),
    }


async def test_results_are_kept_when_sent_through_the_generic_command(server: Voltline, api: httpx.AsyncClient) -> None:
    await _register(server, "DM-4", status="Pending")
    async with connected(server.ocpp_port, "DM-4") as station:
        await station.boot()
        station.values = {("SampledDataCtrlr", "TxUpdatedInterval"): "30"}
        answer = await api.post("/api/v1/charge-points/DM-4/commands/SetVariables", json={"setVariableData": [
            {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}, "attributeValue": "15"}]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["setVariableResult"][0]["attributeStatus"] == "Accepted"
    [row] = (await _variables(api, "DM-4"))["items"]
    assert (row["variable"], row["value"], row["status"]) == ("TxUpdatedInterval", "15", "Accepted")


async def test_a_pending_station_may_send_its_report_after_get_base_report(server: Voltline, api: httpx.AsyncClient) -> None:
    await _register(server, "DM-5", status="Pending")
    async with connected(server.ocpp_port, "DM-5", parts=three_parts()) as station:
        assert (await station.boot()).status == "Pending"
        await server.services.device_model.after_boot_done()
        assert station.base_reports == []  # not Accepted: not asked at boot
        requested = await api.post("/api/v1/charge-points/DM-5/device-model-reports", json={"report_base": "FullInventory"})
        assert requested.status_code == 200, requested.text
        assert requested.json()["status"] == "Accepted"
        await until(lambda: _report_complete(api, "DM-5"))
        assert len(station.notify_answers) == 3
    assert (await _variables(api, "DM-5"))["total"] == 7


async def test_a_report_of_20000_variables_in_20_parts_is_stored_whole(server: Voltline, api: httpx.AsyncClient) -> None:
    parts = [
        [report_entry(f"Controller{part}", f"Variable{i}", str(part * 1000 + i), data_type="integer") for i in range(1000)]
        for part in range(20)
    ]
    await _register(server, "DM-BIG")
    async with connected(server.ocpp_port, "DM-BIG", parts=parts) as station:
        await station.boot()
        await until(lambda: _report_complete(api, "DM-BIG"), timeout=120)
        assert len(station.notify_answers) == 20
    report = (await api.get("/api/v1/charge-points/DM-BIG/device-model-reports")).json()["items"][0]
    assert (report["parts"], report["variables"]) == (20, 20_000)
    assert (await _variables(api, "DM-BIG", limit=1))["total"] == 20_000
    [last] = (await _variables(api, "DM-BIG", component="Controller19", variable="Variable999"))["items"]
    assert last["value"] == "19999"


async def test_get_report_carries_its_filters_and_is_tracked_with_them(server: Voltline, api: httpx.AsyncClient) -> None:
    await _register(server, "DM-6", status="Pending")
    async with connected(server.ocpp_port, "DM-6") as station:
        await station.boot()
        requested = await api.post("/api/v1/charge-points/DM-6/device-model-reports", json={
            "component_variables": [{"component": "EVSE", "evse_id": 1, "connector_id": 2, "variable": "Power"},
                                    {"component": "SecurityCtrlr"}],
            "component_criteria": ["Problem"],
        })
        assert requested.status_code == 200, requested.text
        body = requested.json()
        assert (body["status"], body["report"]["kind"], body["report"]["status"]) == ("Accepted", "Custom", "Accepted")
        [asked] = station.reports
        assert asked["request_id"] == body["request_id"]
        assert asked["component_criteria"] == ["Problem"]
        assert asked["component_variable"] == [
            {"component": {"name": "EVSE", "evse": {"id": 1, "connector_id": 2}}, "variable": {"name": "Power"}},
            {"component": {"name": "SecurityCtrlr"}},
        ]
        both = await api.post("/api/v1/charge-points/DM-6/device-model-reports",
                              json={"report_base": "FullInventory", "component_criteria": ["Active"]})
        assert both.status_code == 400
    assert body["report"]["criteria"]["component_criteria"] == ["Problem"]


async def test_a_16_charge_point_has_no_device_model_to_read(server: Voltline, api: httpx.AsyncClient, connect: Any) -> None:
    await _register(server, "DM-16")
    await connect("DM-16")
    await until(lambda: server.services.commands.is_connected("DM-16"))
    read = await api.post("/api/v1/charge-points/DM-16/variables/get",
                          json={"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]})
    assert read.status_code == 400, read.text
    assert read.json()["error"]["code"] == "not_in_version"
    report = await api.post("/api/v1/charge-points/DM-16/device-model-reports", json={"report_base": "FullInventory"})
    assert report.status_code == 400
    assert (await _variables(api, "DM-16"))["total"] == 0


async def test_an_offline_station_is_asked_nothing_and_no_report_is_recorded(server: Voltline, api: httpx.AsyncClient) -> None:
    await _register(server, "DM-OFF")
    requested = await api.post("/api/v1/charge-points/DM-OFF/device-model-reports", json={"report_base": "FullInventory"})
    assert requested.status_code == 409
    assert (await api.get("/api/v1/charge-points/DM-OFF/device-model-reports")).json()["total"] == 0


async def test_a_report_never_answered_by_notify_report_times_out(server: Voltline, api: httpx.AsyncClient) -> None:
    """A station that accepts a report request and then sends no NotifyReport (it lost the
    request) never says so: after device_report_timeout without a part the report shows as timed
    out, while one whose parts keep coming, and one the station refused, say what they are."""
    assert server.settings.device_report_timeout == 900
    await _register(server, "DM-LOST")
    async with connected(server.ocpp_port, "DM-LOST", parts=[]) as station:
        assert (await station.boot()).status == "Accepted"
        await until(lambda: station.base_reports)  # the first boot's inventory, never sent
        asked = await api.post("/api/v1/charge-points/DM-LOST/device-model-reports", json={"report_base": "SummaryInventory"})
        assert asked.status_code == 200, asked.text
        assert (asked.json()["status"], asked.json()["report"]["state"]) == ("Accepted", "requested")

    async def state(request_id: int) -> str:
        return (await api.get(f"/api/v1/charge-points/DM-LOST/device-model-reports/{request_id}")).json()["state"]  # type: ignore[no-any-return]

    r = t.device_reports.c

    async def quiet_for(request_id: int, seconds: float, **values: Any) -> None:
        await server.store.commit_one(t.device_reports.update().where(r.charge_point_id == "DM-LOST", r.request_id == request_id)
                                      .values(updated_at=datetime.now(UTC) - timedelta(seconds=seconds), **values))

    await quiet_for(1, 899)
    assert await state(1) == "requested"
    # The setting says how long: a shorter one has timed it out already.
    assert (await DeviceModelViews(server.store, 600).report("DM-LOST", 1)).state == "timed out"
    await quiet_for(1, 901)
    assert await state(1) == "timed out"
    # Parts that stop coming time out alike; a part that still comes brings it back.
    await quiet_for(2, 901, parts=1, variables=5, last_seq_no=0)
    assert await state(2) == "timed out"
    await quiet_for(2, 10)
    assert await state(2) == "receiving"
    # A report the station refused will never come: it is refused, not timed out.
    await quiet_for(2, 901, status="Rejected")
    assert await state(2) == "refused"
    listed = (await api.get("/api/v1/charge-points/DM-LOST/device-model-reports")).json()["items"]
    assert [(i["request_id"], i["state"]) for i in listed] == [(2, "refused"), (1, "timed out")]
