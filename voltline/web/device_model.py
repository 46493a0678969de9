"""A 2.0.1 charge point's device model: its variables as last reported or read, filtered and
paged; one read again from its row (GetVariables), a writable one set (SetVariables); a report asked for (GetBaseReport), whose
NotifyReports fill the page as they come."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from voltline.ocpp import commands as c
from voltline.services.device_model.service import REPORT_BASES, DeviceModelService
from voltline.services.device_model.views import VariableFilter
from voltline.web import commands
from voltline.web.answers import answer_status
from voltline.web.form_fields import FieldError, answer, integer, raw, text
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

PAGE_SIZE = 50
MUTABILITIES = ("ReadWrite", "ReadOnly", "WriteOnly")
ATTRIBUTE_TYPES = ("Actual", "Target", "MinSet", "MaxSet")


def _tone(status: str) -> str:
    return answer_status({"status": status}).tone


@router.get("/charge-points/{charge_point_id:path}/variables")
async def variables(
    request: Request, charge_point_id: str, component: str = "", variable: str = "", evse_id: str = "",
    mutability: str = "", q: str = "", page: int = 1,
) -> Response:
    board = dashboard(request)
    point = await board.views.charge_points.find(charge_point_id)
    if point is None:
        raise PageNotFound(f"There is no charge point {charge_point_id!r}.")
    page = max(1, page)
    filters = {"component": component.strip(), "variable": variable.strip(),
               "evse_id": evse_id.strip() if evse_id.strip().isdigit() else "",
               "mutability": mutability if mutability in MUTABILITIES else "", "q": q.strip()}
    views = board.views.device_model
    found = await views.variables(
        charge_point_id,
        VariableFilter(component=filters["component"] or None, variable=filters["variable"] or None,
                       evse_id=int(filters["evse_id"]) if filters["evse_id"] else None,
                       mutability=filters["mutability"] or None, search=filters["q"] or None),
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )
    return render(request, "device_model.html", {
        "point": point, "online": point.connected, "variables": found.items, "total": found.total,
        "filters": filters, "components": await views.components(charge_point_id), "mutabilities": MUTABILITIES,
        "reports": (await views.reports(charge_point_id, limit=5)).items, "report_bases": REPORT_BASES,
        "page": page, "more": page * PAGE_SIZE < found.total, "tone": _tone,
        "base_query": urlencode({k: v for k, v in filters.items() if v}),
    })


def _address(form: FormData) -> c.VariableAddress:
    """The attribute a row's form names (its hidden fields)."""
    evse_id = integer(form, "evse_id", "EVSE", required=False)
    return c.VariableAddress(
        c.Component(text(form, "component", "Component") or "", text(form, "component_instance", "Instance", required=False),
                    evse_id, integer(form, "connector_id", "Connector", required=False) if evse_id else None),
        c.Variable(text(form, "variable", "Variable") or "", text(form, "variable_instance", "Instance", required=False)),
        raw(form, "attribute_type") if raw(form, "attribute_type") in ATTRIBUTE_TYPES else "Actual",
    )


async def _on_attribute(
    request: Request, charge_point_id: str, action: str,
    call: Callable[[DeviceModelService, c.VariableAddress, FormData], Callable[[float], Awaitable[Any]]],
) -> Response:
    """Read the row's attribute from the form, `call` the service with it, show the answer."""
    board = dashboard(request)
    form = await request.form()
    try:
        address = _address(form)
        verb = call(board.node.services.device_model, address, form)
    except FieldError as exc:
        outcome = commands.Outcome("invalid", f"{action} was not sent: {exc.message}")
    else:
        outcome = await commands.run(board.node, charge_point_id, action, verb)
        if outcome.status is not None and outcome.response is not None:
            outcome.message = (f"{charge_point_id} answered {action} of {address.component.name}."
                               f"{address.variable.name}: {outcome.status.label}")
    return answer(request, outcome, raw(form, "next"), f"/charge-points/{charge_point_id}/variables")


@router.post("/charge-points/{charge_point_id:path}/variables/set")
async def set_variable(request: Request, charge_point_id: str) -> Response:
    def call(device_model: DeviceModelService, address: c.VariableAddress, form: FormData) -> Any:
        value = raw(form, "value")
        if len(value) > 1000:
            raise FieldError("value", "Value: at most 1000 characters")
        change = (c.VariableChange(address, value),)
        return lambda timeout: device_model.change(charge_point_id, change, timeout=timeout)

    return await _on_attribute(request, charge_point_id, "SetVariables", call)


@router.post("/charge-points/{charge_point_id:path}/variables/get")
async def get_variable(request: Request, charge_point_id: str) -> Response:
    def call(device_model: DeviceModelService, address: c.VariableAddress, form: FormData) -> Any:
        return lambda timeout: device_model.read(charge_point_id, (address,), timeout=timeout)

    return await _on_attribute(request, charge_point_id, "GetVariables", call)


@router.post("/charge-points/{charge_point_id:path}/variables/report")
async def request_report(request: Request, charge_point_id: str) -> Response:
    board = dashboard(request)
    form = await request.form()
    report_base = raw(form, "report_base") or "FullInventory"
    if report_base not in REPORT_BASES:
        outcome = commands.Outcome("invalid", f"GetBaseReport was not sent: {report_base} is not a base report")
    else:
        device_model = board.node.services.device_model
        outcome = await commands.run(board.node, charge_point_id, "GetBaseReport",
                                     lambda timeout: device_model.request_base_report(
                                         charge_point_id, report_base, timeout=timeout))
    return answer(request, outcome, raw(form, "next"), f"/charge-points/{charge_point_id}/variables")
