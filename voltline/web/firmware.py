"""Firmware updates and diagnostics requests from the charge point page, through the firmware
service; the status notifications that follow are kept by the charge point service and shown
in the page's history as they arrive."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from voltline.services.request_checks import InvalidRequest
from voltline.web import commands
from voltline.web.form_fields import FieldError, answer, integer, moment, raw, text
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, operator_zone

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

LABELS = {"location": "Location", "retrieveDate": "Retrieve from", "retries": "Retries",
          "retryInterval": "Retry interval", "startTime": "From", "stopTime": "Until"}


@router.post("/firmware-updates")
async def update_firmware(request: Request) -> Response:
    voltline = dashboard(request).voltline
    form = await request.form()
    charge_point_id = raw(form, "charge_point_id")
    zone = operator_zone(request)
    try:
        values = {
            "location": text(form, "location", "Location"),
            "retrieve_date": moment(form, "retrieve_date", "Retrieve from", zone),
            "retries": integer(form, "retries", "Retries", required=False),
            "retry_interval": integer(form, "retry_interval", "Retry interval", required=False),
        }
    except FieldError as exc:
        outcome = commands.Outcome("invalid", f"UpdateFirmware was not sent: {exc.message}")
    else:
        outcome = await _run(voltline, charge_point_id, "UpdateFirmware",
                             lambda timeout: voltline.services.firmware.update_firmware(
                                 charge_point_id, timeout=timeout, **values))
    return answer(request, outcome, raw(form, "next"), f"/charge-points/{charge_point_id}")


@router.post("/diagnostics-requests")
async def get_diagnostics(request: Request) -> Response:
    voltline = dashboard(request).voltline
    form = await request.form()
    charge_point_id = raw(form, "charge_point_id")
    zone = operator_zone(request)
    try:
        values = {
            "location": text(form, "location", "Location"),
            "start_time": moment(form, "start_time", "From", zone, required=False),
            "stop_time": moment(form, "stop_time", "Until", zone, required=False),
            "retries": integer(form, "retries", "Retries", required=False),
            "retry_interval": integer(form, "retry_interval", "Retry interval", required=False),
        }
    except FieldError as exc:
        outcome = commands.Outcome("invalid", f"GetDiagnostics was not sent: {exc.message}")
    else:
        outcome = await _run(voltline, charge_point_id, "GetDiagnostics",
                             lambda timeout: voltline.services.firmware.get_diagnostics(
                                 charge_point_id, timeout=timeout, **values))
        if outcome.ok and outcome.response and outcome.response.get("fileName"):
            outcome.message = f"{charge_point_id} will upload {outcome.response['fileName']}"
    return answer(request, outcome, raw(form, "next"), f"/charge-points/{charge_point_id}")


async def _run(voltline: Any, charge_point_id: str, action: str, call: Any) -> commands.Outcome:
    """The outcome, with the service's problems named by the form's labels, not the wire's names."""
    refused: list[InvalidRequest] = []

    async def checked(timeout: float) -> Any:
        try:
            return await call(timeout)
        except InvalidRequest as exc:
            refused.append(exc)
            raise

    outcome = await commands.run(voltline, charge_point_id, action, checked)
    if refused:
        listed = "; ".join(f"{LABELS.get(p.field, p.field)}: {p.message}" for p in refused[0].problems)
        outcome.message = f"{action} was not sent: {listed}"
    return outcome
