"""Charge points: who may connect, what they are, how they boot, and what their connectors report."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.ocpp.identity import identity_problem
from voltline.services.security.backoff import FailureBackoff
from voltline.services.errors import Invalid
from voltline.services.provisioning.refusals import NOT_REGISTERED, REGISTERED_REJECTED, Refusal, RefusalLog
from voltline.services.security.client_certificates import ClientCertificateCheck
from voltline.services.security.passwords import HasherBusy, PasswordHasher
from voltline.services.security.connections import (
    FAILED_AUTHENTICATION, PLAIN, PROFILES, ConnectionSecurity, transport_refusal,
)
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.charge_points")

ACCEPTED, PENDING, REJECTED = "Accepted", "Pending", "Rejected"
_NO_ACTIONS: frozenset[str] = frozenset()


class UnknownChargePoint(LookupError):
    pass


class ChargePointExists(ValueError):
    pass


class NotStored(RuntimeError):
    """A charge point's row could not be found or written: nothing may be answered Accepted."""


@dataclass(slots=True)
class Access:
    """What the handshake needs to know about a charge point, kept in memory: the WebSocket
    handshake decides synchronously, before any frame is read."""

    password_hash: str | None
    registration_status: str
    ping_interval: float | None
    lenient_actions: frozenset[str]
    security_profile: int = 0
    # sha256 of the last password that verified, so a reconnect costs no slow hash.
    verified: bytes | None = None


@dataclass(slots=True)
class HandshakeDecision:
    allowed: bool
    status: int = 101  # HTTP status for a refusal
    reason: str = ""
    access: Access | None = None
    auto_registered: bool = False
    retry_after: float | None = None  # seconds, for a 429 or 503
    verify: bool = False  # only the slow hash can settle the password: see verify_handshake
    security_event: str | None = None  # recorded on the charge point when refused (security/connections.py)
    security_profile: int = 0


def _backed_off(wait: float) -> HandshakeDecision:
    return HandshakeDecision(False, 429, "too many wrong passwords; try again later", retry_after=wait)


@dataclass(slots=True)
class BootResult:
    status: str
    interval: int
    current_time: datetime


@dataclass(slots=True)
class Liveness:
    """Connection facts that change with every frame: kept in memory, flushed in the background."""

    last_seen: dict[str, datetime] = field(default_factory=dict)
    last_heartbeat: dict[str, datetime] = field(default_factory=dict)


