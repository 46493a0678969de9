"""The OCPP message log: every frame, each CALL with its answer, payloads pretty-printed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from voltline.services.message_log.views import ExchangeFilter
from voltline.web.frames import OCPP16_ACTIONS, pretty
from voltline.web.routing import PAGE_SIZE, CurrentUser, DashboardRoute, dashboard, operator_zone, render
from voltline.web.zones import parse_local

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])


@router.get("/messages")
async def message_log(
    request: Request, charge_point_id: str = "", action: str = "", direction: str = "", errors: str = "",
    since: str = "", until: str = "", before: int | None = None,
) -> Response:
    zone = operator_zone(request)
    # The fields hold minutes in the operator's zone; "to" includes its whole minute.
    end = _local_time(until, zone)
    where = ExchangeFilter(charge_point_id.strip(), action.strip(), direction, errors == "1",
                            since=_local_time(since, zone), until=end + timedelta(minutes=1) if end else None)
    rows = await dashboard(request).views.messages.exchanges(where, before=before, limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[: PAGE_SIZE]
    query = "&".join(p for p in request.url.query.split("&") if p and not p.startswith("before="))
    return render(
        request,
        "messages.html",
        {
            "exchanges": rows,
            "filters": {"charge_point_id": charge_point_id, "action": action, "direction": direction,
                        "errors": errors == "1", "since": since, "until": until},
            "actions": OCPP16_ACTIONS,
            "older": f"?{query}&before={rows[-1].id}" if more and rows else None,
            "pretty": pretty,
        },
    )


def _local_time(value: str, zone: ZoneInfo) -> datetime | None:
    try:
        return parse_local(value, zone)
    except ValueError:  # a garbled field is ignored, as the sessions' date filters do
        return None
