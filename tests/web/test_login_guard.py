"""Dashboard logins back off after wrong passwords; a logout or a new password ends the operator's
other sessions. Over HTTP against the real server."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from tests.web.conftest import csrf_of, log_in
from voltline.app import Voltline
from voltline.services.security import passwords as secrets
from voltline.services.security.operators import UserService


def client_of(server: Voltline) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30)


async def logged_in(client: httpx.AsyncClient) -> bool:
    return (await client.get("/")).status_code == 200


async def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in_at_once(  # type: ignore[no-untyped-def]
    server: Voltline, anonymous: httpx.AsyncClient, operator: tuple[str, str]
) -> None:
    # The back-off's clock stands still while the attempts are made, however slowly a loaded
    # host serves them, and moves on only when the test says so.
    users = server.http.state.dashboard.users
    clock = [1000.0]
    for backoff in (users.username_failures, users.address_failures):
        backoff._clock = lambda: clock[0]
    username, password = operator
    statuses = [(await log_in(anonymous, username, f"wrong-{i}")).status_code for i in range(30)]
    assert statuses == [401] * 5 + [429] * 25

    refused = await log_in(anonymous, username, password)
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert not await logged_in(anonymous)

    clock[0] += int(refused.headers["retry-after"])
    assert (await log_in(anonymous, username, password)).status_code == 303
    assert await logged_in(anonymous)


async def test_wrong_logins_from_one_address_back_it_off_for_every_username(  # type: ignore[no-untyped-def]
    anonymous: httpx.AsyncClient, operator: tuple[str, str]
) -> None:
    for i in range(20):
        assert (await log_in(anonymous, f"nobody-{i}", "wrong-password")).status_code == 401
    refused = await log_in(anonymous, *operator)
    assert refused.status_code == 429
    assert not await logged_in(anonymous)


async def test_a_login_is_verified_off_the_event_loop(  # type: ignore[no-untyped-def]
    server: Voltline, anonymous: httpx.AsyncClient, operator: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = secrets.verify_password

    def held(password: str, stored: str) -> bool:
        release.wait(30)
        return real(password, stored)

    monkeypatch.setattr(secrets, "verify_password", held)
    try:
        login = asyncio.create_task(log_in(anonymous, *operator))
        async with asyncio.timeout(20):
            while server.services.passwords.pending == 0:
                await asyncio.sleep(0.01)
        # While the password is being verified, the server answers others.
        async with client_of(server) as other:
            assert (await other.get("/health")).status_code == 200
        assert not login.done()
        release.set()
        assert (await login).status_code == 303
    finally:
        release.set()


async def test_logging_out_ends_the_operators_other_sessions(server: Voltline, operator: tuple[str, str]) -> None:
    async with client_of(server) as first, client_of(server) as second:
        assert (await log_in(first, *operator)).status_code == 303
        assert (await log_in(second, *operator)).status_code == 303
        assert await logged_in(first) and await logged_in(second)

        page = (await first.get("/")).text
        assert (await first.post("/logout", data={"csrf_token": csrf_of(page)})).status_code == 303
        assert not await logged_in(first)
        assert not await logged_in(second)
        # Logging in again opens a new session; the old cookies stay worthless.
        assert (await log_in(second, *operator)).status_code == 303
        assert await logged_in(second)


async def test_a_new_password_ends_the_operators_sessions(server: Voltline, operator: tuple[str, str]) -> None:
    username, password = operator
    async with client_of(server) as browser:
        assert (await log_in(browser, username, password)).status_code == 303
        assert await logged_in(browser)
        # As `voltline user password` does, from a process of its own.
        await UserService(server.store).set_password(username, "a brand new password")
        assert not await logged_in(browser)
        assert (await log_in(browser, username, password)).status_code == 401
        assert (await log_in(browser, username, "a brand new password")).status_code == 303
        assert await logged_in(browser)
