"""Charge points: register (with an optional Basic-auth password), list, read with connectors and
live state, change, delete; their configuration, local list and firmware / diagnostics history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from voltline.api.deps import ChargePointIdPath, IntPath, Limit, NodeDep, Offset, ServicesDep, TextQuery, page_out
from voltline.api.openapi import answers, exists, unknown
from voltline.services.provisioning.views import ChargePointFilter
from voltline.api.schemas import (
    ChargePointEventOut,
    CustomerInformationOut,
    ChargePointIn,
    ChargePointOut,
    ChargePointPatch,
    ConfigurationKeyOut,
    LocalListOut,
    Page,
    RegistrationStatus,
)

router = APIRouter(prefix="/charge-points", tags=["charge points"])

UNKNOWN = answers(unknown("charge point"))


@router.post("", status_code=201, summary="Register a charge point", responses=answers(exists("charge point")))
async def register(body: ChargePointIn, services: ServicesDep) -> ChargePointOut:
    await services.charge_points.register(
        body.id,
        password=body.password,
        description=body.description,
        registration_status=body.registration_status,
        ping_interval=body.ping_interval,
        lenient_actions=body.lenient_actions,
        security_profile=body.security_profile,
    )
    return ChargePointOut.model_validate(await services.views.charge_points.charge_point(body.id))


@router.get("", summary="List charge points")
async def list_charge_points(
    services: ServicesDep,
    connected: Annotated[bool | None, Query(description="only those (not) connected now")] = None,
    registration_status: RegistrationStatus | None = None,
    q: Annotated[TextQuery, Query(description="part of the id, description, vendor, model or a serial number, any case")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ChargePointOut]:
    where = ChargePointFilter(connected=connected, registration_status=registration_status, search=q)
    page = await services.views.charge_points.charge_points(where, limit=limit, offset=offset)
    return Page[ChargePointOut].model_validate(page_out(page))


@router.get("/{charge_point_id}", summary="A charge point with its connectors and live state", responses=UNKNOWN)
async def get_charge_point(charge_point_id: ChargePointIdPath, services: ServicesDep) -> ChargePointOut:
    return ChargePointOut.model_validate(await services.views.charge_points.charge_point(charge_point_id))


@router.patch("/{charge_point_id}", summary="Change a charge point", responses=UNKNOWN)
async def update_charge_point(
    charge_point_id: ChargePointIdPath, body: ChargePointPatch, services: ServicesDep
) -> ChargePointOut:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("registration_status", "lenient_actions", "security_profile"):  # these cannot be cleared
        if name in changes and changes[name] is None:
            del changes[name]
    await services.views.charge_points.require_charge_point(charge_point_id)
    await services.charge_points.update(charge_point_id, **changes)
    return ChargePointOut.model_validate(await services.views.charge_points.charge_point(charge_point_id))


@router.delete("/{charge_point_id}", status_code=204, summary="Delete a charge point and its history", responses=UNKNOWN)
async def delete_charge_point(charge_point_id: ChargePointIdPath, node: NodeDep) -> Response:
    await node.services.charge_points.delete(charge_point_id)
    # A deleted charge point may not stay connected.
    node.connections.disconnect(charge_point_id)
    return Response(status_code=204)


@router.get("/{charge_point_id}/configuration", summary="Configuration as last read with GetConfiguration", responses=UNKNOWN)
async def configuration(
    charge_point_id: ChargePointIdPath, services: ServicesDep, limit: Limit = 500, offset: Offset = 0
) -> Page[ConfigurationKeyOut]:
    await services.views.charge_points.require_charge_point(charge_point_id)
    keys = await services.views.configuration.keys(charge_point_id)
    return Page[ConfigurationKeyOut].model_validate(
        {"items": keys[offset : offset + limit], "total": len(keys), "limit": limit, "offset": offset}
    )


@router.get(
    "/{charge_point_id}/local-list", summary="The local authorization list the charge point last accepted", responses=UNKNOWN
)
async def local_list(charge_point_id: ChargePointIdPath, services: ServicesDep) -> LocalListOut:
    return LocalListOut.model_validate(await services.views.local_lists.local_list(charge_point_id))


@router.get(
    "/{charge_point_id}/customer-information/{request_id}",
    summary="What a 2.0.1 charge point reported for a CustomerInformation request, its parts put together",
    responses=UNKNOWN,
)
async def customer_information(
    charge_point_id: ChargePointIdPath, request_id: IntPath, services: ServicesDep
) -> CustomerInformationOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    return CustomerInformationOut.model_validate(
        await services.views.events.customer_information(charge_point_id, request_id)
    )


@router.get(
    "/{charge_point_id}/events",
    summary="Firmware, diagnostics, log, security and (2.0.1) monitoring events: our requests and the notifications"
    " that followed",
    responses=UNKNOWN,
)
async def events(
    charge_point_id: ChargePointIdPath,
    services: ServicesDep,
    kind: Literal[
        "firmware", "diagnostics", "log", "signed_firmware", "security", "event", "customer_information"
    ] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ChargePointEventOut]:
    await services.views.charge_points.require_charge_point(charge_point_id)
    page = await services.views.events.history(charge_point_id, kind=kind, limit=limit, offset=offset)
    return Page[ChargePointEventOut].model_validate(page_out(page))
