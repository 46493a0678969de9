"""The operator dashboard: server-rendered pages at `/`, live updates over server-sent events.

`mount` adds the dashboard's routes and static files to the HTTP application that also serves
the REST API; the dashboard logs operators in with a session cookie instead of API tokens.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount(app: FastAPI, voltline: Any) -> None:
    from voltline.web import account, charge_points, id_tags, live, login, messages, overview, sessions
    from voltline.web.routing import STATIC, Dashboard

    app.state.dashboard = Dashboard.build(voltline)
    for module in (login, overview, charge_points, sessions, id_tags, messages, live, account):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
