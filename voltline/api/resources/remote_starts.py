"""Remote starts: each RemoteStartTransaction sent, and the transaction it led to."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from voltline.api.deps import IntPath, Limit, Offset, ServicesDep, TextQuery, page_out
from voltline.api.openapi import answers, unknown
from voltline.api.schemas import Page, RemoteStartOut

router = APIRouter(prefix="/remote-starts", tags=["commands"])


@router.get("", summary="List remote starts, newest first")
async def list_remote_starts(
    services: ServicesDep,
    charge_point_id: TextQuery = None,
    id_tag: TextQuery = None,
    status: Literal["Requested", "Accepted", "Started", "Rejected", "Failed"] | None = None,
    ocpp_remote_start_id: Annotated[int | None, Query(
        ge=-(2**31), lt=2**31, description="the remoteStartId it went out with (2.0.1), e.g. one an operator wrote in "
        "a RequestStartTransaction sent through commands/")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[RemoteStartOut]:
    page = await services.views.remote_starts.remote_starts(
        charge_point_id=charge_point_id, id_tag=id_tag, status=status, ocpp_remote_start_id=ocpp_remote_start_id,
        limit=limit, offset=offset,
    )
    return Page[RemoteStartOut].model_validate(page_out(page))


@router.get(
    "/{remote_start_id}",
    summary="A remote start and its transaction id, once started",
    responses=answers(unknown("remote start")),
)
async def get_remote_start(remote_start_id: IntPath, services: ServicesDep) -> RemoteStartOut:
    return RemoteStartOut.model_validate(await services.remote_starts.get(remote_start_id))
