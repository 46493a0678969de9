"""The OCPP-J listener: handshake, live connections, keep-alive, and calls to charge points.

Built on picows, the leanest WebSocket layer measured for this job (bench/README.md): its
handshake hook is synchronous, so the decision to accept a charge point uses the in-memory
registry of ChargePointService, and a refused charge point gets its HTTP status before any frame.
A password only a slow hash can settle is verified first, off the loop (gateway/handshake.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import ssl
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import aiofastnet
import picows
from picows import WSAutoPingStrategy, WSCloseCode, WSMsgType, WSUpgradeResponse, WSUpgradeResponseWithListener
from picows.picows import WSProtocol

from voltline.gateway.handshake import HandshakeGate, Settled, basic_auth_password, identity_of_target
from voltline.gateway.tls import ProxyTrust, ServerTls, connection_security
from voltline.ocpp.identity import identity_problem
from voltline.gateway.link import GatewayLink
from voltline.ocpp.rpc import ConnectionLost, MessageLog, RpcSession
from voltline.ocpp.versions import VERSIONS, HandlerContext, OcppVersion, VersionRegistry

from voltline.services.security.connections import ConnectionSecurity

if TYPE_CHECKING:
    from voltline.services.container import Services

log = logging.getLogger("voltline.gateway")

NO_ACTIONS: frozenset[str] = frozenset()
PAUSED_RECEIVE_BUFFER = 64 * 1024


class NotConnected(Exception):
    """The charge point has no live connection."""


class ChargePointConnection(picows.WSListener):  # type: ignore[misc]
    """One charge point's WebSocket: reassembles messages and feeds them to its RPC session.

    Memory per connection is bounded: a charge point that sends CALL after CALL without waiting
    for the answers (OCPP allows one outstanding CALL) is read from only while fewer than
    `max_inbound_calls` of its CALLs are unanswered; beyond that its socket is not read, and TCP
    slows it down. Reading resumes when no more than half the limit are left. While paused, its
    answers to our own CALLs wait in the socket too: that is why the limit is at least 2 (the one
    CALL OCPP allows never pauses anything) and reading resumes before the backlog is gone, so
    such an answer waits for a few CALLs to be served, well within a call's timeout."""

    __slots__ = ("gateway", "identity", "version", "session", "context", "transport", "last_rx", "ping_sent",
                 "ping_interval", "remote_address", "auto_registered", "_fragments", "replaced",
                 "waiting", "paused", "_ever_paused", "recorded")

    def __init__(self, gateway: OcppGateway, identity: str, version: OcppVersion, context: HandlerContext,
                 ping_interval: float, auto_registered: bool) -> None:
        self.gateway = gateway
        self.identity = identity
        self.version = version  # negotiated in the handshake: its handlers, validators, translators
        self.context = context
        self.session: RpcSession | None = None
        self.transport: picows.WSTransport | None = None
        self.last_rx = 0.0
        self.ping_sent = 0.0
        self.ping_interval = ping_interval
        self.remote_address: str | None = None
        self.auto_registered = auto_registered
        self._fragments: bytearray | None = None
        self.replaced = False
        # CALLs of this charge point in the gateway's InboundFrames queue, not yet fed to its session.
        self.waiting = 0
        self.paused = False
        self._ever_paused = False
        self.recorded: asyncio.Task[Any] | None = None  # the database write of this connection

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        peer = transport.underlying_transport.get_extra_info("peername")
        self.remote_address = f"{peer[0]}:{peer[1]}" if peer else None
        self.last_rx = self.gateway.loop.time()
        self.session = self.gateway.new_session(self)
        self.gateway.attach(self)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, data)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        self.last_rx = self.gateway.loop.time()
        self.ping_sent = 0.0
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT:
            if frame.fin:
                self._received(frame.get_payload_as_bytes())
            else:
                self._fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type is WSMsgType.CONTINUATION:
            if self._fragments is None:
                return
            self._fragments += frame.get_payload_as_memoryview()
            if len(self._fragments) > self.gateway.max_message_bytes:
                self._fragments = None
                transport.send_close(WSCloseCode.MESSAGE_TOO_BIG, b"message too big")
                transport.disconnect()
            elif frame.fin:
                data, self._fragments = bytes(self._fragments), None
                self._received(data)
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif msg_type is WSMsgType.BINARY:
            # OCPP-J is text only.
            transport.send_close(WSCloseCode.UNSUPPORTED_DATA, b"OCPP-J frames are text")
            transport.disconnect()
        # PING is answered by picows itself; PONG only needed to refresh last_rx.

    def _received(self, data: bytes) -> None:
        if self.gateway.inbound.put(self, data) and not self.paused:
            if self.waiting + self.session.backlog >= self.gateway.max_inbound_calls:  # type: ignore[union-attr]
                self._pause()

    def _pause(self) -> None:
        transport = self.transport
        if transport is None or transport.is_disconnected:
            return
        self.paused = True
        self.session.on_inbound_done = self.resume_if_drained  # type: ignore[union-attr]
        underlying = transport.underlying_transport
        underlying.pause_reading()
        if not self._ever_paused:
            self._ever_paused = True
            log.warning(
                "%s sends CALLs without waiting for the answers; its socket is read only while fewer "
                "than %d are unanswered", self.identity, self.gateway.max_inbound_calls,
            )
            # What the kernel takes in for us while we do not read is the rest of the bound: a
            # small window for a charge point that broke the rule once (the default grows to MBs).
            sock = underlying.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PAUSED_RECEIVE_BUFFER)
                except OSError:
                    pass

    def resume_if_drained(self) -> None:
        """Read again once the backlog is down to half the limit (called as its CALLs are done with)."""
        if not self.paused or self.waiting + self.session.backlog > self.gateway.max_inbound_calls // 2:  # type: ignore[union-attr]
            return
        self.paused = False
        self.session.on_inbound_done = None  # type: ignore[union-attr]
        # It was not silent while we did not listen: the keep-alive counts from now.
        self.last_rx = self.gateway.loop.time()
        transport = self.transport
        if transport is not None and not transport.is_disconnected:
            transport.underlying_transport.resume_reading()

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if self.session is not None:
            self.session.close()
        self.gateway.detach(self)


