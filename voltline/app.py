"""Builds and runs Voltline: store, bus, services, gateway, API and dashboard. The one wiring place."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from voltline.api import create_api
from voltline.bus.events import Event, EventBus
from voltline.cluster.commands import ClusterLink, CommandLink
from voltline.cluster.connection import connect as connect_redis
from voltline.cluster.directory import Directory
from voltline.cluster.events import EventRelay
from voltline.cluster.invalidation import Cache, Invalidations
from voltline.cluster.leases import LeasedJob
from voltline.cluster.membership import Membership
from voltline.cluster.presence import Presence
from voltline.config import Settings
from voltline.gateway.server import OcppGateway
from voltline.gateway.tls import CaFile, ProxyTrust, ServerTls
from voltline.logging import silence as silence_log
from voltline.metrics import Metrics
from voltline.services.container import Services
from voltline.services.node import Node
from voltline.services.security.operators import UserService
from voltline.services.security.client_certificates import ClientCertificateCheck
from voltline.store.database import Store
from voltline.store.migrate import ensure_schema
from voltline.web import mount as mount_dashboard
from voltline.workers import shared_listeners

log = logging.getLogger("voltline")

# Published once when the node begins to stop: every event stream ends on it at once.
SERVER_STOPPING = "server.stopping"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# What a stop may take, step by step: whatever is connected, the process is gone within seconds.
CLOSE_GRACE_S = 2.0
HTTP_GRACE_S = 2.0
FLUSH_GRACE_S = 3.0
REDIS_GRACE_S = 1.0


@dataclass(slots=True, frozen=True)
class StopReport:
    charge_points: int  # connections closed with 1001
    log_frames: int  # message log frames written at the stop

    def __str__(self) -> str:
        return f"{self.charge_points} charge points disconnected, {self.log_frames} log frames flushed"


class _HttpServer(uvicorn.Server):
    """uvicorn without its own signal handling: a signal stops the whole node (Voltline.run_forever),
    both listeners together, not only the HTTP one (uvicorn re-raised SIGTERM once its listener
    was down, which killed the process before the charge points were told)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def tune_garbage_collector() -> None:
    """For a long-running server process: the cyclic collector's default (a young-generation pass
    every 700 allocations) ran dozens of times per thousand OCPP messages, which allocate many
    short-lived objects but almost no reference cycles. Measured on the throughput benchmark:
    +23% messages/s. Objects alive after start-up are frozen out of every later pass."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


class OperatorFirst:
    """ASGI wrapper: while a request that changes something (a command, an edit) is in flight,
    the OCPP listener takes fewer charge point CALLs per turn of the shared event loop (see
    InboundFrames). Reads and event streams, which may stay open for hours, do not count."""

    def __init__(self, app: Any, gateway: OcppGateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        with self.gateway.operator_first():
            await self.app(scope, receive, send)


# Heartbeats seen on one node reach the readers on the others within this (via the database).
CLUSTER_LIVENESS_FLUSH_S = 2.0


class Voltline:
    """One node: the OCPP listener and the HTTP listener in one process, on one event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.node_id = settings.node_id or (
            f"{socket.gethostname()}-{os.getpid()}" if settings.redis_url else socket.gethostname()
        )
        self.store = Store(
            settings.database_url,
            pool_size=settings.database_pool_size,
            batch_max=settings.write_batch_max,
            lane_max_rows=settings.write_queue_max_rows,
            lane_max_bytes=settings.write_queue_max_bytes,
            query_timeout=settings.query_timeout,
        )
        self.bus = EventBus()
        # Cluster mode: the other nodes' events reach this node's streams and dashboards.
        self.redis = connect_redis(settings.redis_url) if settings.redis_url else None
        self.event_relay = EventRelay(self.redis, self.bus, self.node_id) if self.redis is not None else None
        # Charge point certificates (security profile 3): the trusted CAs are read from their
        # file now and whenever it changes; revocation is Voltline's own (issued certificates).
        self.client_certificates = ClientCertificateCheck(organization=settings.certificate_organization)
        self.client_cas = (
            CaFile(settings.ocpp_tls_client_ca, self.client_certificates.trust) if settings.ocpp_tls_client_ca else None
        )
        self.ocpp_tls = (
            ServerTls(
                settings.ocpp_tls_cert, settings.ocpp_tls_key, client_ca_file=settings.ocpp_tls_client_ca,
                ciphers=settings.ocpp_tls_ciphers,
            )
            if settings.ocpp_tls_cert and settings.ocpp_tls_key else None
        )
        self.http_tls = (
            ServerTls(settings.tls_cert, settings.tls_key, ciphers=settings.ocpp_tls_ciphers)
            if settings.tls_cert and settings.tls_key else None
        )
        self.services = Services.build(settings, self.store, self.bus, self.node_id, self.client_certificates)
        self.gateway = OcppGateway(
            self.services,
            self.services.message_log,
            host=settings.ocpp_host,
            port=settings.ocpp_port,
            ping_interval=settings.ping_interval,
            call_timeout=settings.call_timeout,
            max_message_bytes=settings.max_frame_bytes,
            handshake_timeout=settings.handshake_timeout,
            max_inbound_calls=settings.max_inbound_calls,
            plain=settings.ocpp_plain,
            tls=self.ocpp_tls,
            tls_port=settings.ocpp_tls_port,
            proxies=ProxyTrust.of(settings.ocpp_trusted_proxies, settings.ocpp_proxy_client_cert_header),
            reuse_port=settings.reuse_port,
        )
        self.services.commands.bind(self.gateway.link)
        self.membership = self._membership(settings) if self.redis is not None else None
        self.directory: Directory | None = None
        self.command_link: CommandLink | None = None
        if self.membership is not None:
            self._route_commands(settings, self.membership.presence)
        if self.redis is not None:
            self.gateway.liveness_flush = CLUSTER_LIVENESS_FLUSH_S
        self.invalidations = self._share_caches() if self.redis is not None else None
        self.metrics = Metrics(self)
        # The operator side (REST API and dashboard) gets the services, their read models and
        # this node's connections; it builds none of them itself.
        node = Node(self.node_id, settings, self.services, self.gateway, lambda: self._stopping)
        self.http = create_api(node, self.metrics.registry)
        mount_dashboard(self.http, node, UserService(self.store, self.services.passwords))
        self._http_server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._stopped: asyncio.Future[StopReport] | None = None

    def _membership(self, settings: Settings) -> Membership:
        assert self.redis is not None
        presence = Presence(self.redis, self.node_id, settings.presence_expiry)
        membership = Membership(
            presence, settings.presence_expiry, self.services.charge_points.connections.node_gone,
            self.gateway.close_replaced, hand_over=self.services.charge_points.connections.handed_over,
        )
        self.gateway.observers.append(membership)
        return membership

    def _route_commands(self, settings: Settings, presence: Presence) -> None:
        """Cluster mode: a command for a charge point another node holds goes to that node over
        its command stream; this node's Directory answers the API's synchronous questions."""
        assert self.redis is not None
        self.directory = Directory(self.redis, self.node_id, settings.presence_expiry / 3)
        self.command_link = CommandLink(
            self.redis, self.node_id, self.gateway, presence, settings.call_timeout,
            liveness_check=min(1.0, settings.presence_expiry / 3),
        )
        self.services.commands.bind(ClusterLink(self.gateway.link, self.directory, self.command_link, self.gateway.versions))

    def _share_caches(self) -> Invalidations:
        """Cluster mode: what an operator changes through this node, the other nodes' caches
        forget at once (the handshake's registry, checked API tokens)."""
        assert self.redis is not None
        invalidations = Invalidations(self.redis, self.node_id)
        charge_points, tokens = self.services.charge_points, self.services.tokens
        gateway = self.gateway

        # A charge point deleted through another node may not stay connected here either.
        async def refresh_charge_point(identity: str) -> None:
            await charge_points.refresh_access(identity)
            if charge_points.access(identity) is None:
                gateway.disconnect(identity)

        invalidations.register("charge_point", Cache(refresh_charge_point, charge_points.reload_access))

        async def forget_token(key: str) -> None:
            tokens.forget(int(key))

        async def forget_tokens() -> None:
            tokens.forget_all()

        invalidations.register("api_token", Cache(forget_token, forget_tokens))
        charge_points.registry.on_change = lambda identity: invalidations.announce("charge_point", identity)
        tokens.on_revoked = lambda token_id: invalidations.announce("api_token", str(token_id))
        return invalidations

    @property
    def stopping(self) -> bool:
        """True once shutdown began: long-lived responses (event streams) end themselves."""
        return self._stopping

    @property
    def http_port(self) -> int:
        assert self._http_server is not None
        return self._http_server.servers[0].sockets[0].getsockname()[1]

    @property
    def ocpp_port(self) -> int:
        return self.gateway.port

    @property
    def ocpp_tls_port(self) -> int:
        return self.gateway.tls_port

    def reload_tls(self, only_changed: bool = False) -> None:
        """Read the certificate, key and CA files again (SIGHUP, or when they changed): new
        handshakes use them; connections already open keep theirs."""
        for files in (self.ocpp_tls, self.http_tls, self.client_cas):
            if files is not None:
                files.reload_if_changed() if only_changed else files.reload()

    async def _watch_tls_files(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tls_reload_interval)
            self.reload_tls(only_changed=True)

    async def start(self) -> None:
        schema = await ensure_schema(self.store.engine)
        if schema == "created":
            log.info("created the database schema")
        self.store.schema_ready()
        await self.services.load()
        await self.gateway.start()
        config = uvicorn.Config(
            OperatorFirst(self.http, self.gateway),
            host=self.settings.host,
            port=self.settings.port,
            log_level="warning",
            # Its records go to ours (voltline.logging: written off the event loop), not to a
            # handler of its own that writes tracebacks on the loop.
            log_config=None,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=HTTP_GRACE_S,
        )
        if self.http_tls is not None:
            config.load()
            config.ssl = self.http_tls.context  # reloadable, and TLS 1.2+ with the OCPP listener's suites
        self._http_server = _HttpServer(config)
        # Sharing the port with the other workers of `serve --workers`: uvicorn binds no socket
        # with SO_REUSEPORT itself, so it is given ours.
        sockets = shared_listeners(self.settings.host, self.settings.port) if self.settings.reuse_port else None
        serving = asyncio.create_task(self._http_server.serve(sockets))
        self._tasks.append(serving)
        while not self._http_server.started:
            if serving.done():
                serving.result()  # raises why it failed (e.g. the port is taken)
            await asyncio.sleep(0.01)
        self._tasks.append(asyncio.create_task(self.services.message_log.run()))
        if self.membership is not None:
            self._tasks.append(asyncio.create_task(self.membership.run()))
            self._tasks.append(asyncio.create_task(self.membership.run_takeovers()))
        if self.directory is not None and self.command_link is not None:
            self._tasks.append(asyncio.create_task(self.directory.run()))
            self._tasks.append(asyncio.create_task(self.command_link.run_commands()))
            self._tasks.append(asyncio.create_task(self.command_link.run_replies()))
        if self.event_relay is not None:
            self._tasks.append(asyncio.create_task(self.event_relay.run()))
        if self.invalidations is not None:
            self._tasks.append(asyncio.create_task(self.invalidations.run()))
        self._tasks.append(asyncio.create_task(self._one_node_at_a_time("reservation_expiry",
                                                                       self.services.reservations.run_expiry)))
        self._tasks.append(asyncio.create_task(self._one_node_at_a_time("message_log_retention",
                                                                       self.services.message_log.run_pruning)))
        if self.services.rollups.enabled:
            self._tasks.append(asyncio.create_task(self.services.rollups.run()))
        self._tasks.append(
            asyncio.create_task(self.services.certificates.run_renewal(self.settings.certificate_renewal_interval))
        )
        if self.ocpp_tls or self.http_tls or self.client_cas:
            self._tasks.append(asyncio.create_task(self._watch_tls_files()))
        if self.client_cas is not None:
            # Revocations on other nodes of a cluster: this node reads them again now and then.
            self._tasks.append(asyncio.create_task(self.services.revoked_certificates.run()))
        listeners = []
        if self.settings.ocpp_plain:
            listeners.append(f"ws://{self.settings.ocpp_host}:{self.ocpp_port}/ocpp/{{chargePointId}}")
        if self.ocpp_tls is not None:
            listeners.append(f"wss://{self.settings.ocpp_host}:{self.ocpp_tls_port}/ocpp/{{chargePointId}}")
        log.info(
            "voltline serving: OCPP %s, HTTP %s://%s:%d", ", ".join(listeners),
            "https" if self.http_tls else "http", self.settings.host, self.http_port,
        )

    def _one_node_at_a_time(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> Coroutine[Any, Any, None]:
        """`job`, run here alone, or in a cluster by whichever node holds its lease."""
        if self.redis is None:
            return job()
        return LeasedJob(self.redis, name, self.node_id, job, self.settings.cluster_lease_seconds).run()

    async def stop(self) -> StopReport:
        """Stop gracefully: stop accepting on both listeners, end the event streams, close every
        charge point connection with 1001, record them offline, write what is buffered (the
        message log, the store's lanes) and close the database. Bounded in time whatever is
        connected. A second call waits for the first."""
        if self._stopped is not None:
            return await asyncio.shield(self._stopped)
        self._stopped = asyncio.get_running_loop().create_future()
        try:
            report = await self._stop()
        except BaseException as exc:
            self._stopped.set_exception(exc)
            self._stopped.exception()  # retrieved: the caller sees it raised
            raise
        self._stopped.set_result(report)
        return report

    async def _stop(self) -> StopReport:
        self._stopping = True
        self.bus.publish(Event(SERVER_STOPPING, None, {}))
        serving = self._tasks[0] if self._tasks else None
        if self._http_server is not None:
            self._http_server.should_exit = True
        closed = await self.gateway.stop(CLOSE_GRACE_S)
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        if self.membership is not None:
            try:
                await asyncio.wait_for(self.membership.leave(), REDIS_GRACE_S)
            except Exception:
                log.warning("could not remove this node's presence from Redis; the others see it gone after presence_expiry")
        if serving is not None:
            # uvicorn cancels what is still open after its own grace period (HTTP_GRACE_S).
            await asyncio.wait([serving], timeout=HTTP_GRACE_S + 1.0)
        # What is buffered goes to the database, within one grace period for all of it: with the
        # database away, each step would otherwise wait on its own.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FLUSH_GRACE_S

        def left() -> float:
            return max(0.01, deadline - loop.time())

        charge_points = self.services.charge_points
        with contextlib.suppress(Exception):
            await asyncio.wait_for(charge_points.flush_liveness(), left())
        try:
            await asyncio.wait_for(charge_points.all_disconnected(), left())
        except Exception:
            log.warning("could not record the charge points offline; the next start does")
        try:
            await asyncio.wait_for(self.services.rollups.flush(), left())
        except Exception:
            log.warning("could not write the last report rollups; `voltline reports rebuild` restores them")
        frames = self.services.message_log.buffered
        flushed = self.services.message_log.flush()
        if flushed is not None:
            await asyncio.wait([asyncio.ensure_future(flushed)], timeout=left())
        try:
            await asyncio.wait_for(self.store.close(), left())
        except Exception:
            log.warning("the database did not take the last writes before the stop")
        self.services.passwords.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        unwritten = self.services.message_log.buffered  # failed commits came back here
        if unwritten:
            log.warning("message log: %d frames could not be written before the stop", unwritten)
        return StopReport(closed, frames - unwritten)

    async def run_forever(self) -> StopReport:
        """Serve until SIGTERM or SIGINT, then stop gracefully. A second signal during the stop
        ends the process at once. SIGHUP re-reads the TLS files."""
        requested = asyncio.Event()
        with stop_signals(requested), reload_signal(self.reload_tls):
            await self.start()
            tune_garbage_collector()
            try:
                await requested.wait()
            finally:
                report = await self.stop()
        return report


@contextlib.asynccontextmanager
async def operator_users(settings: Settings) -> AsyncIterator[UserService]:
    """The operators' accounts over the configured database, for `voltline user …`."""
    store = Store(settings.database_url)
    try:
        await ensure_schema(store.engine)
        yield UserService(store)
    finally:
        await store.close()


@contextlib.contextmanager
def reload_signal(reload: Any) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, reload)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


@contextlib.contextmanager
def stop_signals(requested: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `requested`; another one while it is set exits at once, with one
    line and without unwinding (every task's traceback would follow otherwise)."""
    loop = asyncio.get_running_loop()

    def on_signal(number: int) -> None:
        if requested.is_set():
            silence_log()  # its thread would otherwise go on writing after the line below
            sys.stderr.write(f"voltline: {signal.Signals(number).name} again: stopped at once, unflushed\n")
            sys.stderr.flush()
            os._exit(128 + number)
        log.info("%s: stopping", signal.Signals(number).name)
        requested.set()

    installed = []
    for number in STOP_SIGNALS:
        try:
            loop.add_signal_handler(number, on_signal, number)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals
            continue
        installed.append(number)
    try:
        yield
    finally:
        for number in installed:
            loop.remove_signal_handler(number)
