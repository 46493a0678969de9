"""Firmware updates, diagnostics and log uploads: each request is kept in the charge point's event
history, next to the status notifications that follow it (stored by ChargePointService)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.services.commands import CommandService, Payload, Send, require_storable
from voltline.services.paging import Page, fetch_page
from voltline.store import tables as t
from voltline.store.database import Store

REQUESTED = "Requested"

# action → the event kind its notifications are stored under
_KINDS = {
    "UpdateFirmware": "firmware",
    "GetDiagnostics": "diagnostics",
    "GetLog": "log",
    "SignedUpdateFirmware": "signed_firmware",
}
_GOING_AHEAD = {None, "Accepted", "AcceptedCanceled"}


@dataclass(slots=True, frozen=True)
class ChargePointEvent:
    id: int
    charge_point_id: str
    kind: str
    status: str | None
    request_id: int | None
    timestamp: datetime
    detail: Any


class FirmwareService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        for action in _KINDS:
            commands.register(action, self._tracked(action))

    async def history(
        self, identity: str, *, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[ChargePointEvent]:
        c = t.charge_point_events.c
        query = sa.select(t.charge_point_events).where(c.charge_point_id == identity)
        if kind is not None:
            query = query.where(c.kind == kind)
        return await fetch_page(self._store, query, (c.timestamp.desc(), c.id.desc()), limit, offset, _event)

    def _tracked(self, action: str):  # type: ignore[no-untyped-def]
        kind = _KINDS[action]

        async def effect(identity: str, payload: Payload, send: Send) -> Payload:
            require_storable(payload, "requestId")
            response = await send(payload)
            # UpdateFirmware and GetDiagnostics are never refused in 1.6; GetLog and
            # SignedUpdateFirmware answer a status.
            answer = response.get("status")
            status = REQUESTED if answer in _GOING_AHEAD else answer
            request_id = payload.get("requestId")
            await self._store.write(
                lambda conn: conn.execute(
                    t.charge_point_events.insert().values(
                        charge_point_id=identity,
                        kind=kind,
                        status=status,
                        request_id=request_id,
                        timestamp=now(),
                        detail={"action": action, "request": payload, "response": response},
                    )
                )
            )
            self._bus.publish(Event(f"{kind}.requested", identity, {"status": status, "request_id": request_id}))
            return response

        return effect


def _event(row: Any) -> ChargePointEvent:
    return ChargePointEvent(row.id, row.charge_point_id, row.kind, row.status, row.request_id, row.timestamp, row.detail)
