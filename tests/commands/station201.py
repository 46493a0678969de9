"""A 2.0.1 charging station for the command tests: the `ocpp` package's own `v201.ChargePoint`
(an independent implementation, which checks every request we send against its copy of the
official schemas) answering each CALL as the test scripts it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets
from ocpp.charge_point import camel_to_snake_case
from ocpp.v201 import ChargePoint, call, call_result

from voltline.app import Voltline


class Station(ChargePoint):
    def __init__(self, identity: str, ws: Any) -> None:
        super().__init__(identity, ws)
        self.received: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._answers: dict[str, list[dict[str, Any]]] = {}

    def will_answer(self, action: str, answer: dict[str, Any]) -> None:
        """Answer the next `action` with `answer` (camelCase, as on the wire)."""
        self._answers.setdefault(action, []).append(answer)

        def handler(**_: Any) -> Any:
            payload = self._answers[action].pop(0)
            return getattr(call_result, action)(**camel_to_snake_case(payload))

        self.route_map[action] = {"_on_action": handler}

    async def _handle_call(self, msg: Any) -> Any:
        # The full inventory the server asks of a station at its first boot comes whenever it
        # comes; unless a test scripts its answer it is not among the requests a test awaits
        # (this station answers it NotImplemented).
        first_inventory = msg.action == "GetBaseReport" and msg.payload.get("reportBase") == "FullInventory"
        if not first_inventory or self._answers.get(msg.action):
            self.received.put_nowait((msg.action, msg.payload))
        return await super()._handle_call(msg)

    async def next_request(self, action: str) -> dict[str, Any]:
        got, payload = await asyncio.wait_for(self.received.get(), 10)
        assert got == action, (got, payload)
        return payload

    async def boot(self) -> str:
        answer = await self.call(call.BootNotification(
            charging_station={"model": "Test 201", "vendor_name": "Voltline tests", "firmware_version": "1.0"},
            reason="PowerUp",
        ))
        return str(answer.status)


@contextlib.asynccontextmanager
async def station(server: Voltline, identity: str) -> AsyncIterator[Station]:
    """A booted 2.0.1 station connected to `server` (registered beforehand)."""
    async with websockets.connect(
        f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", subprotocols=["ocpp2.0.1"], ping_interval=None
    ) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
        cp = Station(identity, ws)
        running = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)


async def command(api: httpx.AsyncClient, cp: Station, action: str, payload: dict[str, Any],
                  answer: dict[str, Any], path: str | None = None) -> tuple[httpx.Response, dict[str, Any]]:
    """POST `payload` (to commands/{action}, or to `path`) while the station answers `answer`;
    the response and the request as the station received it."""
    cp.will_answer(action, answer)
    url = f"/api/v1/charge-points/{cp.id}/" + (path or f"commands/{action}")
    sent = asyncio.create_task(api.post(url, json=payload))
    received = asyncio.create_task(cp.next_request(action))
    await asyncio.wait({sent, received}, return_when=asyncio.FIRST_COMPLETED)
    if not received.done() and (await sent).status_code != 200:  # refused before it was sent: say why
        received.cancel()
        raise AssertionError(f"{action} never reached the station: {sent.result().status_code} {sent.result().text}")
    return await sent, await received
