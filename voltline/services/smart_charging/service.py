"""Charging profiles as the charge points hold them: SetChargingProfile installs one per charge
point / connector / purpose / stack level, ClearChargingProfile removes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
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
from voltline.services.clock import now, parse_timestamp
from voltline.services.remote_control.commands import CommandService, Send, require_storable
from voltline.services.smart_charging.views import ChargingProfile, charging_profile_of
from voltline.services.errors import Conflict, NotFound
from voltline.services.remote_control.request_checks import InvalidRequest, Problem, schema_problems
from voltline.store import tables as t
from voltline.store.database import Store

CS = "csChargingProfiles"  # the profile's place in a SetChargingProfile request

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

    async def require_valid(self, identity: str, connector_id: Any, profile: Any) -> None:
        """Raise InvalidRequest, each problem at its field, for a profile not to be sent."""
        problems = await self.check_profile(identity, connector_id, profile)
        if problems:
            raise InvalidRequest("SetChargingProfile", problems)

    async def check_profile(self, identity: str, connector_id: Any, profile: Any) -> list[Problem]:
        """Every problem of a profile as an operator wrote it (in a SetChargingProfile of 1.6, the
        form the API and the dashboard take), at its field: the official schema, then what OCPP
        forbids beyond it (§3.13, §5.16, §7.8)."""
        problems = schema_problems("SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": profile})
        if not isinstance(profile, dict):
            return problems
        at = ("csChargingProfiles",)
        problems += [Problem(path, message) for path, message in _profile_rules(connector_id, profile)]
        transaction_id = profile.get("transactionId")
        if (
            profile.get("chargingProfilePurpose") == "TxProfile"
            and isinstance(connector_id, int)
            and connector_id > 0
            and (transaction_id is None or isinstance(transaction_id, int))
        ):
            # The charge point applies a TxProfile to the transaction on its connector (§5.16.3).
            tx = t.transactions.c
            query = sa.select(tx.id).where(
                tx.charge_point_id == identity, tx.connector_id == connector_id, tx.stopped_at.is_(None)
            )
            running = [row.id for row in await self._store.fetch_all(query)]
            if transaction_id is None and not running:
                problems.append(Problem(("connectorId",), f"no transaction is running on connector {connector_id}"))
            elif transaction_id is not None and transaction_id not in running:
                problems.append(Problem(at + ("transactionId",),
                                        f"transaction {transaction_id} is not running on connector {connector_id}"))
        return problems

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


def _profile_rules(connector_id: Any, profile: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The rules of a profile that need no database, each at its path in the request; checked only
    where the types are right (the schema reports the rest)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    purpose = profile.get("chargingProfilePurpose")
    kind = profile.get("chargingProfileKind")
    if isinstance(connector_id, int) and connector_id < 0:
        problems.append((("connectorId",), "must be 0 (the whole charge point) or a connector"))
    if purpose == "ChargePointMaxProfile" and connector_id != 0:
        problems.append((("connectorId",), "a ChargePointMaxProfile is set on connector 0, the whole charge point"))
    if purpose == "TxProfile" and connector_id == 0:
        problems.append((("connectorId",), "a TxProfile is set on the connector of its transaction, not on 0"))
    if "transactionId" in profile and purpose != "TxProfile":
        problems.append(((CS, "transactionId"), "only a TxProfile names a transaction"))
    stack_level = profile.get("stackLevel")
    if isinstance(stack_level, int) and stack_level < 0:
        problems.append(((CS, "stackLevel"), "must be 0 or more"))
    if kind == "Recurring" and "recurrencyKind" not in profile:
        problems.append(((CS, "recurrencyKind"), "a Recurring profile recurs Daily or Weekly"))
    if kind != "Recurring" and "recurrencyKind" in profile:
        problems.append(((CS, "recurrencyKind"), "only a Recurring profile recurs"))
    valid_from, valid_to = _parsed(profile.get("validFrom")), _parsed(profile.get("validTo"))
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        problems.append(((CS, "validTo"), "must be later than valid from"))
    schedule = profile.get("chargingSchedule")
    if not isinstance(schedule, dict):
        return problems
    at: tuple[str | int, ...] = (CS, "chargingSchedule")
    if kind == "Recurring" and "startSchedule" not in schedule:
        problems.append((at + ("startSchedule",), "a Recurring profile recurs from its start"))
    duration = schedule.get("duration")
    if isinstance(duration, int) and duration <= 0:
        problems.append((at + ("duration",), "must be more than 0 seconds"))
    if isinstance(schedule.get("minChargingRate"), int | float) and schedule["minChargingRate"] < 0:
        problems.append((at + ("minChargingRate",), "must be 0 or more"))
    periods = schedule.get("chargingSchedulePeriod")
    if not isinstance(periods, list):
        return problems
    if not periods:
        problems.append((at + ("chargingSchedulePeriod",), "a schedule has at least one period"))
    previous: int | None = None
    for index, period in enumerate(periods):
        if not isinstance(period, dict):
            continue
        where = at + ("chargingSchedulePeriod", index)
        start = period.get("startPeriod")
        if isinstance(start, int):
            if index == 0 and start != 0:
                problems.append((where + ("startPeriod",), "the first period starts at 0 s"))
            elif previous is not None and start <= previous:
                problems.append((where + ("startPeriod",), f"must be later than the period before it ({previous} s)"))
            elif isinstance(duration, int) and start >= duration:
                problems.append((where + ("startPeriod",), f"must lie within the schedule's duration ({duration} s)"))
            previous = start
        limit = period.get("limit")
        if isinstance(limit, int | float) and limit < 0:
            problems.append((where + ("limit",), "must be 0 or more"))
        phases = period.get("numberPhases")
        if isinstance(phases, int) and not 1 <= phases <= 3:
            problems.append((where + ("numberPhases",), "must be 1, 2 or 3"))
    return problems


def _parsed(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


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
