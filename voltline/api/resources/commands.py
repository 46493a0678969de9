"""Commands to a charge point: any OCPP action the Central System sends, and friendly shortcuts.

`POST /charge-points/{id}/commands/{Action}` takes the OCPP request payload as on the wire
(camelCase) and answers the charge point's OCPP response, in the charge point's own OCPP version.
404: unknown charge point or action; 400: the payload breaks that version's schema, or the action
is another version's; 409: the charge point is offline; 502: it answered a CALLERROR; 504: it did
not answer in time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from voltline.api.deps import ChargePointIdPath, ServicesDep, Timeout
from voltline.api.errors import ApiError
from voltline.api.openapi import NOT_OCPP, calls_charge_point, conflict, invalid, unknown
from voltline.api.schemas import (
    LocalListSyncIn,
    LocalListSyncOut,
    RemoteStartIn,
    RemoteStartOut,
    RemoteStartResult,
    RemoteStopIn,
    ResetIn,
    StatusOut,
)
from voltline.ocpp.versions import VERSIONS

# The actions of every version spoken; a charge point takes those of its own (400 for another
# version's, 404 for what no version has).
CENTRAL_SYSTEM_ACTIONS = VERSIONS.outbound_actions()
_BY_VERSION = "; ".join(f"OCPP {v.label}: {', '.join(sorted(v.actions))}" for v in VERSIONS)

router = APIRouter(prefix="/charge-points/{charge_point_id}", tags=["commands"])


@router.post(
    "/commands/{action}",
    summary="Send any OCPP action of the charge point's version to it",
    description="The body is the OCPP request payload, in the version the charge point speaks (its "
    "`ocpp_version`); an action of another version is refused (400). Actions: " + _BY_VERSION + ".",
    responses=calls_charge_point(
        NOT_OCPP,
        unknown("action the Central System sends"),
        conflict("what the command would record is taken (a reservation id of another charge point)"),
    ),
)
async def send_command(
    charge_point_id: ChargePointIdPath,
    action: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")],
    services: ServicesDep,
    payload: Annotated[dict[str, Any], Body(description="the OCPP request payload (camelCase)")] = {},  # noqa: B006
    timeout: Timeout = None,
) -> dict[str, Any]:
    if action not in VERSIONS.outbound_actions():
        raise ApiError(404, "unknown_action", f"{action!r} is not an action the Central System sends in any OCPP version")
    await services.views.charge_points.require_charge_point(charge_point_id)
    reply = await services.commands.send_as_written(charge_point_id, action, payload, timeout)
    return dict(reply.answer)


@router.post(
    "/remote-start",
    summary="Start charging remotely (RemoteStartTransaction; 2.0.1: RequestStartTransaction)",
    responses=calls_charge_point(
        NOT_OCPP, invalid("the id tag is not Accepted (with check_tag)"), conflict("no connector is free")
    ),
)
async def remote_start(
    charge_point_id: ChargePointIdPath, body: RemoteStartIn, services: ServicesDep, timeout: Timeout = None
) -> RemoteStartResult:
    await services.views.charge_points.require_charge_point(charge_point_id)
    reply, started = await services.remote_starts.start(
        charge_point_id,
        body.id_tag,
        connector_id=body.connector_id,
        evse_id=body.evse_id,
        charging_profile=body.charging_profile.to_domain() if body.charging_profile else None,
        check_tag=body.check_tag,
        wait=body.wait,
        wait_timeout=body.wait_timeout,
        timeout=timeout,
    )
    return RemoteStartResult(
        status=reply.result.status, transaction_id=started.transaction_id, remote_start=RemoteStartOut.model_validate(started)
    )


@router.post(
    "/remote-stop",
    summary="Stop a transaction remotely (RemoteStopTransaction; 2.0.1: RequestStopTransaction)",
    responses=calls_charge_point(unknown("transaction on this charge point"), conflict("the transaction has stopped")),
)
async def remote_stop(
    charge_point_id: ChargePointIdPath, body: RemoteStopIn, services: ServicesDep, timeout: Timeout = None
) -> StatusOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    reply = await services.remote_starts.stop(charge_point_id, body.transaction_id, timeout=timeout)
    return StatusOut(status=reply.result.status)


@router.post("/reset", summary="Reset the charge point (Reset)", responses=calls_charge_point())
async def reset(
    charge_point_id: ChargePointIdPath, services: ServicesDep, body: ResetIn | None = None, timeout: Timeout = None
) -> StatusOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    body = body or ResetIn()
    reply = await services.commands.reset(charge_point_id, body.type, evse_id=body.evse_id, timeout=timeout)
    return StatusOut(status=reply.result.status)


@router.post(
    "/local-list/sync",
    summary="Send the id tags as the local authorization list (SendLocalList)",
    responses=calls_charge_point(),
)
async def sync_local_list(
    charge_point_id: ChargePointIdPath, services: ServicesDep, body: LocalListSyncIn | None = None, timeout: Timeout = None
) -> LocalListSyncOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    update_type = (body or LocalListSyncIn()).update_type
    request, reply = await services.local_list.synchronize(charge_point_id, update_type, timeout=timeout)
    return LocalListSyncOut(
        status=reply.result.status,
        list_version=request.version,
        update_type=update_type,
        entries=len(request.entries),
    )
