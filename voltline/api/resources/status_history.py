"""A charge point's connector status history: every StatusNotification, in the charge point's time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voltline.api.deps import After, ChargePointIdPath, IntQuery, Limit, Offset, ServicesDep, TimeQuery, page_out
from voltline.api.openapi import answers, unknown
from voltline.api.schemas import Page, UtcDateTime
from voltline.services.provisioning.status_history import StatusChange, status_history

router = APIRouter(prefix="/charge-points", tags=["charge points"])


class StatusChangeOut(StatusChange):
    pass


@router.get(
    "/{charge_point_id}/status-history",
    summary="The connectors' status history, newest first",
    responses=answers(unknown("charge point")),
)
async def get_status_history(
    charge_point_id: ChargePointIdPath,
    services: ServicesDep,
    connector_id: IntQuery = None,
    evse_id: IntQuery = None,
    from_: Annotated[UtcDateTime | None, Query(alias="from", description="reported at or after")] = None,
    to: Annotated[TimeQuery, Query(description="reported before")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    after: After = None,
) -> Page[StatusChangeOut]:
    page = await status_history(
        services.store, charge_point_id, connector_id=connector_id, evse_id=evse_id, start=from_, end=to,
        limit=limit, offset=offset, after=after,
    )
    return Page[StatusChangeOut].model_validate(page_out(page))
