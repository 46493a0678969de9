"""Operators in the dashboard: the list, a new one, deleting another, changing one's own password.

The rules (a password of at least 8 characters, unique usernames, sessions ended by a password
change) are UserService's, as for `voltline user …`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from voltline.services.security.passwords import HasherBusy
from voltline.services.security.operators import TooManyAttempts, UnknownUser, User, UserExists
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, render, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

USERNAME_LENGTH = 100  # the users table's column


def _me(request: Request) -> User:
    return request.state.user  # type: ignore[no-any-return]


async def _list_page(request: Request, problem: str | None = None, username: str = "",
                     status_code: int = 200) -> Response:
    users = await dashboard(request).users.list()
    return render(request, "admin_operators.html", {"operators": users, "problem": problem, "username": username},
                  status_code=status_code)


@router.get("/admin/operators")
async def operator_list(request: Request) -> Response:
    return await _list_page(request)


@router.post("/admin/operators")
async def operator_create(request: Request, username: str = Form(""), password: str = Form(""),
                          password_again: str = Form("")) -> Response:
    username = username.strip()
    if len(username) > USERNAME_LENGTH or not username.isprintable():
        return await _list_page(request, f"A username has 1 to {USERNAME_LENGTH} printable characters.", username, 400)
    if password != password_again:
        return await _list_page(request, "The two passwords differ.", username, 400)
    try:
        user = await dashboard(request).users.create(username, password)
    except UserExists:
        return await _list_page(request, f"There is an operator {username} already.", username, 409)
    except HasherBusy:
        return await _list_page(request, "The server is busy checking passwords; try again.", username, 503)
    except ValueError as exc:
        return await _list_page(request, f"{str(exc)[:1].upper()}{str(exc)[1:]}.", username, 400)
    web_session(request).add_flash("ok", f"Created the operator {user.username}: they can log in now.")
    return RedirectResponse("/admin/operators", status_code=303)


async def _other(request: Request, username: str) -> User:
    for user in await dashboard(request).users.list():
        if user.username == username:
            return user
    raise PageNotFound(f"There is no operator {username!r}.")


@router.get("/admin/operators/{username}/delete")
async def delete_page(request: Request, username: str) -> Response:
    user = await _other(request, username)
    if user.id == _me(request).id:
        web_session(request).add_flash("bad", "You cannot delete yourself; another operator can.")
        return RedirectResponse("/admin/operators", status_code=303)
    return render(request, "confirm.html", {
        "title": f"Delete the operator {user.username}?",
        "message": f"{user.username} can no longer log in, and their open dashboard sessions end at once.",
        "action": f"/admin/operators/{user.username}/delete", "button": f"Delete {user.username}",
        "cancel": "/admin/operators"})


@router.post("/admin/operators/{username}/delete")
async def delete(request: Request, username: str) -> Response:
    user = await _other(request, username)
    session = web_session(request)
    if user.id == _me(request).id:
        session.add_flash("bad", "You cannot delete yourself; another operator can.")
        return RedirectResponse("/admin/operators", status_code=303)
    try:
        await dashboard(request).users.delete(user.username)
    except UnknownUser:
        session.add_flash("info", f"The operator {user.username} was deleted already.")
    else:
        session.add_flash("ok", f"Deleted the operator {user.username}.")
    return RedirectResponse("/admin/operators", status_code=303)


# -- one's own password ------------------------------------------------------------------------


def _password_page(request: Request, problem: str | None = None, status_code: int = 200) -> Response:
    return render(request, "admin_password.html", {"problem": problem}, status_code=status_code)


@router.get("/admin/password")
async def password_page(request: Request) -> Response:
    return _password_page(request)


@router.post("/admin/password")
async def change_password(request: Request, current: str = Form(""), new: str = Form(""),
                          new_again: str = Form("")) -> Response:
    users = dashboard(request).users
    me = _me(request)
    address = request.client.host if request.client else None
    if new != new_again:
        return _password_page(request, "The two new passwords differ.", 400)
    try:
        # The current password, checked as a login is (with its back-off): a session left open
        # on a shared screen does not let anyone take the account.
        verified: Any = await users.authenticate(me.username, current, address) if current else None
    except TooManyAttempts:
        return _password_page(request, "Too many wrong passwords; try again later.", 429)
    except HasherBusy:
        return _password_page(request, "The server is busy checking passwords; try again.", 503)
    if verified is None or verified.id != me.id:
        return _password_page(request, "The current password is wrong.", 400)
    try:
        await users.set_password(me.username, new)
    except ValueError as exc:
        return _password_page(request, f"{str(exc)[:1].upper()}{str(exc)[1:]}.", 400)
    # The change ended every session of the operator, this one too: it goes on with the new epoch.
    fresh = await users.get(me.id)
    session = web_session(request)
    if fresh is not None:
        session.login(fresh.id, fresh.username, fresh.session_epoch)
    session.add_flash("ok", "Your password is changed. Your other sessions are logged out.")
    return RedirectResponse("/admin/password", status_code=303)
