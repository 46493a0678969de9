"""Logging in and out of the dashboard."""

from __future__ import annotations

import math

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from voltline.services.security.passwords import HasherBusy
from voltline.services.security.operators import TooManyAttempts
from voltline.web.routing import DashboardRoute, dashboard, render, safe_next, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if web_session(request).user_id is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
async def login(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
    time_zone: str = Form(""),
) -> Response:
    context = {"next": safe_next(next), "username": username}
    address = request.client.host if request.client else None
    try:
        user = await dashboard(request).users.authenticate(username, password, address) if username and password else None
    except TooManyAttempts as exc:
        seconds = max(1, math.ceil(exc.retry_after))
        context["error"] = f"Too many failed logins. Try again in {_wait(seconds)}."
        response = render(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = str(seconds)
        return response
    except HasherBusy:
        context["error"] = "The server is checking many logins at once. Try again in a moment."
        response = render(request, "login.html", context, status_code=503)
        response.headers["Retry-After"] = "1"
        return response
    if user is None:
        context["error"] = "Wrong username or password."
        return render(request, "login.html", context, status_code=401)
    if user.time_zone is None and time_zone:
        # The browser's zone (the form's hidden field) until the operator picks one at /account.
        await dashboard(request).users.adopt_time_zone(user.id, time_zone)
    web_session(request).login(user.id, user.username, user.session_epoch)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = web_session(request)
    if session.user_id is not None:
        # Every session of the operator ends, a copied cookie's and the other browsers' too.
        await dashboard(request).users.end_sessions(session.user_id, session.epoch)
    session.logout()
    session.add_flash("info", "You are logged out.")
    return RedirectResponse("/login", status_code=303)


def _wait(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"