class InboundFrames:
    """Frames from charge points, handled a few dozen per turn of the event loop.

    Under a saturating load every socket is readable at once, and handling all of their frames in
    one turn made each turn last tens of milliseconds: an operator's command, whose path needs
    several turns, waited for every one of them. Here a turn handles at most `budget` CALLs and
    then lets the rest of the loop (the REST API, commits, answers) run. Answers to our own CALLs
    skip the queue: a command waiting for its charge point should not wait behind the fleet.
    Order per connection is kept, since one queue holds all. The budget: 24 CALLs per turn
    halved a remote start's REST round trip against 48 (p50 22 -> 14 ms under scenario 4) with
    no throughput change that runs on one host could tell apart."""

    __slots__ = ("_loop", "_frames", "_scheduled", "budget", "urgent_budget", "urgent")

    def __init__(self, loop: asyncio.AbstractEventLoop, budget: int = 24, urgent_budget: int = 6) -> None:
        self._loop = loop
        self._frames: deque[tuple[ChargePointConnection, bytes]] = deque()
        self._scheduled = False
        self.budget = budget
        # While an operator's command is in flight (OcppGateway.operator_first), turns are kept
        # shorter still: the fleet's CALLs wait a little, the command's steps come round sooner.
        self.urgent_budget = urgent_budget
        self.urgent = 0

    def put(self, connection: ChargePointConnection, data: bytes) -> bool:
        """Queue a CALL (True, counted in `connection.waiting`), or hand an answer over at once."""
        if _is_answer(data):
            # Inbound CALLs and answers are independent streams (one outstanding CALL per
            # direction), so an answer may overtake a queued CALL of the same charge point.
            connection.session.feed(data)  # type: ignore[union-attr]
            return False
        connection.waiting += 1
        self._frames.append((connection, data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._drain)
        return True

    def __len__(self) -> int:
        return len(self._frames)

    def _drain(self) -> None:
        frames = self._frames
        for _ in range(min(self.urgent_budget if self.urgent else self.budget, len(frames))):
            connection, data = frames.popleft()
            connection.waiting -= 1
            session = connection.session
            if session.closed:  # type: ignore[union-attr]
                continue
            try:
                session.feed(data)  # type: ignore[union-attr]
            except Exception:
                log.exception("handling a frame from %s failed", connection.identity)
            if connection.paused:
                connection.resume_if_drained()
        if frames:
            self._loop.call_soon(self._drain)
        else:
            self._scheduled = False


def _is_answer(data: bytes) -> bool:
    """Whether a frame looks like a CALLRESULT or CALLERROR (`[3,` / `[4,`), judged without parsing."""
    head = data[:8].lstrip()
    return head[:1] == b"[" and head[1:].lstrip()[:1] in (b"3", b"4")


class ConnectionObserver(Protocol):
    def attached(self, connection: ChargePointConnection) -> None: ...

    def detached(self, connection: ChargePointConnection) -> None: ...


class OcppGateway:
    def __init__(
        self,
        services: Services,
        message_log: MessageLog,
        *,
        versions: VersionRegistry = VERSIONS,
        host: str = "127.0.0.1",
        port: int = 9000,
        ping_interval: float = 60.0,
        call_timeout: float = 30.0,
        max_message_bytes: int = 256 * 1024,
        handshake_timeout: float = 10.0,
        max_inbound_calls: int = 8,
        plain: bool = True,
        tls: ServerTls | None = None,
        tls_port: int = 9443,
        proxies: ProxyTrust | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.services = services
        self.reuse_port = reuse_port  # other processes (`serve --workers`) listen on the same ports
        self.versions = versions
        for version in versions:
            version.validators()  # compiled now, not during a charge point's handshake
        self.message_log = message_log
        self.host, self.port = host, port
        # Plain ws:// on `port` (when `plain`), wss:// on `tls_port` (when `tls`).
        self.plain = plain
        self.tls, self.tls_port = tls, tls_port
        self.proxies = proxies or ProxyTrust()
        self.ping_interval = ping_interval
        self.call_timeout = call_timeout
        self.max_message_bytes = max_message_bytes
        self.handshake_timeout = handshake_timeout
        self.max_inbound_calls = max_inbound_calls
        self.connections: dict[str, ChargePointConnection] = {}
        # Told of each connection as it is attached and detached (cluster presence).
        self.observers: list[ConnectionObserver] = []
        self.loop = asyncio.get_event_loop()
        self.inbound = InboundFrames(self.loop)
        self._servers: list[asyncio.AbstractServer] = []
        # An adapter, not a logger name: picows then keeps no logger object per connection.
        self._ws_logger = logging.LoggerAdapter(logging.getLogger("voltline.gateway.ws"), {})
        # Left here by the HandshakeGate for the hook while it hands a request head to picows.
        self.settled: Settled | None = None
        self.handshake_address: str | None = None
        self.handshake_ssl: ssl.SSLObject | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # What the services reach charge points through (app.py binds it to CommandService).
        self.link = GatewayLink(self)

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.inbound = InboundFrames(self.loop)
        # picows' own server (ws_create_server) with a HandshakeGate in front of each connection,
        # so a password that needs the slow hash is verified before picows' synchronous hook.
        # ws:// is on uvloop's own TCP transport; wss:// on aiofastnet's (picows' own server takes
        # aiofastnet when it is installed). aiofastnet calls OpenSSL directly, with no memory BIOs
        # and no SSLWantReadError per record as uvloop's SSL transport has: wss:// went from 0.78-0.79
        # to 0.84-0.87 of ws://. Over ws:// it was 5-8 % faster too, but an idle charge point cost
        # 17.5 KiB instead of 12.7 (at 19,800; the goal is 16: its transport carries 256 iovecs
        # inline), so plain stays on uvloop.
        # (bench/README.md, 2026-12-04 evening.)
        def gate() -> HandshakeGate:
            return HandshakeGate(self, self._websocket_protocol())

        if self.plain:
            server = await self.loop.create_server(
                gate, self.host, self.port, backlog=4096, reuse_port=self.reuse_port or None
            )
            self._servers.append(server)
            self.port = server.sockets[0].getsockname()[1]
        if self.tls is not None:
            server = await aiofastnet.create_server(
                self.loop, gate, self.host, self.tls_port, backlog=4096, ssl=self.tls.context,
                ssl_handshake_timeout=self.handshake_timeout, reuse_port=self.reuse_port or None,
            )
            self._servers.append(server)
            self.tls_port = server.sockets[0].getsockname()[1]
        self._spawn(self._keepalive())

    def _websocket_protocol(self) -> WSProtocol:
        # The arguments ws_create_server gives its protocols (picows 2.3), in its order.
        return WSProtocol(
            None, None, False,  # host and port, path, not the client side
            self._handshake,
            self._ws_logger,
            True,  # disconnect when a listener raises
            self.handshake_timeout,
            False, 20, 20, WSAutoPingStrategy.PING_WHEN_IDLE,  # our own keep-alive honours a per charge point interval
            True,  # picows answers pings
            self.max_message_bytes,
            None,  # no extra headers
            # OCPP messages are small; picows grows the buffer for a larger one. The default 16 KiB
            # made up half of an idle charge point's memory.
            2048,
        )

    async def stop(self, grace: float = 2.0) -> int:
        """Stop accepting, close every connection with 1001 (Going Away), and wait up to `grace`
        seconds until each is closed: a close frame still in a socket's buffer when the process
        exits never reaches its charge point. Returns how many connections were closed."""
        for server in self._servers:
            server.close()
        closing = [c for c in self.connections.values() if c.transport is not None]
        for connection in closing:
            connection.transport.send_close(WSCloseCode.GOING_AWAY, b"server shutting down")
            connection.transport.disconnect()
        deadline = self.loop.time() + grace
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return len(closing)

    # -- handshake --------------------------------------------------------------------------

    def _handshake(self, request: picows.WSUpgradeRequest) -> WSUpgradeResponseWithListener:
        identity = identity_of_target(request.path)
        if identity is None:
            return _refuse(404, "connect to /ocpp/{chargePointId}")
        problem = identity_problem(identity)
        if problem is not None:
            log.info("refused %r: %s", identity[:64], problem)
            return _refuse(400, problem)
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        version = self.versions.negotiate(offered)
        if version is None:
            log.info("refused %s: no supported subprotocol in %s", identity, offered)
            return _refuse(400, f"offer one of the subprotocols {', '.join(self.versions.subprotocols)}")
        password = basic_auth_password(request.headers.get("Authorization"), identity)
        settled = self.settled
        if settled is not None and settled.identity == identity and settled.password == password:
            decision = settled.decision
        else:
            security = self.connection_security(self.handshake_ssl, self.handshake_address, request.headers)
            decision = self.services.charge_points.check_handshake(identity, password, self.handshake_address, security)
            if decision.verify:
                # Only the gate verifies passwords, off the loop; it saw this head differently.
                decision = self.services.charge_points.busy_decision()
        if not decision.allowed:
            log.info("refused %s: %s", identity, decision.reason)
            self.services.charge_points.refused(identity, self.handshake_address, decision)
            return _refuse(decision.status, decision.reason, _refusal_headers(decision))
        access = decision.access
        status = access.registration_status if access else self.services.charge_points.status_for_new
        context = version.context(identity, self.services, status)
        ping = access.ping_interval if access and access.ping_interval is not None else self.ping_interval
        connection = ChargePointConnection(self, identity, version, context, ping, decision.auto_registered)
        return WSUpgradeResponseWithListener(
            WSUpgradeResponse.create_101_response(extra_headers={"Sec-WebSocket-Protocol": version.subprotocol}),
            connection,
        )

    def connection_security(
        self, ssl_object: ssl.SSLObject | None, address: str | None, headers: Mapping[str, str]
    ) -> ConnectionSecurity:
        return connection_security(ssl_object, address, headers, self.proxies)

    def new_session(self, connection: ChargePointConnection) -> RpcSession:
        access = self.services.charge_points.access(connection.identity)
        return RpcSession(
            connection.identity,
            connection.send,
            connection.version.handlers,
            connection.version.validators(),
            context=connection.context,
            lenient_actions=access.lenient_actions if access else NO_ACTIONS,
            message_log=self.message_log,
            call_timeout=self.call_timeout,
            error_codes=connection.version.error_codes,
        )

    # -- registry ---------------------------------------------------------------------------

    def attach(self, connection: ChargePointConnection) -> None:
        previous = self.connections.get(connection.identity)
        self.connections[connection.identity] = connection
        if previous is not None and previous.transport is not None:
            # A charge point that reconnects before we noticed its old connection died: the new
            # one wins, the old one is closed without marking the charge point offline.
            log.info("%s connected again; closing its previous connection", connection.identity)
            self.close_replaced(previous)
        connection.recorded = self._spawn(self._connected(connection))
        for observer in self.observers:
            observer.attached(connection)

    @staticmethod
    def close_replaced(previous: ChargePointConnection) -> None:
        """Close a connection a newer one replaced (here or on another node of the cluster),
        without marking the charge point offline."""
        previous.replaced = True
        if previous.transport is not None:
            previous.transport.send_close(WSCloseCode.POLICY_VIOLATION, b"replaced by a newer connection")
            previous.transport.disconnect()

    async def _connected(self, connection: ChargePointConnection) -> None:
        try:
            await self.services.charge_points.connected(
                connection.identity, connection.remote_address, connection.auto_registered,
                ocpp_version=connection.version.label,
            )
        except Exception:
            log.exception("could not record the connection of %s", connection.identity)

    def detach(self, connection: ChargePointConnection) -> None:
        if self.connections.get(connection.identity) is connection:
            del self.connections[connection.identity]
        if not connection.replaced:
            self.services.transactions.disconnected(connection.identity)
            self._spawn(self.services.charge_points.disconnected(connection.identity))
        for observer in self.observers:
            observer.detached(connection)

    @contextmanager
    def operator_first(self) -> Iterator[None]:
        """Within this block (an operator's command through the API), the event loop takes fewer
        charge point CALLs per turn, so the command's several turns come round sooner."""
        inbound = self.inbound
        inbound.urgent += 1
        try:
            yield
        finally:
            inbound.urgent -= 1

    def is_connected(self, identity: str) -> bool:
        return identity in self.connections

    async def call(self, identity: str, action: str, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send `action` to a charge point connected to this node and return its answer."""
        connection = self.connections.get(identity)
        if connection is None or connection.session is None:
            raise NotConnected(identity)
        try:
            return await connection.session.call(action, payload, timeout)
        except ConnectionLost as exc:
            raise NotConnected(str(exc)) from None

    def disconnect(self, identity: str) -> None:
        connection = self.connections.get(identity)
        if connection is not None and connection.transport is not None:
            connection.transport.send_close(WSCloseCode.OK, b"closed by the operator")
            connection.transport.disconnect()

    # -- keep-alive -------------------------------------------------------------------------

    # Seconds between two writes of last-seen and heartbeat times; a cluster writes them sooner,
    # since the other nodes' readers see them only in the database.
    liveness_flush = 15.0

    async def _keepalive(self, tick: float = 1.0, flush_every: float | None = None) -> None:
        """Ping charge points that have been quiet for half their interval; drop those that stay
        silent for a whole interval. One sweep for all connections costs far less than a timer
        per connection. Every `flush_every` seconds, last-seen times go to the database."""
        last_flush = self.loop.time()
        while True:
            await asyncio.sleep(tick)
            now = self.loop.time()
            flushing = now - last_flush >= (flush_every or self.liveness_flush)
            wall = datetime.now(UTC)
            for connection in list(self.connections.values()):
                if flushing and connection.last_rx > last_flush:
                    self.services.charge_points.seen(
                        connection.identity, wall - timedelta(seconds=now - connection.last_rx)
                    )
                interval = connection.ping_interval
                transport = connection.transport
                if not interval or transport is None or connection.paused:
                    # A paused connection is not silent: we are not listening to it.
                    continue
                quiet = now - connection.last_rx
                if quiet >= interval:
                    log.info("%s silent for %.0f s; closing", connection.identity, quiet)
                    transport.disconnect(graceful=False)
                elif quiet >= interval / 2 and not connection.ping_sent:
                    connection.ping_sent = now
                    transport.send_ping()
            if flushing:
                last_flush = now
                try:
                    await self.services.charge_points.flush_liveness()
                except Exception:
                    log.exception("could not record last-seen times")

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _refuse(status: int, reason: str, headers: dict[str, str] | None = None) -> WSUpgradeResponseWithListener:
    return WSUpgradeResponseWithListener(
        WSUpgradeResponse.create_error_response(status, reason.encode(), extra_headers=headers), None
    )


def _refusal_headers(decision: Any) -> dict[str, str] | None:
    if decision.status == 401:
        return {"WWW-Authenticate": 'Basic realm="OCPP"'}
    if decision.retry_after:
        return {"Retry-After": str(max(1, math.ceil(decision.retry_after)))}
    return None
