"""Firmware updates, diagnostics and log uploads: each request is kept in the charge point's event
history, next to the status notifications that follow it (stored by ChargePointService)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from voltline.bus.events import Event, EventBus
from voltline.ocpp.commands import (
    Answer,
    DiagnosticsUpload,
    InstallSignedFirmware,
    Reply,
    Request,
    UpdateFirmware,
    UploadDiagnostics,
    UploadLog,
)
from voltline.services.clock import now
from voltline.services.remote_control.commands import CommandService, Send, require_storable
from voltline.services.remote_control.request_checks import InvalidRequest, Problem
from voltline.store import tables as t
from voltline.store.database import Store

REQUESTED = "Requested"

# request → the event kind its notifications are stored under
_KINDS: dict[type[Request[Any]], str] = {
    UpdateFirmware: "firmware",
    UploadDiagnostics: "diagnostics",
    UploadLog: "log",
    InstallSignedFirmware: "signed_firmware",
}
_GOING_AHEAD = {None, "Accepted", "AcceptedCanceled"}


class FirmwareService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        for kind in _KINDS:
            commands.register(kind, self._tracked(kind))

    async def update_firmware(
        self,
        identity: str,
        location: str,
        retrieve_date: datetime,
        *,
        retries: int | None = None,
        retry_interval: int | None = None,
        request_id: int | None = None,
        timeout: float | None = None,
    ) -> Reply[Answer]:
        """The charge point downloads from `location` from `retrieve_date` on and reports its
        progress in status notifications (kept in the history). 2.0.1 numbers each update
        (its notifications name the number): without `request_id`, the next after the charge
        point's last firmware request."""
        _require_valid("UpdateFirmware", _location_problems(location) + _retry_problems(retries, retry_interval))
        if request_id is None:
            request_id = await self._next_request_id(identity)
        request = UpdateFirmware(location, retrieve_date, retries, retry_interval, request_id)
        return await self._commands.send(identity, request, timeout)

    async def _next_request_id(self, identity: str) -> int:
        e = t.charge_point_events.c
        row = await self._store.fetch_one(
            sa.select(sa.func.max(e.request_id).label("last"))
            .where(e.charge_point_id == identity, e.kind.in_(("firmware", "signed_firmware")))
        )
        return (row.last or 0) + 1 if row is not None else 1

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
    ) -> Reply[DiagnosticsUpload]:
        """The charge point uploads a diagnostics file to `location`; its answer names the file,
        status notifications report the upload."""
        problems = _location_problems(location) + _retry_problems(retries, retry_interval)
        if start_time is not None and stop_time is not None and stop_time <= start_time:
            problems.append(Problem(("stop_time",), "must be later than the start time"))
        _require_valid("GetDiagnostics", problems)
        request = UploadDiagnostics(location, start_time, stop_time, retries, retry_interval)
        return await self._commands.send(identity, request, timeout)

    def _tracked(self, request_type: type[Request[Any]]):  # type: ignore[no-untyped-def]
        kind = _KINDS[request_type]

        async def effect(identity: str, request: Request[Any], send: Send[Request[Any]]) -> Reply[Any]:
            require_storable(request, "request_id")
            reply = await send(request)
            # A firmware update and a diagnostics upload are never refused in 1.6; a log upload
            # and a signed firmware update answer a status.
            answer = reply.result.status
            status = REQUESTED if answer in _GOING_AHEAD else answer
            request_id = getattr(request, "request_id", None)
            await self._store.write(
                lambda conn: conn.execute(
                    t.charge_point_events.insert().values(
                        charge_point_id=identity,
                        kind=kind,
                        status=status,
                        request_id=request_id,
                        timestamp=now(),
                        # The exchange as it went over the wire, for an operator reading the history.
                        detail={"action": reply.action, "request": dict(reply.request), "response": dict(reply.answer)},
                    )
                )
            )
            self._bus.publish(Event(f"{kind}.requested", identity, {"status": status, "request_id": request_id}))
            return reply

        return effect


# An absolute URI (RFC 3986): a scheme, then no white space. The file is fetched by the charge point.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def _location_problems(location: str) -> list[Problem]:
    if _URI.fullmatch(location):
        return []
    return [Problem(("location",), f"{location[:80]!r} is not an absolute URI (scheme://host/path)")]


def _retry_problems(retries: int | None, retry_interval: int | None) -> list[Problem]:
    return [Problem((name,), "must be 0 or more")
            for name, value in (("retries", retries), ("retry_interval", retry_interval))
            if value is not None and value < 0]


def _require_valid(what: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidRequest(what, problems)

