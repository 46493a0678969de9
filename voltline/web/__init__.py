"""The operator dashboard: server-rendered pages at `/`, live updates over server-sent events.

`mount` adds the dashboard's routes and static files to the HTTP application that also serves
the REST API; the dashboard logs operators in with a session cookie instead of API tokens.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount(app: FastAPI, voltline: Any) -> None:
    from voltline.web import (
        account, certificates, charge_point_admin, charge_points, firmware, id_tags, live, login, messages, operators, overview,
        reservations, sessions, smart_charging, tokens,
    )
    from voltline.web.form_fields import now_plus
    from voltline.web.routing import STATIC, Dashboard

    app.state.dashboard = Dashboard.build(voltline)
    app.state.dashboard.templates.env.globals.update(now_plus=now_plus)
    # charge_point_admin before charge_points: its `/charge-points/{id}/settings` and `/delete`
    # would otherwise be taken for a charge point's page by `/charge-points/{id:path}`.
    for module in (login, overview, charge_point_admin, charge_points, sessions, id_tags, messages, live, account,
                   tokens, operators, reservations, smart_charging, firmware, certificates):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
