"""Booting, heartbeats, status per EVSE and connector, authorization and the notifications of a 2.0.1 charge point (B, C, G, J, L, N blocks of OCPP 2.0.1 Part 2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp import station_notices as notices
from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.context import Context
from voltline.ocpp.v201.tokens import id_token_info, read_id_token

# The one kind of certificate Voltline's CA signs: a charging station's own (A02/A03). A V2G
# certificate needs the 15118 PKI, which Voltline is not.
STATION_CERTIFICATE = "ChargingStationCertificate"
_ONLY_STATION = "only ChargingStationCertificate requests are signed"


def _iso(value: datetime) -> str:
    return timestamps.format(value)


def _timestamp(value: str | None) -> datetime | None:
    return None if value is None else timestamps.parse(value)


async def boot_notification(ctx: Context, p: Payload) -> Payload:
    station = p["chargingStation"]
    modem = station.get("modem") or {}
    result = await ctx.services.charge_points.boot(
        ctx.identity,
        vendor=station["vendorName"],
        model=station["model"],
        serial_number=station.get("serialNumber"),
        firmware_version=station.get("firmwareVersion"),
        iccid=modem.get("iccid"),
        imsi=modem.get("imsi"),
        reason=p["reason"],
    )
    ctx.registration_status = result.status
    # What a trigger allowed before this boot does not outlive it.
    ctx.triggered = None
    # No reconciliation of open transactions after the reboot, as 1.6 needs: a 2.0.1 station
    # keeps its transactions' events queued and reports each one's end itself (block E).
    # Last before the answer: what it schedules (a first inventory) is sent after the answer is out.
    ctx.services.device_model.inventory_after_boot(ctx.identity, result.status)
    return {"status": result.status, "currentTime": _iso(result.current_time), "interval": result.interval}


async def heartbeat(ctx: Context, p: Payload) -> Payload:
    return {"currentTime": _iso(ctx.services.charge_points.heartbeat(ctx.identity))}


async def status_notification(ctx: Context, p: Payload) -> Payload:
    await ctx.services.charge_points.status_notification(
        ctx.identity,
        evse_id=p["evseId"],
        connector_id=p["connectorId"],
        status=p["connectorStatus"],
        timestamp=_timestamp(p["timestamp"]),
    )
    return {}


async def authorize(ctx: Context, p: Payload) -> Payload:
    # A token is its value with its type (services/authorization/authorize.py). The ISO 15118
    # certificate checks (certificateStatus) are not done here.
    token, token_type = read_id_token(p["idToken"])
    verdict = await ctx.services.authorization.authorize(token, token_type=token_type, charge_point_id=ctx.identity)
    return {"idTokenInfo": id_token_info(verdict)}


def _event(entry: Mapping[str, Any], generated_at: str, seq_no: int) -> dict[str, Any]:
    component, variable = entry["component"], entry["variable"]
    evse = component.get("evse") or {}
    detail = {
        "event_id": entry["eventId"],
        "trigger": entry["trigger"],
        "event_notification_type": entry["eventNotificationType"],
        "component": component["name"],
        "component_instance": component.get("instance"),
        "evse_id": evse.get("id"),
        "connector_id": evse.get("connectorId"),
        "variable": variable["name"],
        "variable_instance": variable.get("instance"),
        "actual_value": entry["actualValue"],
        "cause": entry.get("cause"),
        "tech_code": entry.get("techCode"),
        "tech_info": entry.get("techInfo"),
        "cleared": entry.get("cleared"),
        "transaction_id": entry.get("transactionId"),
        "variable_monitoring_id": entry.get("variableMonitoringId"),
        "generated_at": generated_at,
        "seq_no": seq_no,
    }
    return {
        "status": entry["trigger"],
        "timestamp": timestamps.parse(entry["timestamp"]),
        "detail": {name: value for name, value in detail.items() if value is not None},
    }


async def notify_event(ctx: Context, p: Payload) -> Payload:
    # Each part of a multi-part report (seqNo, tbc) stands alone: every entry is a whole event.
    events = [_event(entry, p["generatedAt"], p["seqNo"]) for entry in p["eventData"]]
    await ctx.services.charge_points.record_events(ctx.identity, "event", events)
    return {}


async def firmware_status_notification(ctx: Context, p: Payload) -> Payload:
    await ctx.services.charge_points.record_event(ctx.identity, "firmware", p["status"], request_id=p.get("requestId"))
    return {}


async def notify_customer_information(ctx: Context, p: Payload) -> Payload:
    # One event per part; the parts of one request are put together by (requestId, seqNo) when
    # read (services.firmware.views), and `tbc` false marks the last.
    tbc = bool(p.get("tbc", False))
    await ctx.services.charge_points.record_event(
        ctx.identity,
        "customer_information",
        "Continued" if tbc else "Complete",
        request_id=p["requestId"],
        timestamp=_timestamp(p["generatedAt"]),
        detail={"data": p["data"], "seq_no": p["seqNo"], "tbc": tbc},
    )
    return {}


async def sign_certificate(ctx: Context, p: Payload) -> Payload:
    # Only the station's own certificate is signed here (no V2G certificates).
    if p.get("certificateType", STATION_CERTIFICATE) != STATION_CERTIFICATE:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "NotSupported", "additionalInfo": _ONLY_STATION}}
    return await notices.sign_station_certificate(ctx, p["csr"])


HANDLERS: dict[str, Handler201] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "NotifyEvent": notify_event,
    "SecurityEventNotification": notices.security_event_notification,
    "FirmwareStatusNotification": firmware_status_notification,
    "LogStatusNotification": notices.log_status_notification,
    "NotifyCustomerInformation": notify_customer_information,
    "DataTransfer": notices.data_transfer,
    "SignCertificate": sign_certificate,
}

# The certificate a station asked for (SignCertificate) goes out with the type it was signed as.
ENCODERS: Encoders = {
    c.CertificateSigned: (
        "CertificateSigned",
        lambda r: {"certificateChain": r.certificate_chain, "certificateType": STATION_CERTIFICATE},
    ),
}
READERS: Readers = {
    "CertificateSigned": lambda p: c.CertificateSigned(p["certificateChain"]),
}
ANSWERS: Answers = {}
