"""The WebSocket link to the central system (OCPP-J over the `websockets` client).

RpcSession hands over frames through a synchronous `send`; a writer task drains them in order
onto the socket. A muted link swallows outgoing frames: that is how a station "goes silent" while
its TCP connection stays open.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

SUBPROTOCOL = Subprotocol("ocpp1.6")


class HandshakeError(Exception):
    """The central system accepted the WebSocket but none of the OCPP versions offered."""


def endpoint(url: str, identity: str) -> str:
    # The identity is the last path segment; anything outside unreserved characters is escaped.
    return f"{url.rstrip('/')}/{quote(identity, safe='')}"


class Link:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self.subprotocol: str | None = connection.subprotocol  # the OCPP version agreed on
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write())
        self.muted = False

    def send(self, data: bytes) -> None:
        if not self.muted:
            self._outgoing.put_nowait(data.decode())

    async def messages(self) -> AsyncIterator[bytes]:
        try:
            async for message in self._connection:
                yield message.encode() if isinstance(message, str) else message
        except ConnectionClosed:
            return

    async def _write(self) -> None:
        try:
            while True:
                text = await self._outgoing.get()
                await self._connection.send(text)
                self._outgoing.task_done()
        except ConnectionClosed:
            return

    def abort(self) -> None:
        """Cut the TCP connection without a closing handshake, as a lost network does."""
        self._connection.transport.abort()

    async def close(self) -> None:
        # Frames already handed over (e.g. the answer to a Reset) go out before the close.
        if not self._writer.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), 1.0)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._connection.close(), 2.0)


async def open_link(
    url: str,
    identity: str,
    *,
    password: str | None = None,
    ping_interval: float | None = None,
    open_timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
    subprotocols: Sequence[str] = (SUBPROTOCOL,),
) -> Link:
    """Connect offering `subprotocols` in the station's order of preference."""
    headers = {}
    if password is not None:
        # OCPP 1.6 security profile 1: HTTP Basic with the identity as the user name.
        token = base64.b64encode(f"{identity}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    connection = await connect(
        endpoint(url, identity),
        subprotocols=[Subprotocol(p) for p in subprotocols],
        additional_headers=headers,
        ping_interval=ping_interval or None,
        open_timeout=open_timeout,
        **({"ssl": ssl_context} if ssl_context is not None else {}),
    )
    if connection.subprotocol not in subprotocols:
        await connection.close()
        raise HandshakeError(f"the central system agreed to none of {', '.join(subprotocols)}")
    return Link(connection)
