"""Booting, heartbeats, status per EVSE and connector, authorization and the notifications of a 2.0.1 charge point (B, C, G, J, L, N blocks of OCPP 2.0.1 Part 2)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.context import Context


class BootVerdict(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def current_time(self) -> datetime: ...
    @property
    def interval(self) -> int: ...


class ChargePoints(Protocol):
    async def boot(
        self, identity: str, *, vendor: str, model: str, serial_number: str | None = None,
        firmware_version: str | None = None, iccid: str | None = None, imsi: str | None = None,
    ) -> BootVerdict: ...


async def boot_notification(ctx: Context, p: Payload) -> Payload:
    station = p["chargingStation"]
    modem = station.get("modem") or {}
    verdict = await ctx.services.charge_points.boot(
        ctx.identity, vendor=station["vendorName"], model=station["model"], serial_number=station.get("serialNumber"),
        firmware_version=station.get("firmwareVersion"), iccid=modem.get("iccid"), imsi=modem.get("imsi"),
    )
    ctx.registration_status = verdict.status
    ctx.triggered = None
    # Last before the answer: what it schedules is sent after the answer is out.
    ctx.services.device_model.inventory_after_boot(ctx.identity, verdict.status)
    return {"currentTime": timestamps.format(verdict.current_time), "interval": verdict.interval, "status": verdict.status}


HANDLERS: dict[str, Handler201] = {"BootNotification": boot_notification}
ENCODERS: Encoders = {}
READERS: Readers = {}
ANSWERS: Answers = {}
