"""Shared by the API and command tests: a charge point answering the server's calls as a test
scripts it, an SSE reader, and small waits on the real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Self

import httpx

from tests.ocpp_client import OcppClient

T0 = "2026-11-01T10:00:00Z"


async def online(api: httpx.AsyncClient, connect: Callable[..., Awaitable[OcppClient]], identity: str,
                 connectors: int = 1, **register: Any) -> OcppClient:
    """Register `identity` through the API, connect it, boot it, and report its connectors Available."""
    response = await api.post("/api/v1/charge-points", json={"id": identity, **register})
    assert response.status_code == 201, response.text
    client = await connect(identity, password=register.get("password"))
    assert (await client.boot())["status"] == "Accepted"
    for connector_id in range(connectors + 1):
        await client.ok("StatusNotification", {"connectorId": connector_id, "errorCode": "NoError", "status": "Available"})
    return client


async def answer_next(client: OcppClient, payload: dict[str, Any], action: str | None = None) -> list[Any]:
    """Take the server's next CALL, check its action, answer it with `payload`; return the CALL."""
    call = await client.next_server_call()
    if action is not None:
        assert call[2] == action, call
    await client.answer(call, payload)
    return call


async def command(
    api: httpx.AsyncClient, client: OcppClient, identity: str, action: str, payload: dict[str, Any],
    answer: dict[str, Any] | None, **params: Any,
) -> tuple[httpx.Response, list[Any]]:
    """POST a generic command while the charge point answers it with `answer`."""
    request = asyncio.create_task(
        api.post(f"/api/v1/charge-points/{identity}/commands/{action}", json=payload, params=params)
    )
    call = await answer_next(client, answer or {}, action)
    return await request, call


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy (for what is written in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result or loop.time() > deadline:
            return result
        await asyncio.sleep(0.05)


class EventStream:
    """Reads `/api/v1/events` into a list while a test runs."""

    def __init__(self, api: httpx.AsyncClient, **params: Any) -> None:
        self._api = api
        self._params = params
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._subscribed.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        async with self._api.stream("GET", "/api/v1/events", params=self._params) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = None
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    self._subscribed.set()
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    assert event["type"] == kind
                    self.events.append(event)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            return next((e for e in self.events if predicate(e)), None)

        event = await eventually(found, timeout)
        assert event is not None, f"no such event among {self.types()}"
        return event
