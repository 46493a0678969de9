"""A charge point's connector status history: every StatusNotification, in the charge point's time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from voltline.api.deps import After, ChargePointIdPath, IntQuery, Limit, Offset, ServicesDep, TimeQuery, page_out
from voltline.api.openapi import answers, unknown
from voltline.api.schemas import Out, Page, UtcDateTime
from voltline.services.provisioning.status_history import status_history

router = APIRouter(prefix="/charge-points", tags=["charge points"])


class StatusChangeOut(Out):
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    timestamp: datetime
    received_at: datetime
    evse_id: int | None = Field(None, description="the EVSE (OCPP 2.0.1); null on 1.6")


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
