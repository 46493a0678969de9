"""One simulated OCPP 1.6J charge point: its connection life cycle, boot, heartbeat, sessions.

The station behaves like firmware on real hardware: it boots until the central system accepts it,
keeps its own state (meter registers, transactions, configuration, lists, profiles) across lost
connections, queues transaction messages while offline and reports every connector change. What
the central system may ask of it lives in `handlers.py`; firmware and log uploads in
`maintenance.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, RpcSession
from voltline.ocpp.schemas import validators
from voltline.simulator import meter
from voltline.simulator.certificates import CertificateStore
from voltline.simulator.client_certificate import ClientCertificate
from voltline.simulator.clock import Clock, iso
from voltline.simulator.config import Configuration
from voltline.simulator.connector import Connector, Reservation
from voltline.simulator.handlers import HANDLERS
from voltline.simulator.local_auth import AuthorizationCache, LocalAuthList, usable
from voltline.simulator.maintenance import Maintenance
from voltline.simulator.outbox import Outbox, Outgoing, Payload
from voltline.simulator.session import ElectricVehicle, Transaction
from voltline.simulator.smart_charging import ChargingProfiles
from voltline.simulator.tls import ClientTls
from voltline.simulator.transport import Link, open_link

log = logging.getLogger("voltline.simulator")

STEP_SECONDS = 5.0  # integration step of the energy flow, in simulated seconds
BOOT_SECONDS = 5.0  # how long a reboot takes
DEFAULT_MAX_POWER_W = 22_080.0  # 32 A on three phases at 230 V


class SimulatorError(Exception):
    """A request to the simulated station that the station cannot carry out."""


class SimulatedChargePoint:
    def __init__(
        self,
        identity: str,
        url: str,
        *,
        connectors: int = 1,
        vendor: str = "Voltline",
        model: str = "Simulator",
        firmware: str = "1.0.0",
        serial_number: str | None = None,
        password: str | None = None,
        tls: ClientTls | None = None,
        heartbeat_interval: int | None = None,
        meter_interval: int = 60,
        max_power_w: float = DEFAULT_MAX_POWER_W,
        clock: Clock | None = None,
        seed: int | str | None = None,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
        call_timeout: float = 30.0,
        boot_retry: int = 10,
        ca_file: str | None = None,
    ) -> None:
        if connectors < 1:
            raise ValueError("a charge point has at least one connector")
        # BootNotification's CiString limits: a longer value would be refused by every central system.
        for name, value, limit in (("vendor", vendor, 20), ("model", model, 20), ("firmware", firmware, 50)):
            if not value or len(value) > limit:
                raise ValueError(f"{name} must be 1 to {limit} characters")
        self.identity = identity
        self.url = url
        self.vendor = vendor
        self.model = model
        self.firmware_version = firmware
        self.serial_number = serial_number or f"SIM-{identity}"[:25]
        self.password = password
        self.tls = tls
        self.heartbeat_override = heartbeat_interval
        self.max_power_w = max_power_w
        self.clock = clock or Clock()
        self.rng = random.Random(f"{seed}/{identity}") if seed is not None else random.Random()
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.call_timeout = call_timeout
        self.boot_retry = boot_retry
        self.ca_file = ca_file  # the CAs a wss:// central system's certificate is checked against

        self.config = Configuration(
            connectors=connectors,
            heartbeat_interval=heartbeat_interval or 300,
            meter_interval=meter_interval,
        )
        self.config.on_change(self._config_changed)
        self.station = Connector(0)
        self.connectors: dict[int, Connector] = {
            i: Connector(i, register_wh=float(self.rng.randint(0, 5_000_000))) for i in range(1, connectors + 1)
        }
        self.profiles = ChargingProfiles(
            max_stack_level=self.config.get_int("ChargeProfileMaxStackLevel"),
            max_periods=self.config.get_int("ChargingScheduleMaxPeriods"),
            max_installed=self.config.get_int("MaxChargingProfilesInstalled"),
        )
        self.local_list = LocalAuthList(self.config.get_int("LocalAuthListMaxLength"))
        self.auth_cache = AuthorizationCache()
        self.certificates = CertificateStore(self.config.get_int("CertificateStoreMaxLength"))
        self.client_certificate = ClientCertificate(identity)
        self.maintenance = Maintenance(self)
        self.transactions: list[Transaction] = []

        self.registration_status: str | None = None
        self.boot_count = 0  # Accepted boots so far
        self.connected = False
        self.connections = 0
        self.silent = False
        self.errors: deque[str] = deque(maxlen=100)
        self.error_count = 0

        self.outbox = Outbox()
        self._session: RpcSession | None = None
        self._link: Link | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._needs_boot = True
        self._reboot_requested = False
        self._reconnect_after: float | None = None
        self._changed = asyncio.Event()
        self._heartbeat_changed = asyncio.Event()
        self._boot_trigger = asyncio.Event()
        self._unsilenced = asyncio.Event()
        self._unsilenced.set()

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

    async def stop_all_sessions(self, reason: str = "Local", timeout: float = 5.0) -> None:
        """End every running transaction and give the central system `timeout` real seconds to get
        the StopTransactions."""
        for connector in self.connectors.values():
            if connector.transaction is not None:
                self._end(connector, reason)
        if self._online_now():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.outbox.delivered.wait()

    async def __aenter__(self) -> SimulatedChargePoint:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("%s: background task failed: %r", self.identity, exc, exc_info=exc)
            self._error(f"internal: {exc!r}")

    def _error(self, message: str) -> None:
        self.error_count += 1
        self.errors.append(message)
        log.info("%s: %s", self.identity, message)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

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
            HANDLERS,
            validators(),
            context=self,
            call_timeout=self.call_timeout,
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

    def _online_now(self) -> bool:
        session = self._session
        return session is not None and not session.closed and not self._needs_boot and not self.silent

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

    def _config_changed(self, name: str, value: str) -> None:
        if name == "AuthorizationKey":
            # The next connection's Basic-auth password (security profiles 1 and 2).
            self.password = value
        elif name == "HeartbeatInterval":
            self._heartbeat_changed.set()
        elif name == "MeterValueSampleInterval":
            self.wake_all()

    # -- sending ---------------------------------------------------------------------------

    def send_volatile(
        self, action: str, payload: Payload, on_result: Callable[[Payload], None] | None = None
    ) -> asyncio.Future[Payload] | None:
        """Send now if online; a message that only makes sense now is not kept for later."""
        if not self._online_now():
            return None
        future: asyncio.Future[Payload] = asyncio.get_running_loop().create_future()
        # Nobody may await it; retrieving the exception keeps asyncio from warning about it.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.outbox.put(Outgoing(action, lambda: payload, persistent=False, on_result=on_result, future=future))
        return future

    def send_persistent(
        self,
        action: str,
        build: Callable[[], Payload | None],
        on_result: Callable[[Payload], None] | None = None,
    ) -> None:
        """Send when possible, in order, surviving lost connections (OCPP 1.6 §4.10)."""
        self.outbox.put(Outgoing(action, build, persistent=True, on_result=on_result))

    async def call(self, action: str, payload: Payload) -> Payload:
        """A volatile call whose answer is awaited; raises ConnectionLost when offline."""
        future = self.send_volatile(action, payload)
        if future is None:
            raise ConnectionLost(f"{self.identity} is offline")
        return await future

    # -- status ----------------------------------------------------------------------------

    def all_connectors(self) -> list[Connector]:
        return [self.station, *self.connectors.values()]

    def connector(self, connector_id: int) -> Connector:
        if connector_id == 0:
            return self.station
        try:
            return self.connectors[connector_id]
        except KeyError:
            raise SimulatorError(f"{self.identity} has no connector {connector_id}") from None

    def refresh(self, connector: Connector) -> None:
        """Re-derive the connector's status and report it if it changed."""
        derived = connector.derive_status(self.station.operative)
        if derived != (connector.status, connector.error_code, connector.info):
            connector.status, connector.error_code, connector.info = derived
            self.report_status(connector)
        self._notify()

    def refresh_all(self) -> None:
        for connector in self.all_connectors():
            self.refresh(connector)

    def report_status(self, connector: Connector) -> None:
        state = (connector.status, connector.error_code)

        def acknowledged(_result: Payload) -> None:
            connector.reported = state

        self.send_volatile("StatusNotification", self.status_payload(connector), on_result=acknowledged)

    def status_payload(self, connector: Connector) -> Payload:
        payload: Payload = {
            "connectorId": connector.connector_id,
            "status": connector.status,
            "errorCode": connector.error_code,
            "timestamp": iso(self.clock.now()),
        }
        if connector.info:
            payload["info"] = connector.info[:50]
        return payload

    def _resync_statuses(self, *, force: bool) -> None:
        """After a boot every connector reports; after a reconnect only those that changed offline."""
        for connector in self.all_connectors():
            if force or connector.reported != (connector.status, connector.error_code):
                self.report_status(connector)

    # -- waiting (for tests and scripts) ---------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = 10.0) -> None:
        """Wait (real seconds) until `predicate()` holds; it is checked after every state change."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def wait_for_status(self, connector_id: int, status: str, timeout: float | None = 10.0) -> None:
        connector = self.connector(connector_id)
        await self.wait_until(lambda: connector.status == status, timeout)

    async def wait_accepted(self, timeout: float | None = 30.0) -> None:
        await self.wait_until(lambda: self.registration_status == "Accepted" and self._online_now(), timeout)

    async def wait_connected(self, timeout: float | None = 30.0) -> None:
        await self.wait_until(lambda: self.connected, timeout)

    @property
    def online(self) -> bool:
        """Connected, accepted and talking."""
        return self._online_now()

    def status(self, connector_id: int) -> str:
        return self.connector(connector_id).status

    def active_transaction(self, connector_id: int) -> Transaction | None:
        return self.connector(connector_id).transaction

    def meter_wh(self, connector_id: int) -> int:
        connector = self.connector(connector_id)
        self.advance(connector, self.clock.now())
        return int(connector.register_wh)

    @property
    def power_w(self) -> float:
        return sum(c.power_w for c in self.connectors.values())

    # -- driver actions --------------------------------------------------------------------

    async def plug_in(
        self,
        connector_id: int = 1,
        id_tag: str | None = None,
        *,
        energy_kwh: float | None = None,
        battery_kwh: float = 60.0,
        soc: float | None = None,
        max_power_w: float = 11_000.0,
        unplug_when_full: bool = False,
    ) -> Transaction | None:
        """An EV is plugged in; with `id_tag` the driver also presents a card.

        Returns the started transaction, or None when none started (no tag yet, or not authorized)."""
        connector = self.connector(connector_id)
        if connector_id == 0:
            raise SimulatorError("connector 0 is the whole station, nothing plugs into it")
        if connector.ev is not None:
            raise SimulatorError(f"{self.identity} connector {connector_id} already has an EV plugged in")
        connector.ev = ElectricVehicle(
            battery_wh=battery_kwh * 1000.0,
            soc=self.rng.uniform(10.0, 50.0) if soc is None else soc,
            max_power_w=max_power_w,
            energy_wanted_wh=None if energy_kwh is None else energy_kwh * 1000.0,
            unplug_when_full=unplug_when_full,
        )
        connector.finished = False
        if connector.transaction is not None:
            # The transaction outlived the previous cable (StopTransactionOnEVSideDisconnect=false).
            connector.wake.set()
            self.refresh(connector)
            return connector.transaction
        self.refresh(connector)
        if id_tag is None:
            return None
        return await self.present_tag(connector_id, id_tag)

    async def present_tag(self, connector_id: int, id_tag: str) -> Transaction | None:
        """A driver holds a card to the reader: starts a session, or stops the running one when it
        is the same card (or one with the same parent)."""
        connector = self.connector(connector_id)
        running = connector.transaction
        if running is not None:
            if id_tag == running.id_tag:
                return self._end(connector, "Local", id_tag)
            info = await self.authorize(id_tag)
            parent = (running.id_tag_info or {}).get("parentIdTag")
            if parent is not None and info.get("parentIdTag") == parent:
                return self._end(connector, "Local", id_tag)
            return None
        info = await self.authorize(id_tag)
        if not usable(info, self.clock.now()):
            self._error(f"{id_tag} not authorized: {info.get('status')}")
            return None
        if not self.may_start(connector, id_tag, info.get("parentIdTag")):
            return None
        return self.begin(connector, id_tag, info)

    async def stop_charging(self, connector_id: int, reason: str = "Local") -> Transaction | None:
        """The driver (or the station) ends the running transaction; the cable stays plugged in."""
        connector = self.connector(connector_id)
        return self._end(connector, reason) if connector.transaction else None

    async def unplug(self, connector_id: int) -> None:
        connector = self.connector(connector_id)
        self._unplug(connector)

    async def fault(self, connector_id: int, error_code: str = "OtherError", info: str | None = None) -> None:
        """A hardware fault: the connector reports Faulted and a running transaction ends."""
        connector = self.connector(connector_id)
        if connector.transaction is not None:
            self._end(connector, "Other")
        connector.fault = (error_code, info)
        self.refresh(connector)

    async def clear_fault(self, connector_id: int) -> None:
        connector = self.connector(connector_id)
        connector.fault = None
        self.refresh(connector)

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

    # -- authorization ---------------------------------------------------------------------

    def local_info(self, id_tag: str) -> dict[str, Any] | None:
        """What the station knows about a tag without asking: the local list first, then the cache."""
        if self.config.get_bool("LocalAuthListEnabled"):
            info = self.local_list.lookup(id_tag)
            if info is not None:
                return info
        if self.config.get_bool("AuthorizationCacheEnabled"):
            return self.auth_cache.lookup(id_tag)
        return None

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        if self.config.get_bool("AuthorizationCacheEnabled") and self.local_list.lookup(id_tag) is None:
            self.auth_cache.remember(id_tag, info)

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        """The idTagInfo for a tag, the way OCPP 1.6 §3.5 orders the sources."""
        local = self.local_info(id_tag)
        now = self.clock.now()
        if local is not None and usable(local, now) and self.config.get_bool("LocalPreAuthorize"):
            return local
        if self._online_now():
            try:
                result = await self.call("Authorize", {"idTag": id_tag})
            except (CallTimeout, CallErrorReceived, ConnectionLost) as exc:
                self._error(f"Authorize: {exc}")
            else:
                info = result["idTagInfo"]
                self.remember(id_tag, info)
                return info
        if local is not None and self.config.get_bool("LocalAuthorizeOffline"):
            return local
        if local is None and self.config.get_bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return local or {"status": "Invalid"}

    # -- transactions ----------------------------------------------------------------------

    def may_start(self, connector: Connector, id_tag: str, parent_id_tag: str | None = None) -> bool:
        if connector.connector_id == 0 or connector.fault is not None or connector.transaction is not None:
            return False
        if not (connector.operative and self.station.operative):
            return False
        reservation = connector.reservation
        if reservation is not None:
            return id_tag == reservation.id_tag or (
                parent_id_tag is not None and parent_id_tag == reservation.parent_id_tag
            )
        return True

    def begin(
        self,
        connector: Connector,
        id_tag: str,
        id_tag_info: dict[str, Any] | None = None,
        charging_profile: dict[str, Any] | None = None,
    ) -> Transaction:
        """Start a transaction locally and queue its StartTransaction."""
        now = self.clock.now()
        if connector.ev is None:
            # A remote start for a connector without a car: the driver plugs in right away.
            connector.ev = ElectricVehicle(soc=self.rng.uniform(10.0, 50.0))
        reservation_id = None
        if connector.reservation is not None:
            reservation_id = connector.reservation.reservation_id
            connector.reservation = None
        connector.finished = False
        connector.last_update = now
        tx = Transaction(
            connector_id=connector.connector_id,
            id_tag=id_tag,
            meter_start=int(connector.register_wh),
            started_at=now,
            reservation_id=reservation_id,
            id_tag_info=id_tag_info,
        )
        tx._live_register = tx.meter_start
        tx.begin_sample = self._sample(connector, "Transaction.Begin", self.config.get_list("StopTxnSampledData"))
        connector.transaction = tx
        self.transactions.append(tx)
        if charging_profile is not None:
            self.profiles.install(
                connector.connector_id, charging_profile, transaction_running=True, transaction_id=None
            )
        payload: Payload = {
            "connectorId": connector.connector_id,
            "idTag": id_tag,
            "meterStart": tx.meter_start,
            "timestamp": iso(now),
        }
        if reservation_id is not None:
            payload["reservationId"] = reservation_id

        def started(result: Payload) -> None:
            tx.confirm(result["transactionId"], result["idTagInfo"])
            self.remember(id_tag, result["idTagInfo"])
            self._notify()
            if (
                result["idTagInfo"]["status"] != "Accepted"
                and connector.transaction is tx
                and self.config.get_bool("StopTransactionOnInvalidId")
            ):
                self._end(connector, "DeAuthorized")

        self.send_persistent("StartTransaction", lambda: payload, on_result=started)
        self._update_power(connector, now)
        self.refresh(connector)
        connector.task = self._spawn(self._charge(connector, tx), name=f"sim-{self.identity}-{connector.connector_id}")
        return tx

    def _end(
        self, connector: Connector, reason: str, id_tag: str | None = None, *, unplugged: bool = False
    ) -> Transaction | None:
        tx = connector.transaction
        if tx is None:
            return None
        now = self.clock.now()
        self.advance(connector, now)
        tx.meter_stop = int(connector.register_wh)
        tx.stopped_at = now
        tx.stop_reason = reason
        tx.stop_id_tag = id_tag
        tx.end_sample = self._sample(connector, "Transaction.End", self.config.get_list("StopTxnSampledData"))
        connector.transaction = None
        connector.power_w = connector.offered_w = 0.0
        if connector.task is not None and connector.task is not asyncio.current_task():
            connector.task.cancel()
        connector.task = None
        self.profiles.end_transaction(connector.connector_id)
        if unplugged:
            connector.ev = None
        connector.finished = connector.ev is not None
        if connector.scheduled_operative is not None:
            connector.operative, connector.scheduled_operative = connector.scheduled_operative, None
        if self.station.scheduled_operative is not None and not any(c.transaction for c in self.connectors.values()):
            self.station.operative, self.station.scheduled_operative = self.station.scheduled_operative, None
            self.refresh_all()

        def build() -> Payload | None:
            if tx.transaction_id is None:
                return None  # the central system never took the StartTransaction
            payload: Payload = {
                "transactionId": tx.transaction_id,
                "meterStop": tx.meter_stop,
                "timestamp": iso(now),
                "reason": reason,
            }
            if id_tag is not None:
                payload["idTag"] = id_tag
            data = [s for s in (tx.begin_sample, tx.end_sample) if s and s["sampledValue"]]
            if data:
                payload["transactionData"] = data
            return payload

        self.send_persistent("StopTransaction", build)
        self.refresh(connector)
        return tx

    def _unplug(self, connector: Connector) -> None:
        if connector.ev is None:
            return
        if connector.transaction is not None:
            if self.config.get_bool("StopTransactionOnEVSideDisconnect"):
                self._end(connector, "EVDisconnected", unplugged=True)
                return
            # The transaction stays open, suspended, until a cable comes back or it is stopped.
            self.advance(connector, self.clock.now())
            connector.ev = None
            self.refresh(connector)
            return
        connector.ev = None
        connector.finished = False
        self.refresh(connector)

    def _sample(self, connector: Connector, context: str, measurands: list[str]) -> dict[str, Any]:
        return meter.sample(
            measurands,
            at=self.clock.now(),
            context=context,
            register_wh=connector.register_wh,
            power_w=connector.power_w,
            offered_w=connector.offered_w,
            soc=connector.ev.soc if connector.ev is not None else None,
            rng=self.rng,
        )

    def meter_values_payload(self, connector: Connector, context: str) -> Payload:
        self.advance(connector, self.clock.now())
        value = self._sample(connector, context, self.config.get_list("MeterValuesSampledData"))
        payload: Payload = {"connectorId": connector.connector_id, "meterValue": [value]}
        tx = connector.transaction
        if tx is not None and tx.transaction_id is not None:
            payload["transactionId"] = tx.transaction_id
        return payload

    def _queue_meter_values(self, connector: Connector, tx: Transaction) -> None:
        value = self._sample(connector, "Sample.Periodic", self.config.get_list("MeterValuesSampledData"))
        if not value["sampledValue"]:
            return
        tx.meter_values.append(value)

        def build() -> Payload:
            payload: Payload = {"connectorId": connector.connector_id, "meterValue": [value]}
            if tx.transaction_id is not None:
                payload["transactionId"] = tx.transaction_id
            return payload

        self.send_persistent("MeterValues", build)

    # -- energy flow -----------------------------------------------------------------------

    def offered_w(self, connector: Connector, at: datetime) -> float:
        """What the station lets this connector draw at `at`: hardware, profiles, station share."""
        tx = connector.transaction
        limit = self.max_power_w
        own = self.profiles.connector_limit(
            connector.connector_id,
            at,
            tx.started_at if tx else at,
            transaction_running=tx is not None,
            transaction_id=tx.transaction_id if tx else None,
        )
        if own is not None:
            limit = min(limit, own)
        station = self.profiles.station_limit(at)
        if station is not None:
            # The station-wide maximum is shared by the connectors that are drawing power.
            drawing = sum(1 for c in self.connectors.values() if c.transaction and c.ev and not c.ev.satisfied)
            limit = min(limit, station / max(1, drawing))
        return max(0.0, limit)

    def _update_power(self, connector: Connector, at: datetime) -> None:
        if connector.transaction is None:
            connector.power_w = connector.offered_w = 0.0
            return
        connector.offered_w = self.offered_w(connector, at)
        ev = connector.ev
        accepted = ev.acceptance_w() if ev is not None and connector.fault is None else 0.0
        connector.power_w = min(accepted, connector.offered_w)

    def advance(self, connector: Connector, now: datetime) -> None:
        """Let energy flow from the connector's last update until `now`."""
        if connector.last_update is None or connector.transaction is None:
            connector.last_update = now
            self._update_power(connector, now)
            return
        moment = connector.last_update
        while moment < now:
            step = min(STEP_SECONDS, (now - moment).total_seconds())
            self._update_power(connector, moment)
            if connector.power_w > 0 and connector.ev is not None:
                connector.register_wh += connector.ev.absorb(connector.power_w * step / 3600.0)
            moment += timedelta(seconds=step)
        connector.last_update = now
        self._update_power(connector, now)
        connector.transaction._live_register = int(connector.register_wh)

    def advance_all(self) -> None:
        now = self.clock.now()
        for connector in self.connectors.values():
            self.advance(connector, now)

    def wake_all(self) -> None:
        for connector in self.connectors.values():
            connector.wake.set()

    async def _charge(self, connector: Connector, tx: Transaction) -> None:
        """The running transaction: energy flow, periodic MeterValues, status changes."""
        next_sample: datetime | None = None
        while connector.transaction is tx:
            now = self.clock.now()
            self.advance(connector, now)
            ev = connector.ev
            if ev is not None and ev.satisfied and ev.unplug_when_full:
                self._unplug(connector)
                return
            interval = self.config.get_int("MeterValueSampleInterval")
            wait = 300.0
            if interval > 0:
                if next_sample is None:
                    next_sample = tx.started_at + timedelta(seconds=interval)
                if now >= next_sample:
                    self._queue_meter_values(connector, tx)
                    while next_sample <= now:
                        next_sample += timedelta(seconds=interval)
                wait = (next_sample - now).total_seconds()
            else:
                next_sample = None
            self.refresh(connector)
            wait = min(wait, self._time_to_change(connector, now, wait))
            connector.wake.clear()
            await self.clock.wait(connector.wake, max(wait, 0.001))

    def _time_to_change(self, connector: Connector, now: datetime, horizon: float) -> float:
        """Simulated seconds until the flow changes character (EV satisfied, taper, a profile step),
        so status changes are reported when they happen, not at the next meter sample."""
        soonest = horizon
        ev, power = connector.ev, connector.power_w
        if ev is not None and power > 0:
            room = ev.battery_wh * (100.0 - ev.soc) / 100.0
            if ev.energy_wanted_wh is not None:
                room = min(room, ev.energy_wanted_wh - ev.delivered_wh)
            soonest = min(soonest, max(1.0, room / power * 3600.0))
        tx = connector.transaction
        boundaries = self.profiles.boundaries(now, now + timedelta(seconds=horizon), tx.started_at if tx else now)
        later = [(b - now).total_seconds() for b in boundaries if b > now]
        if later:
            soonest = min(soonest, max(0.5, min(later)))
        return soonest

    # -- reservations ----------------------------------------------------------------------

    def reserve(self, reservation: Reservation) -> None:
        for other in self.connectors.values():
            if other.reservation is not None and other.reservation.reservation_id == reservation.reservation_id:
                other.reservation = None
                self.refresh(other)
        connector = self.connector(reservation.connector_id)
        connector.reservation = reservation
        self.refresh(connector)

        async def expire() -> None:
            await self.clock.sleep((reservation.expires_at - self.clock.now()).total_seconds())
            if connector.reservation is reservation:
                connector.reservation = None
                self.refresh(connector)

        self._spawn(expire())

    def cancel_reservation(self, reservation_id: int) -> bool:
        for connector in self.connectors.values():
            if connector.reservation is not None and connector.reservation.reservation_id == reservation_id:
                connector.reservation = None
                self.refresh(connector)
                return True
        return False

    # -- reboot ----------------------------------------------------------------------------

    async def reset(self, kind: str) -> None:
        """Soft or Hard reset: end transactions, drop the connection, boot again."""
        reason = "HardReset" if kind == "Hard" else "SoftReset"
        for connector in self.connectors.values():
            self._end(connector, reason)
        if self._online_now():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.call_timeout):
                    if kind != "Hard":
                        # A soft reset is graceful: the StopTransactions go out before the
                        # connection does (after a hard one they follow the reboot).
                        await self.outbox.delivered.wait()
                    await self.flush_in_flight()
        await self.request_reboot()

    async def flush_in_flight(self) -> None:
        """Let the call on the wire get its answer: hanging up in the middle of an exchange makes
        the central system wait for a reply that never comes."""
        await self.outbox.quiet.wait()

    async def request_reboot(self) -> None:
        self._reboot_requested = True
        link = self._link
        if link is not None:
            await link.close()

    async def _reboot(self) -> None:
        self._reboot_requested = False
        for connector in self.connectors.values():
            self._end(connector, "Reboot")
            connector.reservation = None
            connector.reported = None
        self.station.reported = None
        self.registration_status = None
        self._needs_boot = True
        self._notify()
        await self.clock.sleep(BOOT_SECONDS)
        self.refresh_all()
