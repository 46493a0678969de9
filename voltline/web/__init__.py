"""The operator dashboard: server-rendered pages at `/`, live updates over server-sent events.

`mount` adds the dashboard's routes and static files to the HTTP application that also serves
the REST API; the dashboard logs operators in with a session cookie instead of API tokens.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from voltline.services.node import Node
from voltline.services.security.operators import UserService


def mount(app: FastAPI, node: Node, users: UserService) -> None:
    from voltline.web import (
        account, certificates, charge_point_admin, charge_points, device_model, firmware, id_tags, live, login, messages,
        operators, overview, reports, reservations, sessions, smart_charging, tokens,
    )
    from voltline.web.form_fields import now_plus
    from voltline.web.routing import STATIC, Dashboard
    from voltline.web.vendor import CHART_JS, charts_bundled, notice_if_missing

    app.state.dashboard = Dashboard.build(node, users)
    app.state.dashboard.templates.env.globals.update(now_plus=now_plus, charts_bundled=charts_bundled,
                                                     chart_js=CHART_JS)
    notice_if_missing()
    # charge_point_admin and device_model before charge_points: their `/charge-points/{id}/settings`,
    # `/delete` and `/variables` would otherwise be taken for a charge point's page by
    # `/charge-points/{id:path}`.
    for module in (login, overview, charge_point_admin, device_model, charge_points, sessions, id_tags, messages, live, account,
                   tokens, operators, reservations, smart_charging, firmware, reports, certificates):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _pages_not_found(app)


def _pages_not_found(app: FastAPI) -> None:
    """A browser's 404 gets the dashboard's page; everyone else the API's error shape as before."""
    from voltline.web.routing import is_page_request, not_found_page

    answer_in_json = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and is_page_request(request):
            return await not_found_page(request)
        return await answer_in_json(request, exc)  # type: ignore[no-any-return]

    app.add_exception_handler(StarletteHTTPException, not_found)
