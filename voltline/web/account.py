"""My account: the current operator's own preferences (their time zone), nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from voltline.services.security.operators import User, time_zone_names
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, render, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _choices() -> list[str]:
    return ["UTC", *sorted(name for name in time_zone_names() if name != "UTC")]


@router.get("/account")
async def account_page(request: Request, user: User = CurrentUser) -> Response:
    return render(request, "account.html", {"zones": _choices(), "now": datetime.now(UTC)})


@router.post("/account")
async def save_account(request: Request, time_zone: str = Form(""), user: User = CurrentUser) -> Response:
    session = web_session(request)
    try:
        name = await dashboard(request).users.set_time_zone(user.id, time_zone)
    except ValueError as exc:
        context = {"zones": _choices(), "now": datetime.now(UTC), "error": str(exc)}
        return render(request, "account.html", context, status_code=400)
    session.add_flash("ok", f"Times are now shown in {name}.")
    return RedirectResponse("/account", status_code=303)
