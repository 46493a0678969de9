"""Reservations: made with ReserveNow, cancelled with CancelReservation."""

from __future__ import annotations

from fastapi import APIRouter

from voltline.api.deps import IntPath, IntQuery, Limit, Offset, ServicesDep, TextQuery, Timeout, page_out
from voltline.api.openapi import answers, calls_charge_point, conflict, invalid, unknown
from voltline.api.schemas import Page, ReservationIn, ReservationOut, ReservationResult

router = APIRouter(prefix="/reservations", tags=["reservations"])


@router.post(
    "",
    status_code=201,
    summary="Reserve a connector (ReserveNow)",
    description="The reservation is stored with the charge point's answer: Reserved when it accepted, "
    "else its refusal (Occupied, Faulted, Unavailable, Rejected).",
    responses=calls_charge_point(invalid("expiry_date is not in the future")),
)
async def reserve(body: ReservationIn, services: ServicesDep, timeout: Timeout = None) -> ReservationResult:
    await services.views.charge_points.require_charge_point(body.charge_point_id)
    reply, reservation = await services.reservations.reserve(
        body.charge_point_id,
        body.connector_id,
        body.id_tag,
        body.expiry_date,
        parent_id_tag=body.parent_id_tag,
        timeout=timeout,
    )
    return ReservationResult(status=reply.result.status, reservation=ReservationOut.model_validate(reservation))


@router.get("", summary="List reservations, newest first")
async def list_reservations(
    services: ServicesDep,
    charge_point_id: TextQuery = None,
    connector_id: IntQuery = None,
    id_tag: TextQuery = None,
    status: TextQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ReservationOut]:
    page = await services.views.reservations.reservations(
        charge_point_id=charge_point_id, connector_id=connector_id, id_tag=id_tag, status=status, limit=limit, offset=offset
    )
    return Page[ReservationOut].model_validate(page_out(page))


@router.get("/{reservation_id}", summary="A reservation", responses=answers(unknown("reservation")))
async def get_reservation(reservation_id: IntPath, services: ServicesDep) -> ReservationOut:
    return ReservationOut.model_validate(await services.reservations.get(reservation_id))


@router.delete(
    "/{reservation_id}",
    summary="Cancel a reservation (CancelReservation)",
    responses=calls_charge_point(unknown("reservation"), conflict("the reservation is no longer Reserved")),
)
async def cancel_reservation(reservation_id: IntPath, services: ServicesDep, timeout: Timeout = None) -> ReservationResult:
    reply, reservation = await services.reservations.cancel(reservation_id, timeout=timeout)
    return ReservationResult(status=reply.result.status, reservation=ReservationOut.model_validate(reservation))
