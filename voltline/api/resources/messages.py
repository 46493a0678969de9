"""The OCPP message log: every frame in and out, as it crossed the wire."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from voltline.api.deps import After, Limit, Offset, ServicesDep, TextQuery, TimeQuery, page_out
from voltline.api.schemas import MessageOut, Page

router = APIRouter(prefix="/messages", tags=["message log"])


@router.get("", summary="List logged OCPP messages")
async def list_messages(
    services: ServicesDep,
    charge_point_id: TextQuery = None,
    action: TextQuery = None,
    direction: Annotated[Literal["in", "out"] | None, Query(description="in: from the charge point")] = None,
    message_type: Annotated[int | None, Query(ge=0, le=4, description="2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unreadable")] = None,
    time_from: Annotated[TimeQuery, Query(alias="from")] = None,
    time_to: Annotated[TimeQuery, Query(alias="to")] = None,
    order: Literal["asc", "desc"] = "desc",
    limit: Limit = 100,
    offset: Offset = 0,
    after: After = None,
) -> Page[MessageOut]:
    page = await services.views.messages.messages(
        charge_point_id=charge_point_id,
        action=action,
        direction=direction,
        message_type=message_type,
        time_from=time_from,
        time_to=time_to,
        newest_first=order == "desc",
        limit=limit,
        offset=offset,
        after=after,
    )
    return Page[MessageOut].model_validate(page_out(page))
