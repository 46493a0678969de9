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
from voltline.services.security.connections import PROFILES
from voltline.services.security.passwords import PasswordHasher
from voltline.store import tables as t
from voltline.store.database import Store

# What refers to a charge point, removed with it (the tables without a foreign key first).
_OWNED = (
    t.meter_readings, t.message_batches, t.connectors, t.configuration, t.charge_point_events, t.reservations,
    t.charging_profiles, t.local_list_entries, t.remote_starts, t.transactions,
)


class Registration:
    def __init__(
        self, store: Store, bus: EventBus, registry: AccessRegistry, hasher: PasswordHasher,
        default_security_profile: int = 0,
    ) -> None:
        self._default_security_profile = default_security_profile
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
        security_profile: int | None = None,
    ) -> None:
        problem = identity_problem(identity)
        if problem is not None:
            raise Invalid(problem, code="invalid_identity")
        profile = self._default_security_profile if security_profile is None else security_profile
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
        self._registry.access[identity] = Access(
            values["password_hash"], registration_status, ping_interval, frozenset(values["lenient_actions"]), profile
        )
        self._registry.changed(identity)
        self._bus.publish(Event("charge_point.registered", identity, {}))

    async def update(self, identity: str, **changes: Any) -> None:
        """Change what an operator controls: description, password, registration status, ping
        interval, lenient actions. A `password` of None removes the password."""
        values: dict[str, Any] = {}
        if "security_profile" in changes or "password" in changes:
            current = self._registry.get(identity)
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
        self._registry.access[identity] = access_of(row)
        self._registry.changed(identity)
        self._bus.publish(Event("charge_point.updated", identity, {k: v for k, v in changes.items() if k != "password"}))

    async def delete(self, identity: str) -> None:
        async def remove(conn: AsyncConnection) -> int:
            # Its transactions' events by their transactions' key (the table's one index), before the
            # transactions themselves.
            mine = sa.select(t.transactions.c.id).where(t.transactions.c.charge_point_id == identity)
            await conn.execute(t.transaction_events.delete().where(t.transaction_events.c.transaction_id.in_(mine)))
            for table in _OWNED:
                await conn.execute(table.delete().where(table.c.charge_point_id == identity))
            result = await conn.execute(t.charge_points.delete().where(t.charge_points.c.id == identity))
            return result.rowcount

        if not await self._store.write(remove):
            raise UnknownChargePoint(identity)
        self._registry.access.pop(identity, None)
        self._registry.changed(identity)
        self._bus.publish(Event("charge_point.deleted", identity, {}))


def _check_profile(profile: int, *, has_password: bool) -> None:
    if profile not in PROFILES:
        raise Invalid("security_profile is 0, 1, 2 or 3", code="invalid_security_profile")
    if profile in (1, 2) and not has_password:
        # Such a charge point could never connect: say so now rather than at its handshake.
        raise Invalid(f"security profile {profile} needs a password", code="password_required")
