"""A BootNotification: what the charge point says it is, and the verdict on its registration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.services.provisioning.connections import Connections
from voltline.services.provisioning.errors import NotStored
from voltline.services.provisioning.registry import (
    ACCEPTED, ACCESS_COLUMNS, PENDING, REJECTED, AccessRegistry, ProvisioningPolicy, access_of,
)
from voltline.store import tables as t
from voltline.store.database import Store


@dataclass(slots=True)
class BootResult:
    status: str
    interval: int
    current_time: datetime


class Boot:
    def __init__(
        self, store: Store, bus: EventBus, registry: AccessRegistry, policy: ProvisioningPolicy, connections: Connections
    ) -> None:
        self._store = store
        self._bus = bus
        self._registry = registry
        self._policy = policy
        self._connections = connections

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
        reason: str | None = None,
    ) -> BootResult:
        """What the charge point says it is, in every version's terms (1.6 gives no `reason`;
        2.0.1's station has no charge box serial or meter); the verdict by the one boot policy."""
        at = now()
        access = self._registry.get(identity)
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
            "heartbeat_interval": self._policy.heartbeat_interval,
            "boot_reason": reason,
        }
        values["b_id"] = identity
        if access is not None:
            # Batched with other boots (see Store.execute), which tells no row count. The registry
            # holds only charge points whose row is written or being written, and loses one whose
            # write failed or that was deleted meanwhile: gone from it now, the UPDATE found no
            # row, and the row is written below or the boot refused.
            await self._store.execute(_BOOT, values)
        if self._registry.get(identity) is None:
            status = await self._register_at_boot(identity, values)
        self._bus.publish(Event(
            "charge_point.booted", identity, {"status": status, "vendor": vendor, "model": model, "reason": reason}
        ))
        return BootResult(status, self._policy.heartbeat_interval, at)

    async def _register_at_boot(self, identity: str, values: dict[str, Any]) -> str:
        """A boot of a charge point that has no row: written now if auto-registration allows it
        (its registration at connect failed, e.g. the database was away), else refused."""
        if not self._policy.auto_register:
            raise NotStored(f"charge point {identity} is not registered")
        status = self._policy.status_for_new
        at = values["last_boot_at"]
        row = self._connections.new_row(identity, status, at, None, None)
        del row["ocpp_version"]  # unknown here: the record of the connection that knew it failed
        boot = {name: value for name, value in values.items() if name != "b_id"}

        async def upsert(conn: AsyncConnection) -> Any:
            await conn.execute(self._connections.register_booted, row)
            await conn.execute(t.charge_points.update().where(_cp.id == identity).values(boot))
            # The row may have been there after all (written by another node, or before a
            # restart): what it says about the charge point wins.
            return (await conn.execute(ACCESS_COLUMNS.where(_cp.id == identity))).one_or_none()

        stored = await self._store.write(upsert)
        if stored is None:
            raise NotStored(f"the row of charge point {identity} was not written")
        access = self._registry.access.setdefault(identity, access_of(stored))
        self._bus.publish(Event("charge_point.connected", identity, {"remote_address": None}))
        return access.registration_status


# Built once: constructing a Core statement per message costs more than running it.
_cp = t.charge_points.c
_BOOT = (
    t.charge_points.update()
    .where(_cp.id == sa.bindparam("b_id"))
    .values({name: sa.bindparam(name) for name in (
        "vendor", "model", "serial_number", "charge_box_serial_number", "firmware_version", "iccid", "imsi",
        "meter_type", "meter_serial_number", "last_boot_at", "heartbeat_interval", "boot_reason",
    )})
)
