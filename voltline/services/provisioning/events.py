"""Notifications that tell a story over time (firmware, diagnostics, logs, security): kept as
history, and the latest firmware, diagnostics and log status also on the charge point itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.store import tables as t
from voltline.store.database import Store


class ChargePointEvents:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    async def record(
        self,
        identity: str,
        kind: str,
        status: str | None,
        *,
        request_id: int | None = None,
        timestamp: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        at = timestamp or now()
        latest: dict[str, Any] = {}
        if kind in ("firmware", "signed_firmware"):
            latest = {"firmware_status": status, "firmware_status_at": at}
        elif kind == "diagnostics":
            latest = {"diagnostics_status": status, "diagnostics_status_at": at}
        elif kind == "log":
            latest = {"log_status": status, "log_status_at": at}

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

    async def record_many(self, identity: str, kind: str, entries: Sequence[Mapping[str, Any]]) -> None:
        """Several events of one `kind` that arrived in one message (2.0.1's NotifyEvent carries
        many), in one write. Each entry: `status`, and optionally `timestamp`, `request_id`, `detail`."""
        if not entries:
            return
        at = now()
        rows = [
            {"charge_point_id": identity, "kind": kind, "status": entry.get("status"),
             "request_id": entry.get("request_id"), "timestamp": entry.get("timestamp") or at,
             "detail": entry.get("detail")}
            for entry in entries
        ]
        await self._store.write(lambda conn: conn.execute(t.charge_point_events.insert(), rows))
        last = rows[-1]
        self._bus.publish(
            Event(f"{kind}.status", identity, {"status": last["status"], "request_id": last["request_id"], "count": len(rows)})
        )
