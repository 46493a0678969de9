"""A 2.0.1 charging station built on the `ocpp` package (an implementation independent of ours),
with a device model it reports, reads and changes as a real one does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result

Address = tuple[str, str]  # (component, variable) of the Actual attribute


def report_entry(component: str, variable: str, value: str | None, *, mutability: str = "ReadWrite",
                 evse: dict[str, int] | None = None, unit: str | None = None, data_type: str = "string") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "component": {"name": component} | ({"evse": evse} if evse else {}),
        "variable": {"name": variable},
        "variableAttribute": [{"type": "Actual", "mutability": mutability}
                              | ({"value": value} if value is not None else {})],
        "variableCharacteristics": {"dataType": data_type, "supportsMonitoring": False} | ({"unit": unit} if unit else {}),
    }
    return entry


class Station(ChargePoint):
    """Answers GetBaseReport with `parts` (lists of reportData) sent as NotifyReports with tbc;
    GetVariables / SetVariables from `values` (what it does not hold is UnknownVariable)."""

    def __init__(self, identity: str, connection: Any, parts: list[list[dict[str, Any]]] | None = None) -> None:
        super().__init__(identity, connection)
        self.parts = parts or []
        self.values: dict[Address, str] = {}
        self.read_only: set[Address] = set()
        self.reboot_required: set[Address] = set()
        self.base_reports: list[tuple[int, str]] = []
        self.reports: list[dict[str, Any]] = []
        self.notify_answers: list[Any] = []

    @on("GetBaseReport")
    async def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> Any:
        self.base_reports.append((request_id, report_base))
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id: int, report_base: str, **_: Any) -> None:
        await self.send_report(request_id)

    @on("GetReport")
    async def on_get_report(self, request_id: int, **kwargs: Any) -> Any:
        self.reports.append({"request_id": request_id, **kwargs})
        return call_result.GetReport(status="Accepted")

    async def send_report(self, request_id: int) -> None:
        for seq_no, data in enumerate(self.parts):
            tbc = seq_no < len(self.parts) - 1
            answer = await self.call(call.NotifyReport(
                request_id=request_id, generated_at="2026-12-02T10:00:00Z", seq_no=seq_no, tbc=tbc, report_data=data))
            self.notify_answers.append(answer)

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for d in get_variable_data:
            address = (d["component"]["name"], d["variable"]["name"])
            known = address in self.values
            results.append({
                "attributeStatus": "Accepted" if known else "UnknownVariable",
                "attributeType": d.get("attribute_type", "Actual"),
                "component": _camel(d["component"]), "variable": d["variable"],
            } | ({"attributeValue": self.values[address]} if known else {}))
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for d in set_variable_data:
            address = (d["component"]["name"], d["variable"]["name"])
            if address not in self.values:
                status = "UnknownVariable"
            elif address in self.read_only:
                status = "Rejected"
            else:
                status = "RebootRequired" if address in self.reboot_required else "Accepted"
                self.values[address] = d["attribute_value"]
            results.append({"attributeStatus": status, "attributeType": d.get("attribute_type", "Actual"),
                            "component": _camel(d["component"]), "variable": d["variable"]})
        return call_result.SetVariables(set_variable_result=results)

    async def boot(self) -> Any:
        return await self.call(call.BootNotification(
            charging_station={"vendorName": "Independent", "model": "Station201"}, reason="PowerUp"))


def _camel(component: dict[str, Any]) -> dict[str, Any]:
    """A component as the library handed it (snake_case), back in the wire's spelling."""
    out: dict[str, Any] = {"name": component["name"]}
    if "instance" in component:
        out["instance"] = component["instance"]
    if "evse" in component:
        evse = component["evse"]
        out["evse"] = {"id": evse["id"]} | ({"connectorId": evse["connector_id"]} if "connector_id" in evse else {})
    return out


@asynccontextmanager
async def connected(port: int, identity: str, **kwargs: Any) -> AsyncIterator[Station]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{identity}", subprotocols=["ocpp2.0.1"]) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
        station = Station(identity, ws, **kwargs)
        task = asyncio.create_task(station.start())
        try:
            yield station
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def until(condition: Any, timeout: float = 20.0) -> None:
    """Wait for `condition()` (sync or async) to hold."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.05)
