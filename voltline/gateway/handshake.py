"""The front of every OCPP connection until its HTTP upgrade request is decided.

picows decides a handshake in a synchronous hook, but a Basic-auth password the in-memory registry
cannot settle needs PBKDF2, far too slow for the event loop. `HandshakeGate` sits in front of
picows' own protocol while the request head arrives. A head without an `Authorization` header,
and one whose password the registry settles from memory, goes on to picows at once. Otherwise
the gate stops reading from the socket, has the password verified on the hasher's threads, and
then hands the head to picows together with the verdict, which the hook finds ready: the refusal
is still an HTTP status at the handshake, before any frame.

The bytes are never copied out of picows' buffer: the gate lends picows' `get_buffer` to the
transport and only keeps a copy of the head to look at. Once the head is handed over the
transport talks to picows' protocol directly, so nothing of the gate stays on the frame path.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from picows.picows import WSProtocol, _parse_http_request

from voltline.ocpp.identity import is_valid_identity
from voltline.services.security.connections import ConnectionSecurity

log = logging.getLogger("voltline.gateway")

PATH_PREFIX = "/ocpp/"
# picows' own limit of a request head (WSProtocol._http_max_size): beyond it picows refuses.
MAX_HEAD_BYTES = 16 * 1024
_AUTHORIZATION = b"\r\nauthorization:"


@dataclass(slots=True, frozen=True)
class Settled:
    """A handshake's password, settled before picows' hook runs: the hook answers `decision`."""

    identity: str
    password: str
    decision: Any  # services.charge_points.HandshakeDecision


class HandshakeGate(asyncio.BufferedProtocol):
    __slots__ = ("_gateway", "_ws", "_transport", "_view", "_head", "_address", "_lost", "_task", "_ssl")

    def __init__(self, gateway: Any, ws: WSProtocol) -> None:
        self._gateway = gateway
        self._ws = ws
        self._transport: asyncio.Transport | None = None
        self._view: memoryview | None = None
        self._head = b""
        self._address: str | None = None
        self._ssl: ssl.SSLObject | None = None  # on the wss:// listener
        self._lost = False
        self._task: asyncio.Task[None] | None = None

    # -- the transport's protocol, until the head is handed over -----------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._address = peer[0] if peer else None
        self._ssl = transport.get_extra_info("ssl_object")
        self._ws.connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        self._view = self._ws.get_buffer(sizehint)
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        assert self._view is not None and self._transport is not None
        head = self._head + bytes(self._view[:nbytes])
        self._view = None
        end = head.find(b"\r\n\r\n")
        if end < 0 and len(head) < MAX_HEAD_BYTES:
            self._head = head
            self._ws.buffer_updated(nbytes)  # picows keeps the bytes; it waits for the rest too
            return
        self._head = b""
        settled = None
        if end >= 0 and _AUTHORIZATION in head[:end + 2].lower():
            credentials = _credentials(head[:end])
            if credentials is not None:
                identity, password, headers = credentials
                security = self._gateway.connection_security(self._ssl, self._address, headers)
                decision = self._gateway.services.charge_points.check_handshake(
                    identity, password, self._address, security
                )
                if decision.verify:
                    self._transport.pause_reading()
                    self._task = asyncio.get_running_loop().create_task(
                        self._verify(identity, password, security, nbytes)
                    )
                    return
                settled = Settled(identity, password, decision)
        self._hand_over(nbytes, settled)

    def eof_received(self) -> bool | None:
        return self._ws.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._task is not None:
            self._task.cancel()
        self._ws.connection_lost(exc)

    def pause_writing(self) -> None:
        self._ws.pause_writing()

    def resume_writing(self) -> None:
        self._ws.resume_writing()

    # -- verifying, then handing over --------------------------------------------------------

    async def _verify(self, identity: str, password: str, security: ConnectionSecurity, nbytes: int) -> None:
        charge_points = self._gateway.services.charge_points
        try:
            decision = await charge_points.verify_handshake(identity, password, self._address, security)
        except Exception:
            log.exception("could not verify the password of %s", identity)
            decision = charge_points.busy_decision()
        if self._lost or self._transport is None or self._transport.is_closing():
            return  # picows' handshake timeout, or the client, ended it meanwhile
        self._hand_over(nbytes, Settled(identity, password, decision))
        if not self._transport.is_closing():
            self._transport.resume_reading()

    def _hand_over(self, nbytes: int, settled: Settled | None) -> None:
        assert self._transport is not None
        self._transport.set_protocol(self._ws)
        gateway = self._gateway
        gateway.settled, gateway.handshake_address, gateway.handshake_ssl = settled, self._address, self._ssl
        try:
            self._ws.buffer_updated(nbytes)  # picows parses the head and calls the hook now
        finally:
            gateway.settled = gateway.handshake_address = gateway.handshake_ssl = None


def _credentials(raw_head: bytes) -> tuple[str, str, Mapping[str, str]] | None:
    """The identity, Basic-auth password and headers of a request head, parsed the way picows
    will parse it."""
    try:
        request = _parse_http_request(raw_head)
    except RuntimeError:
        return None  # picows will refuse it with 400
    identity = identity_of_target(request.path)
    if identity is None or not is_valid_identity(identity):
        return None
    password = basic_auth_password(request.headers.get("Authorization"), identity)
    return (identity, password, request.headers) if password is not None else None


def identity_of_target(target: bytes) -> str | None:
    """The charge point identity a request target `/ocpp/{id}` names: the last path segment,
    percent-decoded, not yet validated (voltline.ocpp.identity); None outside `/ocpp/`."""
    path = target.decode("latin-1").split("?", 1)[0]
    if not path.startswith(PATH_PREFIX):
        return None
    # A trailing slash is forgiven (`/ocpp/CP-1/`); an empty identity (`/ocpp//`) is not.
    rest = path[len(PATH_PREFIX):]
    if rest.endswith("/"):
        rest = rest[:-1]
    return unquote(rest.rsplit("/", 1)[-1]) if rest else ""


def basic_auth_password(header: str | None, identity: str) -> str | None:
    """The password of an HTTP Basic header whose user is the charge point (OCPP security profile 1)."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password if user == identity else None
