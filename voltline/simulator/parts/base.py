"""The simulated station's state and what every part of it shares: its connectors and their
status reports, sending through the outbox, background tasks, and waiting on state changes.

The parts (connection, transactions, energy, reservations, reboot) each build on this class
alone; what one part offers another is declared here, under "seams", so that no part imports
another.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, ClassVar

from voltline.ocpp.rpc import ConnectionLost, Handler, RpcSession
from voltline.ocpp.schemas import OCPP16, Validators, validators
from voltline.simulator.certificates import CertificateStore
from voltline.simulator.client_certificate import ClientCertificate
from voltline.simulator.clock import Clock, iso
from voltline.simulator.config import Configuration
from voltline.simulator.connector import Connector
from voltline.simulator.local_auth import AuthorizationCache, LocalAuthList
from voltline.simulator.maintenance import Maintenance
from voltline.simulator.outbox import Outbox, Outgoing, Payload
from voltline.simulator.session import Transaction
from voltline.simulator.smart_charging import ChargingProfiles
from voltline.simulator.tls import ClientTls
from voltline.simulator.transport import Link

log = logging.getLogger("voltline.simulator")

DEFAULT_MAX_POWER_W = 22_080.0  # 32 A on three phases at 230 V

class SimulatorError(Exception):
    """A request to the simulated station that the station cannot carry out."""


class StationBase:
    # The CS→CP actions the station answers, by action (bound by the charge point that
    # assembles the parts: the handlers build on the parts, not the other way round).
    handlers: ClassVar[Mapping[str, Handler]] = {}
    # The WebSocket subprotocols offered, in the station's order of preference.
    subprotocols: ClassVar[tuple[str, ...]] = (OCPP16,)
    # The CALLERROR codes by meaning, as the station's version spells them (RpcSession's
    # `error_codes`); None: as 1.6 spells them.
    error_codes: ClassVar[Mapping[str, str] | None] = None

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

    def ocpp_validators(self) -> Validators:
        """The schemas what the station sends and receives is checked against."""
        return validators(OCPP16)

    # -- seams: what a part offers the others -----------------------------------------------

    def advance(self, connector: Connector, now: datetime) -> None:
        """Energy: let energy flow on `connector` until `now`."""
        raise NotImplementedError

    def wake_all(self) -> None:
        """Energy: every connector re-reads its settings (a sample interval changed)."""
        raise NotImplementedError

    def _update_power(self, connector: Connector, at: datetime) -> None:
        """Energy: the power offered to and drawn on `connector` at `at`."""
        raise NotImplementedError

    def _time_to_change(self, connector: Connector, now: datetime, horizon: float) -> float:
        """Energy: simulated seconds until the flow on `connector` changes character."""
        raise NotImplementedError

    def _end(
        self, connector: Connector, reason: str, id_tag: str | None = None, *, unplugged: bool = False
    ) -> Transaction | None:
        """Transactions: end the running transaction on `connector` and queue its StopTransaction."""
        raise NotImplementedError

    def _unplug(self, connector: Connector) -> None:
        """Transactions: the EV's cable is pulled out of `connector`."""
        raise NotImplementedError

    async def flush_in_flight(self) -> None:
        """Reboot: let the call on the wire get its answer."""
        raise NotImplementedError

    async def request_reboot(self) -> None:
        """Reboot: close the connection and boot again."""
        raise NotImplementedError

    async def _reboot(self) -> None:
        """Reboot: the reboot itself, between two connections."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------

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

    def _online_now(self) -> bool:
        session = self._session
        return session is not None and not session.closed and not self._needs_boot and not self.silent

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

    @property
    def power_w(self) -> float:
        return sum(c.power_w for c in self.connectors.values())
