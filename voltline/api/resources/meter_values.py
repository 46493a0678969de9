"""Meter values: every sampled value, normalized (Wh, W, …), with what the charge point sent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voltline.api.deps import After, IntQuery, Limit, Offset, ServicesDep, TextQuery, TimeQuery, page_out
from voltline.api.schemas import MeterValueOut, Page

router = APIRouter(prefix="/meter-values", tags=["meter values"])


@router.get("", summary="List meter values, oldest first")
async def list_meter_values(
    services: ServicesDep,
    charge_point_id: TextQuery = None,
    connector_id: IntQuery = None,
    transaction_id: IntQuery = None,
    measurand: Annotated[TextQuery, Query(description="e.g. Energy.Active.Import.Register")] = None,
    time_from: Annotated[TimeQuery, Query(alias="from", description="sampled at or after")] = None,
    time_to: Annotated[TimeQuery, Query(alias="to", description="sampled before")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    after: After = None,
) -> Page[MeterValueOut]:
    page = await services.views.transactions.meter_values(
        charge_point_id=charge_point_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        measurand=measurand,
        time_from=time_from,
        time_to=time_to,
        limit=limit,
        offset=offset,
        after=after,
    )
    return Page[MeterValueOut].model_validate(page_out(page))