class ChargePointService:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        auto_register: bool = False,
        boot_policy: str = "accept",
        heartbeat_interval: int = 300,
        node_id: str = "local",
        hasher: PasswordHasher | None = None,
        single_node: bool = True,
        default_security_profile: int = 0,
        certificates: ClientCertificateCheck | None = None,
    ) -> None:
        self._store = store
        self.default_security_profile = default_security_profile
        # The CAs trusted for charge point certificates (profile 3); None: none configured.
        self.certificates = certificates
        # Refused handshakes recorded as security events: at most one per charge point, type and
        # reason every SECURITY_EVENT_EVERY_S, so a charge point knocking in a loop adds no load.
        self._security_events_at: dict[tuple[str, str, str], float] = {}
        self._recording: set[asyncio.Task[None]] = set()
        self._hasher = hasher or PasswordHasher()
        # Wrong passwords back off the charge point they were tried for, and the address they
        # came from. An address may hold many charge points (a site router, a mobile carrier's
        # NAT), so it is given more attempts, and it only holds back passwords that need a hash.
        self.identity_failures = FailureBackoff(threshold=5)
        self.address_failures = FailureBackoff(threshold=20)
        self._bus = bus
        self.auto_register = auto_register
        self.boot_policy = boot_policy
        self.heartbeat_interval = heartbeat_interval
        self.node_id = node_id
        # Alone, this node held every connection the database remembers, whatever its name was.
        self.single_node = single_node
        self._access: dict[str, Access] = {}
        # Who was turned away for not being registered, for the operator to register them.
        self.refusals = RefusalLog()
        self._unwritten: set[str] = set()  # auto-registered, in the registry before their row is committed
        self._liveness = Liveness()
        # A charge point unknown until its handshake: registered and marked connected at once.
        self._register_connected = store.insert_updating_on_conflict(
            t.charge_points, ["id"], ["connected", "connected_node", "connected_at", "last_seen_at", "remote_address"]
        )
        # Newest heartbeat per charge point, for reads between two flushes to the database.
        self._last_heartbeat: dict[str, datetime] = {}

    # -- the registry the handshake consults ------------------------------------------------

    async def load(self) -> None:
        rows = await self._store.fetch_all(_ACCESS_COLUMNS)
        self._access = {row.id: _access_of(row) for row in rows}
        # Connections this node held before a crash or restart are gone; on a single node, so
        # are those recorded under another node id (the host was renamed).
        await self._forget_connections()

    async def _forget_connections(self) -> int:
        held = t.charge_points.c.connected if self.single_node else t.charge_points.c.connected_node == self.node_id
        statement = (
            t.charge_points.update()
            .where(held)
            .values(connected=False, connected_node=None, disconnected_at=now())
        )
        return await self._store.write(lambda conn: _rowcount(conn, statement))  # type: ignore[no-any-return]

    async def all_disconnected(self) -> int:
        """At shutdown: every charge point this node held is recorded offline, in one statement
        (the connections' own disconnect records would be thousands of writes). Returns how many."""
        self._liveness = Liveness()
        return await self._forget_connections()

    def access(self, identity: str) -> Access | None:
        return self._access.get(identity)

    def is_registered(self, identity: str) -> bool:
        """Known, and its row written (what refers to the charge point in the database can be)."""
        return identity in self._access and identity not in self._unwritten

    def check_handshake(
        self, identity: str, password: str | None, address: str | None = None, security: ConnectionSecurity = PLAIN
    ) -> HandshakeDecision:
        """Decided from memory alone, never by a slow hash (the handshake hook is synchronous).

        First what the charge point's security profile asks of the connection (TLS, a client
        certificate), then its password. A password that only the slow hash can settle gives a
        decision with `verify` set: `verify_handshake` then settles it off the event loop."""
        access = self._access.get(identity)
        if access is None:
            if self.auto_register:
                refusal = transport_refusal(identity, self.default_security_profile, security, self.certificates)
                if refusal is not None:
                    return HandshakeDecision(False, refusal.status, refusal.reason)
                return HandshakeDecision(True, auto_registered=True)
            return HandshakeDecision(False, 404, f"unknown charge point {identity!r}")
        profile = access.security_profile
        refusal = transport_refusal(identity, profile, security, self.certificates)
        if refusal is not None:
            return HandshakeDecision(
                False, refusal.status, refusal.reason, access=access, security_event=refusal.event,
                security_profile=profile,
            )
        if profile == 3:
            return HandshakeDecision(True, access=access)  # the certificate proved who it is
        if access.password_hash is None:
            if profile in (1, 2):
                return HandshakeDecision(
                    False, 401, f"security profile {profile} requires a password, and none is set for this charge point",
                    access=access, security_event=FAILED_AUTHENTICATION, security_profile=profile,
                )
            return HandshakeDecision(True, access=access)
        if password is None:
            return HandshakeDecision(
                False, 401, "this charge point must authenticate (HTTP Basic)", access=access,
                security_event=FAILED_AUTHENTICATION, security_profile=profile,
            )
        # Backed off even for the password that verified last: otherwise the cheap comparison
        # below would tell a guesser at wire speed whether a guess is right.
        wait = self.identity_failures.retry_after(identity)
        if wait:
            return _backed_off(wait)
        if access.verified == hashlib.sha256(password.encode()).digest():
            self.identity_failures.succeeded(identity)
            return HandshakeDecision(True, access=access)
        if address is not None:
            wait = self.address_failures.retry_after(address)
            if wait:
                return _backed_off(wait)
        return HandshakeDecision(False, 401, "the password is being verified", access=access, verify=True)

    def refused(self, identity: str, address: str | None, decision: HandshakeDecision) -> None:
        """The gateway refused a handshake with `decision`: an unknown identity is remembered, and
        a connection weaker than a registered charge point's profile is a security event."""
        if decision.status == 404:
            self.refusals.record(identity, NOT_REGISTERED, address)
        event = decision.security_event
        if event is None or identity not in self._access or identity in self._unwritten:
            return
        loop = asyncio.get_running_loop()
        key, at = (identity, event, decision.reason), loop.time()
        last = self._security_events_at.get(key)
        if last is not None and at - last < SECURITY_EVENT_EVERY_S:
            return
        if len(self._security_events_at) >= 10_000:
            self._security_events_at.clear()  # a bound, not a history: only the throttle forgets
        self._security_events_at[key] = at
        detail = {
            "tech_info": decision.reason, "source": "handshake", "address": address,
            "security_profile": decision.security_profile,
        }
        task = loop.create_task(self._record_refusal(identity, event, detail))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record_refusal(self, identity: str, event: str, detail: dict[str, Any]) -> None:
        try:
            await self.record_event(identity, "security", event, detail=detail)
        except Exception:
            log.exception("could not record the refused connection of %s", identity)

    def refused_unknown(self) -> list[Refusal]:
        """The charge points refused for being unknown that are still not registered (or still
        Rejected as the boot policy registered them), newest first."""
        still = []
        for refusal in self.refusals.newest_first():
            access = self._access.get(refusal.identity)
            if access is None or (refusal.reason == REGISTERED_REJECTED and access.registration_status == REJECTED):
                still.append(refusal)
        return still

    @staticmethod
    def busy_decision() -> HandshakeDecision:
        return HandshakeDecision(False, 503, "too many password checks at once; try again later", retry_after=1)

    async def verify_handshake(
        self, identity: str, password: str, address: str | None = None, security: ConnectionSecurity = PLAIN
    ) -> HandshakeDecision:
        """Settle a password `check_handshake` could not, on the password hasher's threads."""
        decision = self.check_handshake(identity, password, address, security)
        access = decision.access
        if not decision.verify or access is None or access.password_hash is None:
            return decision
        stored = access.password_hash
        keys = [(self.identity_failures, identity)]
        if address is not None:
            keys.append((self.address_failures, address))
        for failures, key in keys:
            failures.begin(key)
        try:
            right = await self._hasher.verify(password, stored)
        except BaseException as exc:
            for failures, key in keys:
                failures.abandoned(key)
            if isinstance(exc, HasherBusy):
                return self.busy_decision()
            raise
        if self._access.get(identity) is not access or access.password_hash != stored:
            # The operator changed the password or removed the charge point while it was hashed.
            for failures, key in keys:
                failures.abandoned(key)
            return HandshakeDecision(False, 503, "the charge point changed meanwhile; try again", retry_after=1)
        if not right:
            for failures, key in keys:
                failures.failed(key)
            return HandshakeDecision(
                False, 401, "wrong password", access=access, security_event=FAILED_AUTHENTICATION,
                security_profile=access.security_profile,
            )
        for failures, key in keys:
            failures.succeeded(key)
        access.verified = hashlib.sha256(password.encode()).digest()
        return HandshakeDecision(True, access=access)

    # -- registration by operators ----------------------------------------------------------

    async def register(
        self,
        identity: str,
        *,
        password: str | None = None,
        description: str | None = None,
        registration_status: str = ACCEPTED,
        ping_interval: float | None = None,
        lenient_actions: Iterable[str] = (),
        security_profile: int | None = None,
    ) -> None:
        problem = identity_problem(identity)
        if problem is not None:
            raise Invalid(problem, code="invalid_identity")
        profile = self.default_security_profile if security_profile is None else security_profile
        _check_profile(profile, has_password=bool(password))
        values = {
            "id": identity,
            "description": description,
            "password_hash": await self._hasher.hash(password) if password else None,
            "registration_status": registration_status,
            "ping_interval": ping_interval,
            "lenient_actions": sorted(set(lenient_actions)),
            "security_profile": profile,
            "connected": False,
        }

        async def insert(conn: AsyncConnection) -> bool:
            exists = await conn.scalar(sa.select(t.charge_points.c.id).where(t.charge_points.c.id == identity))
            if exists:
                return False
            await conn.execute(t.charge_points.insert().values(values))
            return True

        if not await self._store.write(insert):
            raise ChargePointExists(identity)
        self._access[identity] = Access(
            values["password_hash"], registration_status, ping_interval, frozenset(values["lenient_actions"]), profile
        )
        self._bus.publish(Event("charge_point.registered", identity, {}))

    async def update(self, identity: str, **changes: Any) -> None:
        """Change what an operator controls: description, password, registration status, ping
        interval, lenient actions, security profile. A `password` of None removes the password."""
        values: dict[str, Any] = {}
        if "security_profile" in changes or "password" in changes:
            current = self._access.get(identity)
            if current is None:
                raise UnknownChargePoint(identity)
            profile = changes.get("security_profile", current.security_profile)
            has_password = bool(changes["password"]) if "password" in changes else current.password_hash is not None
            _check_profile(profile, has_password=has_password)
            values["security_profile"] = profile
        for key in ("description", "registration_status", "ping_interval"):
            if key in changes:
                values[key] = changes[key]
        if "lenient_actions" in changes:
            values["lenient_actions"] = sorted(set(changes["lenient_actions"] or ()))
        if "password" in changes:
            values["password_hash"] = await self._hasher.hash(changes["password"]) if changes["password"] else None
        if not values:
            return

        async def apply(conn: AsyncConnection) -> int:
            result = await conn.execute(
                t.charge_points.update().where(t.charge_points.c.id == identity).values(values)
            )
            return result.rowcount

        if not await self._store.write(apply):
            raise UnknownChargePoint(identity)
        row = await self._store.fetch_one(sa.select(t.charge_points).where(t.charge_points.c.id == identity))
        assert row is not None
        self._access[identity] = _access_of(row)
        self._bus.publish(Event("charge_point.updated", identity, {k: v for k, v in changes.items() if k != "password"}))

    async def delete(self, identity: str) -> None:
        async def remove(conn: AsyncConnection) -> int:
            for table in (t.meter_readings, t.message_batches):
                await conn.execute(table.delete().where(table.c.charge_point_id == identity))
            for table in (
                t.connectors,
                t.configuration,
                t.charge_point_events,
                t.reservations,
                t.charging_profiles,
                t.local_list_entries,
                t.remote_starts,
                t.transactions,
            ):
                await conn.execute(table.delete().where(table.c.charge_point_id == identity))
            result = await conn.execute(t.charge_points.delete().where(t.charge_points.c.id == identity))
            return result.rowcount

        if not await self._store.write(remove):
            raise UnknownChargePoint(identity)
        self._access.pop(identity, None)
        self._bus.publish(Event("charge_point.deleted", identity, {}))

    # -- connection lifecycle ---------------------------------------------------------------

    @property
    def status_for_new(self) -> str:
        """The registration status an auto-registered charge point starts with: under
        "reject-unknown" it is recorded Rejected, for an operator to accept (or not) later."""
        return _STATUS_FOR_NEW[self.boot_policy]

    async def connected(self, identity: str, remote_address: str | None, auto_registered: bool) -> Access:
        at = now()
        status = self.status_for_new
        access = self._access.get(identity)
        if access is None:
            # Known at once, before the row is written: the BootNotification may already be queued.
            access = self._access[identity] = Access(None, status, None, _NO_ACTIONS, self.default_security_profile)

        # One statement each (consecutive ones share an executemany: see Store.execute).
        if auto_registered:
            self._unwritten.add(identity)
            try:
                await self._store.execute(self._register_connected, self._new_row(identity, status, at, remote_address))
            except BaseException:
                # Not in the database: not in the registry either, or its messages would meet a
                # foreign key forever. Its next BootNotification writes the row (see boot).
                if self._access.get(identity) is access:
                    del self._access[identity]
                raise
            finally:
                self._unwritten.discard(identity)
            if status == REJECTED:
                self.refusals.record(identity, REGISTERED_REJECTED, remote_address)
        else:
            await self._store.execute(_CONNECT, {
                "b_id": identity, "b_node": self.node_id, "b_at": at, "b_address": remote_address,
            })
        self._bus.publish(Event("charge_point.connected", identity, {"remote_address": remote_address}))
        return access

    async def disconnected(self, identity: str) -> None:
        at = now()
        last_seen = self._liveness.last_seen.pop(identity, None)
        last_heartbeat = self._liveness.last_heartbeat.pop(identity, None)
        values = {"b_id": identity, "b_node": self.node_id, "b_at": at, "b_seen": last_seen, "b_beat": last_heartbeat}
        try:
            await self._store.write(lambda conn: conn.execute(_DISCONNECT, values))
        except Exception:
            log.exception("could not record that %s disconnected", identity)
        self._bus.publish(Event("charge_point.disconnected", identity, {}))

    def seen(self, identity: str, at: datetime) -> None:
        self._liveness.last_seen[identity] = at

    async def flush_liveness(self) -> None:
        """Write the last-seen and last-heartbeat times gathered since the previous flush.

        Heartbeats are answered from memory: nothing a charge point relies on depends on storing
        them at once, and a flush every few seconds costs one statement for all charge points."""
        seen, beats = self._liveness.last_seen, self._liveness.last_heartbeat
        if not seen and not beats:
            return
        self._liveness = Liveness()
        rows = [
            {"b_id": identity, "b_seen": seen.get(identity) or beats[identity], "b_beat": beats.get(identity)}
            for identity in seen.keys() | beats.keys()
        ]
        statement = (
            t.charge_points.update()
            .where(t.charge_points.c.id == sa.bindparam("b_id"))
            .values(
                last_seen_at=sa.bindparam("b_seen", type_=t.UTCDateTime),
                last_heartbeat_at=sa.func.coalesce(
                    sa.bindparam("b_beat", type_=t.UTCDateTime), t.charge_points.c.last_heartbeat_at
                ),
            )
        )
        try:
            await self._store.write(lambda conn: conn.execute(statement, rows))
        except Exception:
            # Keep them for the next flush, unless newer ones arrived meanwhile.
            for identity, at in seen.items():
                self._liveness.last_seen.setdefault(identity, at)
            for identity, at in beats.items():
                self._liveness.last_heartbeat.setdefault(identity, at)
            raise

    # -- messages from the charge point -----------------------------------------------------

    async def boot(
        self,
        identity: str,
        *,
        vendor: str,
        model: str,
        serial_number: str | None = None,
        charge_box_serial_number: str | None = None,
        firmware_version: str | None = None,
        iccid: str | None = None,
        imsi: str | None = None,
        meter_type: str | None = None,
        meter_serial_number: str | None = None,
    ) -> BootResult:
        at = now()
        access = self._access.get(identity)
        status = access.registration_status if access else ACCEPTED
        if status not in (ACCEPTED, PENDING, REJECTED):
            status = ACCEPTED

        values = {
            "vendor": vendor,
            "model": model,
            "serial_number": serial_number,
            "charge_box_serial_number": charge_box_serial_number,
            "firmware_version": firmware_version,
            "iccid": iccid,
            "imsi": imsi,
            "meter_type": meter_type,
            "meter_serial_number": meter_serial_number,
            "last_boot_at": at,
            "ocpp_version": "1.6",
        }
        values["b_id"] = identity
        if access is not None:
            # Batched with other boots (see Store.execute), which tells no row count. The registry
            # holds only charge points whose row is written or being written, and loses one whose
            # write failed or that was deleted meanwhile: gone from it now, the UPDATE found no
            # row, and the row is written below or the boot refused.
            await self._store.execute(_BOOT, values)
        if self._access.get(identity) is None:
            status = await self._register_at_boot(identity, values)
        self._bus.publish(Event("charge_point.booted", identity, {"status": status, "vendor": vendor, "model": model}))
        return BootResult(status, self.heartbeat_interval, at)

    async def _register_at_boot(self, identity: str, values: dict[str, Any]) -> str:
        """A boot of a charge point that has no row: written now if auto-registration allows it
        (its registration at connect failed, e.g. the database was away), else refused."""
        if not self.auto_register:
            raise NotStored(f"charge point {identity} is not registered")
        status = self.status_for_new
        at = values["last_boot_at"]
        row = self._new_row(identity, status, at, None)
        boot = {name: value for name, value in values.items() if name != "b_id"}

        async def upsert(conn: AsyncConnection) -> Any:
            await conn.execute(self._register_connected, row)
            await conn.execute(t.charge_points.update().where(_cp.id == identity).values(boot))
            # The row may have been there after all (written by another node, or before a
            # restart): what it says about the charge point wins.
            return (await conn.execute(_ACCESS_COLUMNS.where(_cp.id == identity))).one_or_none()

        stored = await self._store.write(upsert)
        if stored is None:
            raise NotStored(f"the row of charge point {identity} was not written")
        access = self._access.setdefault(identity, _access_of(stored))
        self._bus.publish(Event("charge_point.connected", identity, {"remote_address": None}))
        return access.registration_status

    def _new_row(self, identity: str, status: str, at: datetime, remote_address: str | None) -> dict[str, Any]:
        return {
            "id": identity, "registration_status": status, "lenient_actions": [], "connected": True,
            "security_profile": self.default_security_profile,
            "connected_node": self.node_id, "connected_at": at, "last_seen_at": at, "remote_address": remote_address,
        }

    def heartbeat(self, identity: str) -> datetime:
        at = now()
        self._liveness.last_heartbeat[identity] = at
        self._last_heartbeat[identity] = at
        return at

    def last_heartbeat(self, identity: str) -> datetime | None:
        """The newest heartbeat this node received from the charge point (None if none yet)."""
        return self._last_heartbeat.get(identity)

    async def status_notification(
        self,
        identity: str,
        *,
        connector_id: int,
        status: str,
        error_code: str = "NoError",
        info: str | None = None,
        vendor_id: str | None = None,
        vendor_error_code: str | None = None,
        timestamp: datetime | None = None,
    ) -> bool:
        """Store what a connector reports. Charge points queue these while offline and may deliver
        them late: one older (by the charge point's `timestamp`) than the status stored changes
        nothing; one without a timestamp is taken as the newest. Returns whether it was applied."""
        at = now()
        values = {
            "charge_point_id": identity,
            "connector_id": connector_id,
            "status": status,
            "error_code": error_code,
            "info": info,
            "vendor_id": vendor_id,
            "vendor_error_code": vendor_error_code,
            "status_at": timestamp or at,
            "updated_at": at,
        }

        async def upsert(conn: AsyncConnection) -> bool:
            statement = _STATUS_UPSERT[conn.dialect.name][timestamp is not None]
            return bool((await conn.execute(statement, values)).rowcount)

        if not await self._store.write(upsert):
            log.info("%s: connector %s status %s of %s is older than the one stored; left as it was",
                     identity, connector_id, status, values["status_at"])
            return False
        if self._bus.has_subscribers:
            self._bus.publish(
                Event(
                    "connector.status",
                    identity,
                    {"connector_id": connector_id, "status": status, "error_code": error_code, "info": info},
                )
            )
        return True

    async def record_event(
        self,
        identity: str,
        kind: str,
        status: str | None,
        *,
        request_id: int | None = None,
        timestamp: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """A firmware, diagnostics, log or security notification: kept as history, and the latest
        firmware / diagnostics status also on the charge point itself."""
        at = timestamp or now()
        latest: dict[str, Any] = {}
        if kind in ("firmware", "signed_firmware"):
            latest = {"firmware_status": status, "firmware_status_at": at}
        elif kind == "diagnostics":
            latest = {"diagnostics_status": status, "diagnostics_status_at": at}

        async def insert(conn: AsyncConnection) -> None:
            await conn.execute(
                t.charge_point_events.insert().values(
                    charge_point_id=identity, kind=kind, status=status, request_id=request_id, timestamp=at, detail=detail
                )
            )
            if latest:
                await conn.execute(t.charge_points.update().where(t.charge_points.c.id == identity).values(latest))

        await self._store.write(insert)
        self._bus.publish(Event(f"{kind}.status", identity, {"status": status, "request_id": request_id}))


# Statements built once: constructing a Core statement per message costs more than running it.
_cp = t.charge_points.c
_CONNECT = (
    t.charge_points.update()
    .where(_cp.id == sa.bindparam("b_id"))
    .values(
        connected=True,
        connected_node=sa.bindparam("b_node"),
        connected_at=sa.bindparam("b_at", type_=t.UTCDateTime),
        last_seen_at=sa.bindparam("b_at", type_=t.UTCDateTime),
        remote_address=sa.bindparam("b_address"),
    )
)
_BOOT = (
    t.charge_points.update()
    .where(_cp.id == sa.bindparam("b_id"))
    .values({name: sa.bindparam(name) for name in (
        "vendor", "model", "serial_number", "charge_box_serial_number", "firmware_version", "iccid", "imsi",
        "meter_type", "meter_serial_number", "last_boot_at", "ocpp_version",
    )})
)

_DISCONNECT = (
    t.charge_points.update()
    # A newer connection on another node may own the charge point by now.
    .where(_cp.id == sa.bindparam("b_id"), _cp.connected_node == sa.bindparam("b_node"))
    .values(
        connected=False,
        connected_node=None,
        disconnected_at=sa.bindparam("b_at", type_=t.UTCDateTime),
        last_seen_at=sa.func.coalesce(sa.bindparam("b_seen", type_=t.UTCDateTime), _cp.last_seen_at),
        last_heartbeat_at=sa.func.coalesce(sa.bindparam("b_beat", type_=t.UTCDateTime), _cp.last_heartbeat_at),
    )
)


def _status_upsert(insert: Any, *, ordered: bool) -> sa.Insert:
    """A connector's status inserted or replaced; when `ordered`, not over a newer one."""
    c = t.connectors.c
    statement = insert(t.connectors)
    columns = ("status", "error_code", "info", "vendor_id", "vendor_error_code", "status_at", "updated_at")
    newer = sa.or_(c.status_at.is_(None), c.status_at <= statement.excluded.status_at) if ordered else None
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[c.charge_point_id, c.connector_id],
        set_={name: statement.excluded[name] for name in columns},
        where=newer,
    )


