"""What every dashboard route shares: the session cookie, the CSRF check, login, and rendering.

`DashboardRoute` wraps each route of the dashboard's routers (and only those: the REST API keeps
its bearer tokens and JSON errors). It loads the session before the handler runs, refuses an
unsafe request without the session's CSRF token, turns "log in first" and "no such page" into
pages, and writes the cookie back when the session changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.responses import JSONResponse, RedirectResponse, Response

from voltline.services.container import Views
from voltline.services.node import Node
from voltline.services.security.operators import User, UserService
from voltline.web.answers import logged_answer_status
from voltline.web.auth import COOKIE, SessionCodec, WebSession, submitted_csrf
from voltline.web.zones import UTC_ZONE, abbreviations, local_input, show, zone_of

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PAGE_SIZE = 50  # rows of a dashboard list page


@dataclass
class Dashboard:
    """The dashboard's state on the application: `request.app.state.dashboard`."""

    node: Node
    users: UserService
    codec: SessionCodec
    templates: Jinja2Templates

    @property
    def views(self) -> Views:
        return self.node.services.views

    @classmethod
    def build(cls, node: Node, users: UserService) -> Dashboard:
        # Without a configured key, sessions are signed with a key of this start's own: a restart
        # logs everyone out, which is the safe default for a laptop.
        secret_key = node.settings.secret_key or secrets.token_urlsafe(32)
        templates = Jinja2Templates(directory=str(TEMPLATES))
        env = templates.env
        env.filters.update(dt=_dt_in_zone, local_input=_local_input_in_zone, zone_names=abbreviations, ago=fmt_ago,
                           kwh=fmt_kwh, kw=fmt_kw, duration=fmt_duration)
        env.globals.update(status_class=status_class, answer_of=logged_answer_status)
        return cls(node, users, SessionCodec(secret_key), templates)


class LoginRequired(Exception):
    pass


class PageNotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard  # type: ignore[no-any-return]


def web_session(request: Request) -> WebSession:
    return request.state.web_session  # type: ignore[no-any-return]


async def require_user(request: Request) -> User:
    session = web_session(request)
    if session.user_id is None:
        raise LoginRequired
    user = await dashboard(request).users.get(session.user_id)
    if user is None or user.session_epoch != session.epoch:  # deleted, or logged out elsewhere, since
        session.logout()
        raise LoginRequired
    request.state.user = user
    return user


CurrentUser = Depends(require_user)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


class DashboardRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            board = dashboard(request)
            session = board.codec.loads(request.cookies.get(COOKIE))
            request.state.web_session = session
            try:
                if request.method not in SAFE_METHODS and not session.csrf_ok(await submitted_csrf(request)):
                    response = _csrf_refused(request)
                else:
                    response = await handler(request)
            except LoginRequired:
                if wants_json(request) or request.url.path == "/live":
                    response = JSONResponse({"error": {"code": "unauthorized", "message": "log in first"}}, 401)
                else:
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            except PageNotFound as exc:
                response = render(request, "not_found.html", {"message": exc.message}, status_code=404)
            if session.dirty:
                board.codec.save(request, response, session)
            return response

        return route


def is_page_request(request: Request) -> bool:
    """A browser asking for a page (not the REST API, not a script or an image)."""
    return (request.method in ("GET", "HEAD") and not request.url.path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


async def not_found_page(request: Request) -> Response:
    """The dashboard's own page for an address it does not have, with the menu for an operator
    who is logged in: a mistyped URL is a way back, not a JSON error."""
    request.state.web_session = dashboard(request).codec.loads(request.cookies.get(COOKIE))
    try:
        await require_user(request)
    except LoginRequired:
        pass
    return render(request, "not_found.html", {"message": f"There is no page at {request.url.path}."}, status_code=404)


def _csrf_refused(request: Request) -> Response:
    message = "This form has expired or did not come from the dashboard. Reload the page and try again."
    if wants_json(request):
        return JSONResponse({"kind": "invalid", "message": message}, status_code=403)
    return render(request, "error.html", {"title": "Form expired", "message": message}, status_code=403)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    session = web_session(request)
    user = getattr(request.state, "user", None)
    values = {
        "user": user,
        "time_zone": zone_of(user),  # read by the `dt` filters: every page shows the operator's zone
        "csrf_token": session.csrf,
        "flashes": session.pop_flash(),
        "path": request.url.path,
        **(context or {}),
    }
    return dashboard(request).templates.TemplateResponse(request, name, values, status_code=status_code)


def operator_zone(request: Request) -> ZoneInfo:
    """The zone of the operator this request is for (after `CurrentUser`): dates typed are read in it."""
    return zone_of(getattr(request.state, "user", None))


def redirect_back(request: Request, fallback: str) -> RedirectResponse:
    return RedirectResponse(safe_next(request.query_params.get("next"), fallback), status_code=303)


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only paths of this site: never `//other.host` or `https://…`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


# -- formatting for templates -------------------------------------------------------------


def fmt_datetime(value: datetime | None, seconds: bool = True, zone: ZoneInfo = UTC_ZONE) -> str:
    if value is None:
        return "—"
    return show(value, zone, seconds)


@pass_context
def _dt_in_zone(context: Context, value: datetime | None, seconds: bool = True) -> str:
    return fmt_datetime(value, seconds, context.get("time_zone") or UTC_ZONE)


@pass_context
def _local_input_in_zone(context: Context, value: datetime | None) -> str:
    return local_input(value, context.get("time_zone") or UTC_ZONE)


def fmt_ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    delta = datetime.now(UTC) - value
    if delta < timedelta(seconds=5):
        return "just now"
    return fmt_duration(delta.total_seconds()) + " ago"


def fmt_kwh(wh: float | None) -> str:
    if wh is None:
        return "—"
    return f"{wh / 1000:,.2f} kWh"


def fmt_kw(w: float | None) -> str:
    if w is None:
        return "—"
    return f"{w / 1000:,.1f} kW"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


_STATUS_CLASSES = {
    "Available": "ok",
    "Preparing": "info",
    "Charging": "charging",
    "EVConnected": "info",  # 2.0.1's chargingState of a session: connected, not charging (yet)
    "SuspendedEV": "warn",
    "SuspendedEVSE": "warn",
    "Finishing": "info",
    "Reserved": "info",
    "Unavailable": "muted",
    "Faulted": "bad",
    "Accepted": "ok",
    "Blocked": "bad",
    "Expired": "warn",
    "Invalid": "bad",
    "ConcurrentTx": "warn",
    "online": "ok",
    "offline": "muted",
}


def status_class(status: str | None) -> str:
    return _STATUS_CLASSES.get(status or "", "muted")
