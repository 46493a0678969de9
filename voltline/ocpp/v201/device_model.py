"""The device model of a 2.0.1 charge point: NotifyReport, GetBaseReport / GetReport, GetVariables / SetVariables (block B)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.context import Context

# After a GetBaseReport / GetReport is accepted, a station that is not (yet) Accepted may send its
# NotifyReports (B02.FR.04); a full inventory of a big station comes in many parts.
REPORT_WITHIN_S = 600.0
REPORT_REQUESTS = frozenset({"GetBaseReport", "GetReport"})


def report_triggered(action: str) -> tuple[str, float | None] | None:
    """The NotifyReports a report request lets through, and for how long (see outbound.triggered)."""
    return ("NotifyReport", REPORT_WITHIN_S) if action in REPORT_REQUESTS else None


# -- 2.0.1 → domain -----------------------------------------------------------------------------


def read_component(p: Mapping[str, Any]) -> c.Component:
    evse = p.get("evse")
    if evse is None:
        return c.Component(p["name"], p.get("instance"))
    return c.Component(p["name"], p.get("instance"), evse["id"], evse.get("connectorId"))


def read_variable(p: Mapping[str, Any]) -> c.Variable:
    return c.Variable(p["name"], p.get("instance"))


def _attribute(p: Mapping[str, Any]) -> c.ReportedAttribute:
    # OCPP's defaults when a field is left out (2.0.1 Part 2 §2 VariableAttributeType).
    return c.ReportedAttribute(
        p.get("type", "Actual"), p.get("value"), p.get("mutability", "ReadWrite"),
        bool(p.get("persistent", False)), bool(p.get("constant", False)),
    )


def _characteristics(p: Mapping[str, Any] | None) -> c.VariableCharacteristics | None:
    if p is None:
        return None
    return c.VariableCharacteristics(
        p["dataType"], p.get("unit"), p.get("minLimit"), p.get("maxLimit"), p.get("valuesList"),
        bool(p.get("supportsMonitoring", False)),
    )


def read_report_data(data: list[Mapping[str, Any]]) -> list[c.ReportedVariable]:
    return [
        c.ReportedVariable(
            read_component(d["component"]), read_variable(d["variable"]),
            tuple(_attribute(a) for a in d["variableAttribute"]), _characteristics(d.get("variableCharacteristics")),
        )
        for d in data
    ]


async def notify_report(ctx: Context, p: Payload) -> Payload:
    await ctx.services.device_model.report_received(
        ctx.identity, p["requestId"], p["seqNo"], bool(p.get("tbc", False)), timestamps.parse(p["generatedAt"]),
        read_report_data(p.get("reportData") or []),
    )
    return {}


HANDLERS: dict[str, Handler201] = {"NotifyReport": notify_report}


# -- domain → 2.0.1 -----------------------------------------------------------------------------


def component(component: c.Component) -> Payload:
    payload: Payload = {"name": component.name}
    if component.instance is not None:
        payload["instance"] = component.instance
    if component.evse_id is not None:
        evse: Payload = {"id": component.evse_id}
        if component.connector_id is not None:
            evse["connectorId"] = component.connector_id
        payload["evse"] = evse
    return payload


def variable(variable: c.Variable) -> Payload:
    payload: Payload = {"name": variable.name}
    if variable.instance is not None:
        payload["instance"] = variable.instance
    return payload


def _address(a: c.VariableAddress) -> Payload:
    return {"attributeType": a.attribute_type, "component": component(a.component), "variable": variable(a.variable)}


def _get_report(r: c.RequestReport) -> Payload:
    payload: Payload = {"requestId": r.request_id}
    if r.component_criteria:
        payload["componentCriteria"] = list(r.component_criteria)
    if r.component_variables:
        payload["componentVariable"] = [
            {"component": component(cv.component)} | ({"variable": variable(cv.variable)} if cv.variable else {})
            for cv in r.component_variables
        ]
    return payload


ENCODERS: Encoders = {
    c.RequestBaseReport: ("GetBaseReport", lambda r: {"requestId": r.request_id, "reportBase": r.report_base}),
    c.RequestReport: ("GetReport", _get_report),
    c.ReadVariables: ("GetVariables", lambda r: {"getVariableData": [_address(a) for a in r.variables]}),
    c.ChangeVariables: ("SetVariables", lambda r: {
        "setVariableData": [_address(ch.address) | {"attributeValue": ch.value} for ch in r.changes]}),
}


def read_address(p: Mapping[str, Any]) -> c.VariableAddress:
    return c.VariableAddress(read_component(p["component"]), read_variable(p["variable"]), p.get("attributeType", "Actual"))


def _read_get_report(p: Payload) -> c.RequestReport:
    cvs = tuple(
        c.ReportedComponentVariable(read_component(cv["component"]),
                                    read_variable(cv["variable"]) if "variable" in cv else None)
        for cv in p.get("componentVariable") or ()
    )
    return c.RequestReport(p["requestId"], cvs, tuple(p.get("componentCriteria") or ()))


READERS: Readers = {
    "GetBaseReport": lambda p: c.RequestBaseReport(p["requestId"], p["reportBase"]),
    "GetReport": _read_get_report,
    "GetVariables": lambda p: c.ReadVariables(tuple(read_address(d) for d in p["getVariableData"])),
    "SetVariables": lambda p: c.ChangeVariables(
        tuple(c.VariableChange(read_address(d), d["attributeValue"]) for d in p["setVariableData"])),
}


def _reason(p: Mapping[str, Any]) -> str | None:
    info = p.get("attributeStatusInfo")
    return info.get("reasonCode") if isinstance(info, Mapping) else None


ANSWERS: Answers = {
    "GetVariables": lambda p: c.VariablesRead(None, tuple(
        c.VariableRead(read_address(r), r["attributeStatus"], r.get("attributeValue"), _reason(r))
        for r in p.get("getVariableResult") or ()
    )),
    "SetVariables": lambda p: c.VariablesChanged(None, tuple(
        c.VariableSet(read_address(r), r["attributeStatus"], _reason(r)) for r in p.get("setVariableResult") or ()
    )),
}