# By dialect, then by whether the charge point gave a timestamp to order by.
_STATUS_UPSERT = {
    name: {ordered: _status_upsert(dialect.insert, ordered=ordered) for ordered in (True, False)}
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


_ACCESS_COLUMNS = sa.select(
    _cp.id, _cp.password_hash, _cp.registration_status, _cp.ping_interval, _cp.lenient_actions, _cp.security_profile
)
SECURITY_EVENT_EVERY_S = 10.0
_STATUS_FOR_NEW = {"accept": ACCEPTED, "pending": PENDING, "reject-unknown": REJECTED}


async def _rowcount(conn: AsyncConnection, statement: sa.Executable) -> int:
    return (await conn.execute(statement)).rowcount  # type: ignore[attr-defined,no-any-return]


def _access_of(row: Any) -> Access:
    return Access(
        row.password_hash,
        row.registration_status or ACCEPTED,
        row.ping_interval,
        frozenset(row.lenient_actions) if row.lenient_actions else _NO_ACTIONS,
        row.security_profile or 0,
    )


def _check_profile(profile: int, *, has_password: bool) -> None:
    if profile not in PROFILES:
        raise Invalid("security_profile is 0, 1, 2 or 3", code="invalid_security_profile")
    if profile in (1, 2) and not has_password:
        # Such a charge point could never connect: say so now rather than at its handshake.
        raise Invalid(f"security profile {profile} needs a password", code="password_required")
