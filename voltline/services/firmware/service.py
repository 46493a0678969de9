"""Firmware updates, diagnostics and log uploads: each request is kept in the charge point's event
history, next to the status notifications that follow it (stored by ChargePointService)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from voltline.bus.events import Event, EventBus
from voltline.services.clock import iso, now
from voltline.services.remote_control.commands import CommandService, Payload, Send, require_storable
from voltline.services.paging import Page, fetch_page
from voltline.services.remote_control.request_checks import Problem, require_valid
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
        self._commands = commands
        for action in _KINDS:
            commands.register(action, self._tracked(action))

    async def update_firmware(
        self,
        identity: str,
        location: str,
        retrieve_date: datetime,
        *,
        retries: int | None = None,
        retry_interval: int | None = None,
        timeout: float | None = None,
    ) -> Payload:
        """UpdateFirmware: the charge point downloads from `location` from `retrieve_date` on and
        reports its progress in FirmwareStatusNotifications (kept in the history)."""
        payload: Payload = {"location": location, "retrieveDate": iso(retrieve_date)}
        _optional(payload, retries=retries, retryInterval=retry_interval)
        require_valid("UpdateFirmware", payload, _retry_problems(payload))
        return await self._commands.send(identity, "UpdateFirmware", payload, timeout)

    async def get_diagnostics(
        self,
        identity: str,
        location: str,
        *,
        start_time: datetime | None = None,
        stop_time: datetime | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
        timeout: float | None = None,
    ) -> Payload:
        """GetDiagnostics: the charge point uploads a diagnostics file to `location`; its answer
        names the file, DiagnosticsStatusNotifications report the upload."""
        payload: Payload = {"location": location}
        _optional(payload, retries=retries, retryInterval=retry_interval,
                  startTime=iso(start_time) if start_time else None, stopTime=iso(stop_time) if stop_time else None)
        problems = _retry_problems(payload)
        if start_time is not None and stop_time is not None and stop_time <= start_time:
            problems.append(Problem(("stopTime",), "must be later than the start time"))
        require_valid("GetDiagnostics", payload, problems)
        return await self._commands.send(identity, "GetDiagnostics", payload, timeout)

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


def _optional(payload: Payload, **values: Any) -> None:
    payload.update({key: value for key, value in values.items() if value is not None})


def _retry_problems(payload: Payload) -> list[Problem]:
    return [Problem((name,), "must be 0 or more") for name in ("retries", "retryInterval")
            if isinstance(payload.get(name), int) and payload[name] < 0]


def _event(row: Any) -> ChargePointEvent:
    return ChargePointEvent(row.id, row.charge_point_id, row.kind, row.status, row.request_id, row.timestamp, row.detail)
