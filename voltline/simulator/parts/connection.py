"""The station's connection life cycle: connect with back-off, boot until accepted, heartbeat,
serve the OCPP session, and the network faults a test can inject (a cut, a hang)."""

from __future__ import annotations

import asyncio
import ssl
import contextlib
from typing import Self

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, RpcSession
from voltline.simulator.outbox import Payload
from voltline.simulator.parts.base import StationBase, log
from voltline.simulator.transport import Link, open_link


class ConnectionPart(StationBase):
    """Power on and off, the link to the central system, boot and heartbeat."""

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Power on: connect and boot in the background."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"sim-{self.identity}")

    async def stop(self) -> None:
        """Power off at once (no StopTransaction is sent: use `stop_all_sessions` first for that)."""
        tasks = [t for t in (self._task, *self._tasks, *(c.task for c in self.connectors.values())) if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        self._tasks.clear()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        attempt = 0
        while True:
            if self._reboot_requested:
                await self._reboot()
            try:
                link = await open_link(
                    self.url,
                    self.identity,
                    password=self.password,
                    ping_interval=self.config.get_int("WebSocketPingInterval"),
                    open_timeout=self.call_timeout,
                    ssl_context=self._tls() if self.url.startswith("wss:") else None,
                    subprotocols=self.subprotocols,
                )
            except Exception as exc:  # refused, unreachable, handshake rejected: all mean "try later"
                self._error(f"connect failed: {exc}")
                attempt += 1
                await self.clock.sleep(self._backoff(attempt))
                continue
            accepted_before = self.boot_count
            self.connected = True
            self.connections += 1
            self._notify()
            try:
                await self._serve(link)
            finally:
                self.connected = False
                self._notify()
            if self._reboot_requested:
                attempt = 0
                continue
            delay, self._reconnect_after = self._reconnect_after, None
            if delay is None:
                # A connection that got as far as an accepted boot starts the back-off afresh.
                attempt = 1 if self.boot_count > accepted_before or not self._needs_boot else attempt + 1
                delay = self._backoff(attempt)
            await self.clock.sleep(delay)

    def _tls(self) -> ssl.SSLContext:
        """A TLS client context for this connection, with the station's certificate when it has
        one (security profile 3)."""
        if self.tls is not None:
            context = self.tls.context(self.identity)  # --ca-file, --client-cert, --client-key
        else:
            context = ssl.create_default_context(cafile=self.ca_file)
        self.client_certificate.apply(context)  # one got by SignCertificate replaces one configured
        return context

    def _backoff(self, attempt: int) -> float:
        base = min(self.reconnect_max, self.reconnect_min * 2 ** max(0, attempt - 1))
        # Jitter keeps a fleet that lost its central system from reconnecting in lockstep.
        return base * (1.0 + 0.25 * self.rng.random())

    async def _serve(self, link: Link) -> None:
        session = RpcSession(
            self.identity,
            link.send,
            self.handlers,
            self.ocpp_validators(),
            context=self,
            call_timeout=self.call_timeout,
            error_codes=self.error_codes,
        )
        link.muted = self.silent
        self._session, self._link = session, link
        online = asyncio.get_running_loop().create_task(self._online(session), name=f"sim-{self.identity}-online")
        online.add_done_callback(lambda task: self._online_ended(task, link))
        try:
            async for data in link.messages():
                if not self.silent:
                    session.feed(data)
        finally:
            session.close()
            online.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await online
            self._session = self._link = None
            self.outbox.drop_volatile(f"{self.identity} lost its connection")
            await link.close()

    def _online_ended(self, task: asyncio.Task[None], link: Link) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConnectionLost):
            log.error("%s: session failed: %r", self.identity, exc, exc_info=exc)
            self._error(f"internal: {exc!r}")
            link.abort()

    async def _online(self, session: RpcSession) -> None:
        if self._needs_boot:
            await self._boot(session)
            self._needs_boot = False
            self._resync_statuses(force=True)
        else:
            self._resync_statuses(force=False)
        self._notify()
        heartbeat = self._spawn(self._heartbeat(), name=f"sim-{self.identity}-heartbeat")
        try:
            await self.outbox.run(
                session,
                may_send=self._may_send,
                retry_wait=self._retry_wait,
                max_attempts=lambda: self.config.get_int("TransactionMessageAttempts"),
                on_error=self._error,
                on_progress=self._notify,
            )
        finally:
            heartbeat.cancel()

    async def _may_send(self) -> None:
        while self.silent:
            await self._unsilenced.wait()
        if self._reboot_requested:
            # Going down: nothing new is started on a connection about to close.
            await asyncio.Future()

    async def _retry_wait(self, attempt: int) -> None:
        await self.clock.sleep(self.config.get_int("TransactionMessageRetryInterval") * attempt)

    # -- boot and heartbeat ----------------------------------------------------------------

    def boot_payload(self) -> Payload:
        return {
            "chargePointVendor": self.vendor,
            "chargePointModel": self.model,
            "chargePointSerialNumber": self.serial_number,
            "chargeBoxSerialNumber": self.serial_number,
            "firmwareVersion": self.firmware_version,
            "meterType": "SimMeter",
        }

    async def _boot(self, session: RpcSession) -> None:
        while True:
            await self._may_send()
            self._boot_trigger.clear()
            try:
                result = await session.call("BootNotification", self.boot_payload())
            except (CallTimeout, CallErrorReceived) as exc:
                self._error(f"BootNotification: {exc}")
                await self.clock.sleep(self.boot_retry)
                continue
            self.apply_boot_result(result)
            if result["status"] == "Accepted":
                return
            # Pending or Rejected: retry after the interval the central system asked for, or
            # earlier if it triggers a BootNotification itself.
            await self.clock.wait(self._boot_trigger, result["interval"] or self.boot_retry)

    def apply_boot_result(self, result: Payload) -> None:
        self.registration_status = result["status"]
        if result["status"] == "Accepted":
            self.boot_count += 1
            interval = self.heartbeat_override or result["interval"]
            if interval > 0:
                self.config.set("HeartbeatInterval", str(interval))
                self._heartbeat_changed.set()
        self._notify()

    def trigger_boot(self) -> None:
        """A TriggerMessage(BootNotification): during Pending it shortens the wait, afterwards it
        sends a BootNotification whose answer is applied like the first one."""
        if self._needs_boot:
            self._boot_trigger.set()
        else:
            self.send_volatile("BootNotification", self.boot_payload(), on_result=self.apply_boot_result)

    async def _heartbeat(self) -> None:
        while True:
            changed = await self.clock.wait(self._heartbeat_changed, self.config.get_int("HeartbeatInterval"))
            if changed:
                self._heartbeat_changed.clear()
                continue
            self.send_volatile("Heartbeat", {})

    async def drop_connection(self, reconnect_after: float | None = None) -> None:
        """Lose the network: the socket is cut; the station reconnects after `reconnect_after`
        simulated seconds (or after its back-off)."""
        self._reconnect_after = reconnect_after
        if self._link is not None:
            self._link.abort()

    async def go_silent(self, duration: float | None = None) -> None:
        """Hang: keep the socket open but neither answer nor send, for `duration` simulated seconds
        (or until `resume`)."""
        self.silent = True
        self._unsilenced.clear()
        if self._link is not None:
            self._link.muted = True
        self._notify()
        if duration is not None:

            async def wake_up() -> None:
                await self.clock.sleep(duration)
                await self.resume()

            self._spawn(wake_up())

    async def resume(self) -> None:
        if not self.silent:
            return
        self.silent = False
        if self._link is not None:
            self._link.muted = False
        self._unsilenced.set()
        if self._online_now():
            self._resync_statuses(force=False)
        self._notify()
