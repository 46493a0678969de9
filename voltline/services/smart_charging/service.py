"""Charging profiles as the charge points hold them: SetChargingProfile installs one per charge
point / connector / purpose / stack level, ClearChargingProfile removes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.ocpp.commands import (
    Answer,
    ChargingProfileSpec,
    ChargingSchedule,
    ClearChargingProfiles,
    InstallChargingProfile,
    Reply,
)
from voltline.services.clock import now
from voltline.services.remote_control.commands import CommandService, Send, require_storable
from voltline.services.smart_charging.views import ChargingProfile, charging_profile_of
from voltline.services.errors import Conflict, NotFound
from voltline.services.remote_control.request_checks import InvalidRequest, Problem
from voltline.services.smart_charging.profile_rules import PROFILE, profile_problems
from voltline.store import tables as t
from voltline.store.database import Store

# Active (installed) → Replaced (a newer profile took its id or its slot) | Cleared.
ACTIVE, REPLACED, CLEARED = "Active", "Replaced", "Cleared"


class SmartChargingService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register(InstallChargingProfile, self._set)
        commands.register(ClearChargingProfiles, self._clear)

    async def set_profile(
        self, identity: str, connector_id: int, profile: ChargingProfileSpec, *, timeout: float | None = None
    ) -> tuple[Reply[Answer], ChargingProfile | None]:
        """Install a charging profile; the stored profile when the charge point accepted it.

        Check it first with `check_profile`: a profile that breaks OCPP's rules is not to be sent."""
        if profile.transaction_id is not None and profile.ocpp_transaction_id is None:
            # Its transaction as the charge point names it (2.0.1 knows no other name).
            tx = t.transactions.c
            wire = await self._store.fetch_one(sa.select(tx.ocpp_transaction_id).where(tx.id == profile.transaction_id))
            if wire is not None:
                profile = replace(profile, ocpp_transaction_id=wire.ocpp_transaction_id)
        reply = await self._commands.send(identity, InstallChargingProfile(connector_id, profile), timeout)
        if not reply.result.accepted:
            return reply, None
        row = await self._store.fetch_one(
            sa.select(t.charging_profiles)
            .where(
                t.charging_profiles.c.charge_point_id == identity,
                t.charging_profiles.c.charging_profile_id == profile.charging_profile_id,
                t.charging_profiles.c.status == ACTIVE,
            )
            .order_by(t.charging_profiles.c.id.desc())
        )
        return reply, charging_profile_of(row) if row is not None else None

    async def require_valid(self, identity: str, connector_id: int, profile: ChargingProfileSpec) -> None:
        """Raise InvalidRequest, each problem at its field, for a profile not to be sent."""
        problems = await self.check_profile(identity, connector_id, profile)
        if problems:
            raise InvalidRequest("SetChargingProfile", problems)

    async def check_profile(self, identity: str, connector_id: int, profile: ChargingProfileSpec) -> list[Problem]:
        """Every problem of installing `profile` on the connector, each at its field: what OCPP
        forbids of a profile (profile_rules), a TxProfile without its transaction, and what the
        charge point's version refuses of it as it would go out."""
        request = InstallChargingProfile(connector_id, profile)
        problems = profile_problems(request) + await self._transaction_problems(identity, connector_id, profile)
        return self._commands.check(identity, request, problems)

    async def _transaction_problems(self, identity: str, connector_id: int, profile: ChargingProfileSpec) -> list[Problem]:
        # The charge point applies a TxProfile to the transaction on its connector (§5.16.3).
        if profile.purpose != "TxProfile" or connector_id <= 0:
            return []
        tx = t.transactions.c
        query = sa.select(tx.id).where(tx.charge_point_id == identity, tx.connector_id == connector_id, tx.stopped_at.is_(None))
        running = [row.id for row in await self._store.fetch_all(query)]
        transaction_id = profile.transaction_id
        if transaction_id is None and not running:
            return [Problem(("connector_id",), f"no transaction is running on connector {connector_id}")]
        if transaction_id is not None and transaction_id not in running:
            return [Problem((*PROFILE, "transaction_id"),
                            f"transaction {transaction_id} is not running on connector {connector_id}")]
        return []

    async def next_profile_id(self, identity: str) -> int:
        """A chargingProfileId the charge point holds no profile under: one above the highest used."""
        c = t.charging_profiles.c
        row = await self._store.fetch_one(sa.select(sa.func.max(c.charging_profile_id)).where(c.charge_point_id == identity))
        return int(row[0] or 0) + 1 if row is not None else 1

    async def clear_profile(self, profile_id: int, *, timeout: float | None = None) -> tuple[Reply[Answer], ChargingProfile]:
        """Remove one stored profile (by our id) from its charge point."""
        profile = await self.get(profile_id)
        if profile.status != ACTIVE:
            raise Conflict(f"charging profile {profile_id} is {profile.status}", code="charging_profile_not_active")
        reply = await self._commands.send(
            profile.charge_point_id, ClearChargingProfiles(profile_id=profile.charging_profile_id), timeout
        )
        return reply, await self.get(profile_id)

    async def get(self, profile_id: int) -> ChargingProfile:
        row = await self._store.fetch_one(sa.select(t.charging_profiles).where(t.charging_profiles.c.id == profile_id))
        if row is None:
            raise NotFound(f"no charging profile {profile_id}")
        return charging_profile_of(row)

    # -- domain effects of the commands --------------------------------------------------------

    async def _set(
        self, identity: str, request: InstallChargingProfile, send: Send[InstallChargingProfile]
    ) -> Reply[Answer]:
        profile = request.profile
        require_storable(request, "connector_id")
        require_storable_profile(profile)
        reply = await send(request)
        if not reply.result.accepted:
            return reply
        connector_id = request.connector_id

        async def install(conn: AsyncConnection) -> int:
            return await install_profile(conn, identity, connector_id, profile)

        profile_id = await self._store.write(install)
        self._bus.publish(
            Event("charging_profile.set", identity, {"id": profile_id, "connector_id": connector_id,
                                                      "charging_profile_id": profile.charging_profile_id})
        )
        return reply

    async def _clear(
        self, identity: str, request: ClearChargingProfiles, send: Send[ClearChargingProfiles]
    ) -> Reply[Answer]:
        require_storable(request, "profile_id", "connector_id", "stack_level")
        reply = await send(request)
        if not reply.result.accepted:
            return reply
        c = t.charging_profiles.c
        conditions = [c.charge_point_id == identity, c.status == ACTIVE]
        if request.profile_id is not None:
            conditions.append(c.charging_profile_id == request.profile_id)
        else:
            if request.connector_id is not None:
                conditions.append(c.connector_id == request.connector_id)
            if request.purpose is not None:
                conditions.append(c.purpose == request.purpose)
            if request.stack_level is not None:
                conditions.append(c.stack_level == request.stack_level)
        result = await self._store.write(
            lambda conn: conn.execute(
                t.charging_profiles.update().where(*conditions).values(status=CLEARED, updated_at=now())
            )
        )
        self._bus.publish(Event("charging_profile.cleared", identity, {"cleared": result.rowcount}))
        return reply


