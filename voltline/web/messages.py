"""The OCPP message log: every frame, each CALL with its answer, payloads pretty-printed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from voltline.web import queries
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])


@router.get("/messages")
async def message_log(
    request: Request, charge_point_id: str = "", action: str = "", direction: str = "", errors: str = "",
    before: int | None = None,
) -> Response:
    store = dashboard(request).voltline.store
    where = queries.MessageFilter(charge_point_id.strip(), action.strip(), direction, errors == "1")
    rows = await queries.exchanges(store, where, before=before)
    more = len(rows) > queries.PAGE_SIZE
    rows = rows[: queries.PAGE_SIZE]
    query = "&".join(p for p in request.url.query.split("&") if p and not p.startswith("before="))
    return render(
        request,
        "messages.html",
        {
            "exchanges": rows,
            "filters": {"charge_point_id": charge_point_id, "action": action, "direction": direction,
                        "errors": errors == "1"},
            "actions": queries.OCPP16_ACTIONS,
            "older": f"?{query}&before={rows[-1].id}" if more and rows else None,
            "pretty": queries.pretty,
        },
    )
