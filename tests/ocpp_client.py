"""A deliberately plain OCPP-J client for tests: sends exactly what a test says, even broken frames.

It does not use Voltline's own protocol layer, so a test can never pass because client and
server share the same mistake.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

Frame = list[Any]


class OcppClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._frames: asyncio.Queue[Frame | str] = asyncio.Queue()
        self.server_calls: asyncio.Queue[Frame] = asyncio.Queue()
        self.auto_answer: dict[str, dict[str, Any]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        subprotocols: list[str] | None = None,
        password: str | None = None,
        max_size: int | None = 16 * 1024 * 1024,
        **kwargs: Any,
    ) -> OcppClient:
        headers = {}
        if password is not None:
            identity = url.rsplit("/", 1)[-1]
            headers["Authorization"] = "Basic " + base64.b64encode(f"{identity}:{password}".encode()).decode()
        ws = await websockets.connect(
            url,
            subprotocols=subprotocols or ["ocpp1.6"],
            additional_headers=headers,
            max_size=max_size,
            ping_interval=None,
            **kwargs,
        )
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                try:
                    frame = json.loads(message)
                except ValueError:
                    await self._frames.put(message)  # type: ignore[arg-type]
                    continue
                if isinstance(frame, list) and frame and frame[0] == 2:
                    action = frame[2]
                    if action in self.auto_answer:
                        await self.ws.send(json.dumps([3, frame[1], self.auto_answer[action]]))
                    await self.server_calls.put(frame)
                else:
                    await self._frames.put(frame)
        except websockets.ConnectionClosed:
            pass

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def receive(self, timeout: float = 10) -> Frame:
        return await asyncio.wait_for(self._frames.get(), timeout)  # type: ignore[return-value]

    async def call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> Frame:
        """Send a CALL and return the whole answer frame ([3, id, payload] or [4, id, code, …])."""
        message_id = message_id or str(next(self._ids))
        await self.ws.send(json.dumps([2, message_id, action, payload]))
        return await self.receive()

    async def ok(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL that must succeed and return its CALLRESULT payload."""
        frame = await self.call(action, payload)
        assert frame[0] == 3, f"{action} failed: {frame}"
        return frame[2]

    async def boot(self, vendor: str = "Voltline", model: str = "Test") -> dict[str, Any]:
        return await self.ok("BootNotification", {"chargePointVendor": vendor, "chargePointModel": model})

    async def next_server_call(self, timeout: float = 10) -> Frame:
        return await asyncio.wait_for(self.server_calls.get(), timeout)

    async def answer(self, call: Frame, payload: dict[str, Any]) -> None:
        await self.ws.send(json.dumps([3, call[1], payload]))

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, as a charge point losing power does."""
        self.ws.transport.abort()
        self._reader.cancel()
