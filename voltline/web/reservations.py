"""Reservations: the list with its filters, and ReserveNow / CancelReservation from the dashboard,
through the reservation service (the same rules and records as the REST API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from voltline.ocpp.commands import Reply
from voltline.services.errors import NotFound
from voltline.services.reservations.service import STATUSES
from voltline.web import commands
from voltline.web.form_fields import FieldError, answer, integer, moment, raw, text
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, operator_zone, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

PAGE_SIZE = 50


@router.get("/reservations")
async def reservation_list(
    request: Request, charge_point_id: str = "", status: str = "", active: str = "", page: int = 1
) -> Response:
    page = max(1, page)
    filters = {"charge_point_id": charge_point_id.strip(), "status": status if status in STATUSES else "",
               "active": active if active in ("yes", "no") else ""}
    found = await dashboard(request).views.reservations.reservations(
        charge_point_id=filters["charge_point_id"] or None,
        status=filters["status"] or None,
        active={"yes": True, "no": False}.get(filters["active"]),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "reservations.html", {
        "reservations": found.items, "total": found.total, "filters": filters, "statuses": STATUSES,
        "page": page, "more": page * PAGE_SIZE < found.total, "base_query": query,
    })


@router.post("/reservations")
async def reserve(request: Request) -> Response:
    node = dashboard(request).node
    form = await request.form()
    charge_point_id = raw(form, "charge_point_id")
    try:
        connector_id = integer(form, "connector_id", "Connector")
        id_tag = text(form, "id_tag", "Id tag")
        expiry = moment(form, "expiry_date", "Expiry", operator_zone(request))
    except FieldError as exc:
        outcome = commands.Outcome("invalid", f"ReserveNow was not sent: {exc.message}")
    else:
        async def call(timeout: float) -> Reply[Any]:
            reply, _ = await node.services.reservations.reserve(
                charge_point_id, connector_id, id_tag, expiry, timeout=timeout
            )
            return reply

        outcome = await commands.run(node, charge_point_id, "ReserveNow", call)
    return answer(request, outcome, raw(form, "next"), f"/charge-points/{charge_point_id}")


@router.post("/reservations/{reservation_id}/cancel")
async def cancel(request: Request, reservation_id: int) -> Response:
    node = dashboard(request).node
    form = await request.form()
    try:
        reservation = await node.services.reservations.get(reservation_id)
    except NotFound as exc:
        return answer(request, commands.Outcome("invalid", f"CancelReservation was not sent: {exc.message}"),
                       raw(form, "next"), "/reservations")

    async def call(timeout: float) -> Reply[Any]:
        reply, _ = await node.services.reservations.cancel(reservation_id, timeout=timeout)
        return reply

    outcome = await commands.run(node, reservation.charge_point_id, "CancelReservation", call)
    return answer(request, outcome, raw(form, "next"), "/reservations")
