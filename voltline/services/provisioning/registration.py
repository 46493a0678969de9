"""Charge points as operators register, change and remove them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.ocpp.identity import identity_problem
from voltline.services.errors import Invalid
from voltline.services.provisioning.errors import ChargePointExists, UnknownChargePoint
from voltline.services.provisioning.registry import ACCEPTED, Access, AccessRegistry, access_of
from voltline.services.security.passwords import PasswordHasher
from voltline.store import tables as t
from voltline.store.database import Store

# What refers to a charge point, removed with it (the tables without a foreign key first).
_OWNED = (
    t.meter_readings, t.message_batches, t.connectors, t.configuration, t.charge_point_events, t.reservations,
    t.charging_profiles, t.local_list_entries, t.remote_starts, t.transactions,
)


class Registration:
    def __init__(self, store: Store, bus: EventBus, registry: AccessRegistry, hasher: PasswordHasher) -> None:
        self._store = store
        self._bus = bus
        self._registry = registry
        self._hasher = hasher

    async def register(
        self,
        identity: str,
        *,
        password: str | None = None,
        description: str | None = None,
        registration_status: str = ACCEPTED,
        ping_interval: float | None = None,
        lenient_actions: Iterable[str] = (),
    ) -> None:
        problem = identity_problem(identity)
        if problem is not None:
            raise Invalid(problem, code="invalid_identity")
        values = {
            "id": identity,
            "description": description,
            "password_hash": await self._hasher.hash(password) if password else None,
            "registration_status": registration_status,
            "ping_interval": ping_interval,
            "lenient_actions": sorted(set(lenient_actions)),
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
        self._registry.access[identity] = Access(
            values["password_hash"], registration_status, ping_interval, frozenset(values["lenient_actions"])
        )
        self._bus.publish(Event("charge_point.registered", identity, {}))

    async def update(self, identity: str, **changes: Any) -> None:
        """Change what an operator controls: description, password, registration status, ping
        interval, lenient actions. A `password` of None removes the password."""
        values: dict[str, Any] = {}
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
        self._registry.access[identity] = access_of(row)
        self._bus.publish(Event("charge_point.updated", identity, {k: v for k, v in changes.items() if k != "password"}))

    async def delete(self, identity: str) -> None:
        async def remove(conn: AsyncConnection) -> int:
            for table in _OWNED:
                await conn.execute(table.delete().where(table.c.charge_point_id == identity))
            result = await conn.execute(t.charge_points.delete().where(t.charge_points.c.id == identity))
            return result.rowcount

        if not await self._store.write(remove):
            raise UnknownChargePoint(identity)
        self._registry.access.pop(identity, None)
        self._bus.publish(Event("charge_point.deleted", identity, {}))