def require_storable_profile(profile: ChargingProfileSpec) -> None:
    """The numbers of a profile that must fit the database once the charge point accepted it."""
    require_storable(profile, "charging_profile_id", "stack_level", "transaction_id")


async def install_profile(
    conn: AsyncConnection,
    identity: str,
    connector_id: int,
    profile: ChargingProfileSpec,
    *,
    transaction_id: int | None = None,
    remote_start_id: int | None = None,
) -> int:
    """Record a profile the charge point accepted as installed; return its row id.

    OCPP 1.6 §3.13.2: a profile replaces the one with the same id, and the one with the same
    stack level and purpose on the same connector."""
    c = t.charging_profiles.c
    at = now()
    values = {
        "charge_point_id": identity,
        "connector_id": connector_id,
        "charging_profile_id": profile.charging_profile_id,
        "stack_level": profile.stack_level,
        "purpose": profile.purpose,
        "kind": profile.kind,
        "recurrency_kind": profile.recurrency_kind,
        "transaction_id": profile.transaction_id if profile.transaction_id is not None else transaction_id,
        "valid_from": profile.valid_from,
        "valid_to": profile.valid_to,
        "charging_schedule": schedule_record(profile.schedule),
        "status": ACTIVE,
        "remote_start_id": remote_start_id,
        "created_at": at,
        "updated_at": at,
    }
    await conn.execute(
        t.charging_profiles.update()
        .where(
            c.charge_point_id == identity,
            c.status == ACTIVE,
            sa.or_(
                c.charging_profile_id == values["charging_profile_id"],
                sa.and_(c.connector_id == connector_id, c.purpose == values["purpose"], c.stack_level == values["stack_level"]),
            ),
        )
        .values(status=REPLACED, updated_at=at)
    )
    return int(await conn.scalar(t.charging_profiles.insert().values(values).returning(c.id)))


def schedule_record(schedule: ChargingSchedule) -> dict[str, Any]:
    """A schedule as the charging_profiles table keeps it: in the field names OCPP gives it (the
    column's format since the first release; the API shows it in snake_case)."""
    record: dict[str, Any] = {"chargingRateUnit": schedule.rate_unit}
    if schedule.duration is not None:
        record["duration"] = schedule.duration
    if schedule.start_schedule is not None:
        record["startSchedule"] = schedule.start_schedule.astimezone(UTC).isoformat().replace("+00:00", "Z")
    record["chargingSchedulePeriod"] = [
        {"startPeriod": p.start_period, "limit": p.limit}
        | ({"numberPhases": p.number_phases} if p.number_phases is not None else {})
        for p in schedule.periods
    ]
    if schedule.min_charging_rate is not None:
        record["minChargingRate"] = schedule.min_charging_rate
    return record
