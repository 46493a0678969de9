"""Logging in and out of the dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from voltline.web.routing import DashboardRoute, dashboard, render, safe_next, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if web_session(request).user_id is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
async def login(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")
) -> Response:
    user = await dashboard(request).users.authenticate(username, password) if username and password else None
    if user is None:
        context = {"next": safe_next(next), "username": username, "error": "Wrong username or password."}
        return render(request, "login.html", context, status_code=401)
    web_session(request).login(user.id, user.username)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = web_session(request)
    dashboard(request).codec.revoke(session)
    session.logout()
    session.add_flash("info", "You are logged out.")
    return RedirectResponse("/login", status_code=303)
