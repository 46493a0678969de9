"""Fixtures for the dashboard: an operator, a logged-in HTTP client, simulated charge points."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.web.charge_point import ChargingStation
from voltline.app import Voltline
from voltline.services.security.operators import UserService

USERNAME, PASSWORD = "operator", "correct horse battery"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
async def operator(server: Voltline) -> tuple[str, str]:
    await UserService(server.store).create(USERNAME, PASSWORD)
    return USERNAME, PASSWORD


@pytest.fixture
async def anonymous(server: Voltline) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as client:
        yield client


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    token = csrf_of((await client.get("/login")).text)
    return await client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                             "next": "/"})


@pytest.fixture
async def web(anonymous: httpx.AsyncClient, operator: tuple[str, str]) -> httpx.AsyncClient:
    response = await log_in(anonymous, *operator)
    assert response.status_code == 303, response.text
    return anonymous


@pytest.fixture
async def station(server: Voltline) -> AsyncIterator[Callable[..., Awaitable[ChargingStation]]]:
    """`await station("CP-1")`: registers the charge point and connects a simulated one."""
    stations: list[ChargingStation] = []

    async def connect(identity: str, **kwargs: Any) -> ChargingStation:
        if server.services.charge_points.access(identity) is None:
            await server.services.charge_points.register(identity)
        s = await ChargingStation.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", **kwargs)
        stations.append(s)
        return s

    yield connect
    for s in stations:
        await s.close()
