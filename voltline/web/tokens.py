"""API tokens in the dashboard: the list, a new one (its secret shown this once), revoking one."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from voltline.services.security.api_tokens import ApiToken
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, render, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

NAME_LENGTH = 100


@router.get("/admin/tokens")
async def token_list(request: Request) -> Response:
    tokens = await dashboard(request).node.services.tokens.list()
    return render(request, "admin_tokens.html", {"tokens": tokens, "secret": None, "created": None, "name": "",
                                                 "problem": None})


@router.post("/admin/tokens")
async def token_create(request: Request, name: str = Form("")) -> Response:
    service = dashboard(request).node.services.tokens
    name = name.strip()
    if not name or len(name) > NAME_LENGTH or not name.isprintable():
        return render(request, "admin_tokens.html", {
            "tokens": await service.list(), "secret": None, "created": None, "name": name,
            "problem": f"A token needs a name of 1 to {NAME_LENGTH} printable characters (what uses it)."},
            status_code=400)
    token, secret = await service.create(name)
    # The secret is in this answer only: not in the session cookie, not in any cache.
    response = render(request, "admin_tokens.html", {"tokens": await service.list(), "secret": secret,
                                                     "created": token, "name": "", "problem": None})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _token(request: Request, token_id: int) -> ApiToken:
    for token in await dashboard(request).node.services.tokens.list():
        if token.id == token_id:
            return token
    raise PageNotFound(f"There is no API token #{token_id}.")


@router.get("/admin/tokens/{token_id:int}/revoke")
async def revoke_page(request: Request, token_id: int) -> Response:
    token = await _token(request, token_id)
    return render(request, "confirm.html", {
        "title": f"Revoke the API token “{token.name}”?",
        "message": "Whatever uses this token gets 401 from the API within seconds. This cannot be undone: "
                   "a new token has a new secret.",
        "action": f"/admin/tokens/{token.id}/revoke", "button": "Revoke token", "cancel": "/admin/tokens"})


@router.post("/admin/tokens/{token_id:int}/revoke")
async def revoke(request: Request, token_id: int) -> Response:
    token = await _token(request, token_id)
    revoked = await dashboard(request).node.services.tokens.revoke(token.id)
    session = web_session(request)
    if revoked:
        session.add_flash("ok", f"Revoked the API token “{token.name}”.")
    else:
        session.add_flash("info", f"The API token “{token.name}” was revoked already.")
    return RedirectResponse("/admin/tokens", status_code=303)
