"""Firmware updates, diagnostics and log uploads: each request is kept in the charge point's event
history, next to the status notifications that follow it (stored by ChargePointService)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


from voltline.bus.events import Event, EventBus
from voltline.services.clock import iso, now
from voltline.services.remote_control.commands import CommandService, Payload, Send, require_storable
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

