"""A charge point's connection as the database records it: connected (where, from where, since
when), gone, last seen, last heartbeat. Connection state is kept apart from what the connectors
report: a disconnect marks the charge point offline and leaves its connectors as they were."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.services.reports.recorder import Rollups
from voltline.services.provisioning.refusals import REGISTERED_REJECTED, RefusalLog
from voltline.services.provisioning.registry import NO_ACTIONS, REJECTED, Access, AccessRegistry, ProvisioningPolicy
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.charge_points")


@dataclass(slots=True)
class Liveness:
    """Connection facts that change with every frame: kept in memory, flushed in the background."""

    last_seen: dict[str, datetime] = field(default_factory=dict)
    last_heartbeat: dict[str, datetime] = field(default_factory=dict)


class Connections:
    def __init__(
        self, store: Store, bus: EventBus, registry: AccessRegistry, policy: ProvisioningPolicy, refusals: RefusalLog,
        rollups: Rollups,
    ) -> None:
        self._store = store
        self._rollups = rollups  # connected / offline time for the reliability report
        self._bus = bus
        self._registry = registry
        self._policy = policy
        self._refusals = refusals
        self._liveness = Liveness()
        # Newest heartbeat per charge point, for reads between two flushes to the database.
        self._last_heartbeat: dict[str, datetime] = {}
        # A charge point unknown until its handshake: registered and marked connected at once.
        marks = ["connected", "connected_node", "connected_at", "last_seen_at", "remote_address"]
        self.register_connected = store.insert_updating_on_conflict(t.charge_points, ["id"], [*marks, "ocpp_version"])
        # The same at its boot, when recording the connection had failed: the version stays as it was.
        self.register_booted = store.insert_updating_on_conflict(t.charge_points, ["id"], marks)

    async def forget(self) -> int:
        """Connections this node held before a crash or restart are gone; on a single node, so
        are those recorded under another node id (the host was renamed)."""
        held = _cp.connected if self._policy.single_node else _cp.connected_node == self._policy.node_id
        statement = t.charge_points.update().where(held).values(connected=False, connected_node=None, disconnected_at=now())
        return await self._store.write(lambda conn: _rowcount(conn, statement))  # type: ignore[no-any-return]

    async def node_gone(self, node_id: str) -> int:
        """Another node of the cluster died: the charge points it held are offline (those that
        reconnected elsewhere name that node by now and are left as they are)."""
        statement = (
            t.charge_points.update().where(_cp.connected_node == node_id)
            .values(connected=False, connected_node=None, disconnected_at=now())
        )
        return await self._store.write(lambda conn: _rowcount(conn, statement))  # type: ignore[no-any-return]

    async def handed_over(self, identity: str, node_id: str) -> None:
        """Cluster: the charge point's connection here was taken over by `node_id`. Were this
        node's record of the connection written after the new node's, it names the new one now
        (else this node's stop, or death, would show a charge point offline that is connected)."""
        statement = (
            t.charge_points.update()
            .where(_cp.id == identity, _cp.connected_node == self._policy.node_id)
            .values(connected=True, connected_node=node_id)
        )
        await self._store.write(lambda conn: conn.execute(statement))

    async def all_disconnected(self) -> int:
        """At shutdown: every charge point this node held is recorded offline, in one statement
        (the connections' own disconnect records would be thousands of writes). Returns how many."""
        self._liveness = Liveness()
        self._rollups.all_disconnected(now())
        return await self.forget()

    async def connected(
        self, identity: str, remote_address: str | None, auto_registered: bool, *, ocpp_version: str = "1.6"
    ) -> Access:
        """The charge point connected, speaking `ocpp_version` (the charge point view shows the
        version of its current or last connection)."""
        at = now()
        status = self._policy.status_for_new
        registry = self._registry
        access = registry.get(identity)
        if access is None:
            # Known at once, before the row is written: the BootNotification may already be queued.
            access = registry.access[identity] = Access(None, status, None, NO_ACTIONS, self._policy.default_security_profile)

        # One statement each (consecutive ones share an executemany: see Store.execute).
        if auto_registered:
            registry.unwritten.add(identity)
            try:
                await self._store.execute(self.register_connected, self.new_row(identity, status, at, remote_address, ocpp_version))
            except BaseException:
                # Not in the database: not in the registry either, or its messages would meet a
                # foreign key forever. Its next BootNotification writes the row (see boot).
                if registry.get(identity) is access:
                    del registry.access[identity]
                raise
            finally:
                registry.unwritten.discard(identity)
            if status == REJECTED:
                self._refusals.record(identity, REGISTERED_REJECTED, remote_address)
        else:
            await self._store.execute(_CONNECT, {
                "b_id": identity, "b_node": self._policy.node_id, "b_at": at, "b_address": remote_address,
                "b_version": ocpp_version,
            })
        self._rollups.connected(identity, at)
        self._bus.publish(Event("charge_point.connected", identity, {"remote_address": remote_address}))
        return access

    def new_row(
        self, identity: str, status: str, at: datetime, remote_address: str | None, ocpp_version: str | None
    ) -> dict[str, Any]:
        """The row of a charge point auto-registered as it connects."""
        return {
            "id": identity, "registration_status": status, "lenient_actions": [], "connected": True,
            "security_profile": self._policy.default_security_profile,
            "connected_node": self._policy.node_id, "connected_at": at, "last_seen_at": at,
            "remote_address": remote_address, "ocpp_version": ocpp_version,
        }

    async def disconnected(self, identity: str) -> None:
        at = now()
        last_seen = self._liveness.last_seen.pop(identity, None)
        last_heartbeat = self._liveness.last_heartbeat.pop(identity, None)
        values = {
            "b_id": identity, "b_node": self._policy.node_id, "b_at": at, "b_seen": last_seen, "b_beat": last_heartbeat,
        }
        try:
            await self._store.write(lambda conn: conn.execute(_DISCONNECT, values))
        except Exception:
            log.exception("could not record that %s disconnected", identity)
        self._rollups.disconnected(identity, at)
        self._bus.publish(Event("charge_point.disconnected", identity, {}))

    def seen(self, identity: str, at: datetime) -> None:
        self._liveness.last_seen[identity] = at

    def heartbeat(self, identity: str) -> datetime:
        at = now()
        self._liveness.last_heartbeat[identity] = at
        self._last_heartbeat[identity] = at
        return at

    def last_heartbeat(self, identity: str) -> datetime | None:
        """The newest heartbeat this node received from the charge point (None if none yet)."""
        return self._last_heartbeat.get(identity)

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
        try:
            await self._store.write(lambda conn: conn.execute(_LIVENESS, rows))
        except Exception:
            # Keep them for the next flush, unless newer ones arrived meanwhile.
            for identity, at in seen.items():
                self._liveness.last_seen.setdefault(identity, at)
            for identity, at in beats.items():
                self._liveness.last_heartbeat.setdefault(identity, at)
            raise


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
        ocpp_version=sa.bindparam("b_version"),
    )
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
_LIVENESS = (
    t.charge_points.update()
    .where(_cp.id == sa.bindparam("b_id"))
    .values(
        last_seen_at=sa.bindparam("b_seen", type_=t.UTCDateTime),
        last_heartbeat_at=sa.func.coalesce(sa.bindparam("b_beat", type_=t.UTCDateTime), _cp.last_heartbeat_at),
    )
)


async def _rowcount(conn: AsyncConnection, statement: sa.Executable) -> int:
    return (await conn.execute(statement)).rowcount  # type: ignore[attr-defined,no-any-return]
