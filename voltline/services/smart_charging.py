"""Charging profiles as the charge points hold them: SetChargingProfile installs one per charge
point / connector / purpose / stack level, ClearChargingProfile removes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now, parse_timestamp
from voltline.services.commands import CommandService, Payload, Send, require_storable
from voltline.services.errors import Conflict, NotFound
from voltline.services.paging import Page, fetch_page
from voltline.store import tables as t
from voltline.store.database import Store

# Active (installed) → Replaced (a newer profile took its id or its slot) | Cleared.
ACTIVE, REPLACED, CLEARED = "Active", "Replaced", "Cleared"


@dataclass(slots=True, frozen=True)
class ChargingProfile:
    id: int
    charge_point_id: str
    connector_id: int
    charging_profile_id: int
    stack_level: int
    purpose: str
    kind: str
    recurrency_kind: str | None
    transaction_id: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    charging_schedule: dict[str, Any]  # as OCPP sends it (camelCase)
    status: str
    created_at: datetime
    updated_at: datetime


class SmartChargingService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register("SetChargingProfile", self._set)
        commands.register("ClearChargingProfile", self._clear)

    async def set_profile(
        self, identity: str, connector_id: int, profile: Payload, *, timeout: float | None = None
    ) -> tuple[Payload, ChargingProfile | None]:
        """Send SetChargingProfile; the stored profile when the charge point accepted it."""
        response = await self._commands.send(
            identity, "SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": profile}, timeout
        )
        if response.get("status") != "Accepted":
            return response, None
        row = await self._store.fetch_one(
            sa.select(t.charging_profiles)
            .where(
                t.charging_profiles.c.charge_point_id == identity,
                t.charging_profiles.c.charging_profile_id == profile["chargingProfileId"],
                t.charging_profiles.c.status == ACTIVE,
            )
            .order_by(t.charging_profiles.c.id.desc())
        )
        return response, _profile(row) if row is not None else None

    async def clear_profile(self, profile_id: int, *, timeout: float | None = None) -> tuple[Payload, ChargingProfile]:
        """Send ClearChargingProfile for one stored profile (by our id)."""
        profile = await self.get(profile_id)
        if profile.status != ACTIVE:
            raise Conflict(f"charging profile {profile_id} is {profile.status}", code="charging_profile_not_active")
        response = await self._commands.send(
            profile.charge_point_id, "ClearChargingProfile", {"id": profile.charging_profile_id}, timeout
        )
        return response, await self.get(profile_id)

    async def get(self, profile_id: int) -> ChargingProfile:
        row = await self._store.fetch_one(sa.select(t.charging_profiles).where(t.charging_profiles.c.id == profile_id))
        if row is None:
            raise NotFound(f"no charging profile {profile_id}")
        return _profile(row)

    async def list(
        self,
        *,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ChargingProfile]:
        c = t.charging_profiles.c
        query = sa.select(t.charging_profiles)
        for column, value in ((c.charge_point_id, charge_point_id), (c.connector_id, connector_id), (c.purpose, purpose), (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        return await fetch_page(
            self._store, query, (c.charge_point_id, c.connector_id, c.purpose, c.stack_level.desc(), c.id), limit, offset, _profile
        )

    # -- domain effects of the commands --------------------------------------------------------

    async def _set(self, identity: str, payload: Payload, send: Send) -> Payload:
        profile = payload.get("csChargingProfiles")
        if isinstance(profile, dict):
            require_storable(payload, "connectorId")
            require_storable_profile(profile)
        response = await send(payload)
        if response.get("status") != "Accepted":
            return response
        connector_id = payload["connectorId"]

        async def install(conn: AsyncConnection) -> int:
            return await install_profile(conn, identity, connector_id, profile)

        profile_id = await self._store.write(install)
        self._bus.publish(
            Event("charging_profile.set", identity, {"id": profile_id, "connector_id": connector_id,
                                                      "charging_profile_id": profile["chargingProfileId"]})
        )
        return response

    async def _clear(self, identity: str, payload: Payload, send: Send) -> Payload:
        require_storable(payload, "id", "connectorId", "stackLevel")
        response = await send(payload)
        if response.get("status") != "Accepted":
            return response
        c = t.charging_profiles.c
        conditions = [c.charge_point_id == identity, c.status == ACTIVE]
        if "id" in payload:
            conditions.append(c.charging_profile_id == payload["id"])
        else:
            if "connectorId" in payload:
                conditions.append(c.connector_id == payload["connectorId"])
            if "chargingProfilePurpose" in payload:
                conditions.append(c.purpose == payload["chargingProfilePurpose"])
            if "stackLevel" in payload:
                conditions.append(c.stack_level == payload["stackLevel"])
        result = await self._store.write(
            lambda conn: conn.execute(
                t.charging_profiles.update().where(*conditions).values(status=CLEARED, updated_at=now())
            )
        )
        self._bus.publish(Event("charging_profile.cleared", identity, {"cleared": result.rowcount}))
        return response


def require_storable_profile(profile: Payload) -> None:
    """The numbers of a profile that must fit the database once the charge point accepted it."""
    require_storable(profile, "chargingProfileId", "stackLevel", "transactionId")


async def install_profile(
    conn: AsyncConnection,
    identity: str,
    connector_id: int,
    profile: Payload,
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
        "charging_profile_id": profile["chargingProfileId"],
        "stack_level": profile["stackLevel"],
        "purpose": profile["chargingProfilePurpose"],
        "kind": profile["chargingProfileKind"],
        "recurrency_kind": profile.get("recurrencyKind"),
        "transaction_id": profile.get("transactionId", transaction_id),
        "valid_from": _time(profile.get("validFrom")),
        "valid_to": _time(profile.get("validTo")),
        "charging_schedule": profile["chargingSchedule"],
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


def _time(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None


def _profile(row: Any) -> ChargingProfile:
    return ChargingProfile(
        row.id, row.charge_point_id, row.connector_id, row.charging_profile_id, row.stack_level, row.purpose,
        row.kind, row.recurrency_kind, row.transaction_id, row.valid_from, row.valid_to, row.charging_schedule,
        row.status, row.created_at, row.updated_at,
    )
