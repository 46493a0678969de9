"""Firmware updates and diagnostics requests from the charge point page, through the firmware
service; the status notifications that follow are kept by the charge point service and shown
in the page's history as they arrive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from voltline.services.remote_control.request_checks import InvalidRequest
from voltline.services.node import Node
from voltline.web import commands
from voltline.web.form_fields import FieldError, answer, integer, moment, raw, text
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, operator_zone

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

LABELS = {"location": "Location", "retrieve_date": "Retrieve from", "retries": "Retries",
          "retry_interval": "Retry interval", "start_time": "From", "stop_time": "Until"}


@router.post("/firmware-updates")
async def update_firmware(request: Request) -> Response:
    def values(form: FormData, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "location": text(form, "location", "Location"),
            "retrieve_date": moment(form, "retrieve_date", "Retrieve from", zone),
            "retries": integer(form, "retries", "Retries", required=False),
            "retry_interval": integer(form, "retry_interval", "Retry interval", required=False),
        }

    return await _send(request, "UpdateFirmware", values, lambda firmware: firmware.update_firmware)


@router.post("/diagnostics-requests")
async def get_diagnostics(request: Request) -> Response:
    def values(form: FormData, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "location": text(form, "location", "Location"),
            "start_time": moment(form, "start_time", "From", zone, required=False),
            "stop_time": moment(form, "stop_time", "Until", zone, required=False),
            "retries": integer(form, "retries", "Retries", required=False),
            "retry_interval": integer(form, "retry_interval", "Retry interval", required=False),
        }

    return await _send(request, "GetDiagnostics", values, lambda firmware: firmware.get_diagnostics)


async def _send(
    request: Request,
    action: str,
    read: Callable[[FormData, ZoneInfo], dict[str, Any]],
    verb: Callable[[Any], Callable[..., Awaitable[Any]]],
) -> Response:
    """Read the form's fields (a field at fault is named and nothing is sent), then call the
    firmware service's `verb` and show its outcome."""
    node = dashboard(request).node
    form = await request.form()
    charge_point_id = raw(form, "charge_point_id")
    try:
        values = read(form, operator_zone(request))
    except FieldError as exc:
        outcome = commands.Outcome("invalid", f"{action} was not sent: {exc.message}")
    else:
        call = verb(node.services.firmware)
        outcome = await _run(node, charge_point_id, action,
                             lambda timeout: call(charge_point_id, timeout=timeout, **values))
        if outcome.ok and outcome.response and outcome.response.get("fileName"):
            outcome.message = f"{charge_point_id} will upload {outcome.response['fileName']}"
    return answer(request, outcome, raw(form, "next"), f"/charge-points/{charge_point_id}")


async def _run(node: Node, charge_point_id: str, action: str, call: Any) -> commands.Outcome:
    """The outcome, with the service's problems named by the form's labels, not the wire's names."""
    refused: list[InvalidRequest] = []

    async def checked(timeout: float) -> Any:
        try:
            return await call(timeout)
        except InvalidRequest as exc:
            refused.append(exc)
            raise

    outcome = await commands.run(node, charge_point_id, action, checked)
    if refused:
        listed = "; ".join(f"{LABELS.get(p.field, p.field)}: {p.message}" for p in refused[0].problems)
        outcome.message = f"{action} was not sent: {listed}"
    return outcome
