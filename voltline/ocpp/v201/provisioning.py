"""Booting, heartbeats, status per EVSE and connector, authorization and the notifications of a 2.0.1 charge point (B, C, G, J, L, N blocks of OCPP 2.0.1 Part 2)."""

from __future__ import annotations

from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.context import Context


async def boot_notification(ctx: Context, p: Payload) -> Payload:
    """The station's identity and its registration, with the same policy as 1.6 (B01-B03)."""
    station = p["chargingStation"]
    modem = station.get("modem") or {}
    result = await ctx.services.charge_points.boot(  # type: ignore[attr-defined]
        ctx.identity,
        vendor=station["vendorName"],
        model=station["model"],
        serial_number=station.get("serialNumber"),
        firmware_version=station.get("firmwareVersion"),
        iccid=modem.get("iccid"),
        imsi=modem.get("imsi"),
    )
    ctx.registration_status = result.status
    ctx.triggered = None
    return {"status": result.status, "currentTime": timestamps.format(result.current_time), "interval": result.interval}


async def heartbeat(ctx: Context, p: Payload) -> Payload:
    return {"currentTime": timestamps.format(ctx.services.charge_points.heartbeat(ctx.identity))}  # type: ignore[attr-defined]


HANDLERS: dict[str, Handler201] = {"BootNotification": boot_notification, "Heartbeat": heartbeat}
ENCODERS: Encoders = {}
READERS: Readers = {}
ANSWERS: Answers = {}
