"""OCPP 1.6 messages a charge point sends, translated to service calls and back.

Nothing here decides anything: the rules live in the services, which serve every OCPP version.
This module only knows the 1.6 field names and shapes. The services are reached through the
`Services` protocol, so the protocol layer imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from voltline.ocpp import domain_needs as needs
from voltline.ocpp import station_notices as notices
from voltline.ocpp import timestamps
from voltline.ocpp.frames import ErrorCode
from voltline.ocpp.registration import RegistrationGate
from voltline.ocpp.rpc import OcppError
from voltline.ocpp.v16 import lenient
from voltline.ocpp.v16.outbound import ID_TAG_LENGTH

Payload = dict[str, Any]


IdTagVerdict = needs.IdVerdict


class Started(Protocol):
    @property
    def transaction_id(self) -> int: ...
    @property
    def id_tag_info(self) -> IdTagVerdict: ...


class ChargePointAccess(Protocol):
    @property
    def lenient_actions(self) -> frozenset[str]: ...


class ChargePoints(needs.StationRecords, Protocol):
    async def boot(
        self, identity: str, *, vendor: str, model: str, serial_number: str | None = None,
        charge_box_serial_number: str | None = None, firmware_version: str | None = None, iccid: str | None = None,
        imsi: str | None = None, meter_type: str | None = None, meter_serial_number: str | None = None,
    ) -> needs.BootVerdict: ...

    async def status_notification(
        self, identity: str, *, connector_id: int, status: str, error_code: str = "NoError", info: str | None = None,
        vendor_id: str | None = None, vendor_error_code: str | None = None, timestamp: datetime | None = None,
    ) -> bool: ...

    def access(self, identity: str) -> ChargePointAccess | None: ...


class Authorization(Protocol):
    async def authorize(self, id_tag: str, *, charge_point_id: str | None = None) -> IdTagVerdict: ...


class Transactions(needs.MeteredTransactions, Protocol):
    async def connector_reported(
        self, identity: str, connector_id: int, status: str, timestamp: datetime | None
    ) -> object: ...

    async def start(
        self, identity: str, connector_id: int, id_tag: str, meter_start: int, timestamp: datetime,
        reservation_id: int | None = None,
    ) -> Started: ...

    async def stop(
        self, identity: str, transaction_id: int, meter_stop: int, timestamp: datetime, *, id_tag: str | None = None,
        reason: str | None = None, transaction_data: list[dict[str, Any]] | None = None,
    ) -> IdTagVerdict | None: ...


class Services(Protocol):
    """What the 1.6 handlers need from the domain (see voltline/services), as it is structured
    there, so the protocol layer imports none of it."""

    @property
    def charge_points(self) -> ChargePoints: ...
    @property
    def authorization(self) -> Authorization: ...
    @property
    def transactions(self) -> Transactions: ...
    @property
    def certificates(self) -> needs.Certificates: ...


class Context(RegistrationGate):
    """One connected 1.6 charge point, as its handlers see it."""

    __slots__ = ("services", "lenient")

    def __init__(self, identity: str, services: Services, registration_status: str = "Accepted") -> None:
        RegistrationGate.__init__(self, identity, registration_status)
        self.services = services
        # The actions this charge point is served despite a payload that breaks the schema (read
        # once per connection, as the RPC session does).
        self.lenient: frozenset[str] | None = None


def _iso(value: datetime) -> str:
    return timestamps.format(value)


def _timestamp(value: str | None) -> datetime | None:
    return None if value is None else timestamps.parse(value)


def _id_tag_info(info: IdTagVerdict) -> Payload:
    result: Payload = {"status": info.status}
    if info.expiry_date is not None:
        result["expiryDate"] = _iso(info.expiry_date)
    # A parent longer than 1.6's idTag (a 2.0.1 token's) cannot be named to a 1.6 charge point: the
    # verdict goes without it, and its cache or local list holds the tag without a group.
    if info.parent_id_tag is not None and len(info.parent_id_tag) <= ID_TAG_LENGTH:
        result["parentIdTag"] = info.parent_id_tag
    return result


async def boot_notification(ctx: Context, p: Payload) -> Payload:
    result = await ctx.services.charge_points.boot(
        ctx.identity,
        vendor=p["chargePointVendor"],
        model=p["chargePointModel"],
        serial_number=p.get("chargePointSerialNumber"),
        charge_box_serial_number=p.get("chargeBoxSerialNumber"),
        firmware_version=p.get("firmwareVersion"),
        iccid=p.get("iccid"),
        imsi=p.get("imsi"),
        meter_type=p.get("meterType"),
        meter_serial_number=p.get("meterSerialNumber"),
    )
    ctx.registration_status = result.status
    ctx.triggered = None
    # A reboot: the connectors' next statuses tell which open transactions it still holds.
    await ctx.services.transactions.rebooted(ctx.identity, result.current_time)
    return {"status": result.status, "currentTime": _iso(result.current_time), "interval": result.interval}


async def heartbeat(ctx: Context, p: Payload) -> Payload:
    return {"currentTime": _iso(ctx.services.charge_points.heartbeat(ctx.identity))}


async def status_notification(ctx: Context, p: Payload) -> Payload:
    timestamp = _timestamp(p.get("timestamp"))
    applied = await ctx.services.charge_points.status_notification(
        ctx.identity,
        connector_id=p["connectorId"],
        status=p["status"],
        error_code=p["errorCode"],
        info=p.get("info"),
        vendor_id=p.get("vendorId"),
        vendor_error_code=p.get("vendorErrorCode"),
        timestamp=timestamp,
    )
    if applied:  # the connector's newest status: after a reboot, it says which session is gone
        await ctx.services.transactions.connector_reported(ctx.identity, p["connectorId"], p["status"], timestamp)
    return {}


async def authorize(ctx: Context, p: Payload) -> Payload:
    info = await ctx.services.authorization.authorize(p["idTag"], charge_point_id=ctx.identity)
    return {"idTagInfo": _id_tag_info(info)}


async def start_transaction(ctx: Context, p: Payload) -> Payload:
    result = await ctx.services.transactions.start(
        ctx.identity,
        connector_id=p["connectorId"],
        id_tag=p["idTag"],
        meter_start=p["meterStart"],
        timestamp=_timestamp(p["timestamp"]),
        reservation_id=p.get("reservationId"),
    )
    return {"transactionId": result.transaction_id, "idTagInfo": _id_tag_info(result.id_tag_info)}


async def stop_transaction(ctx: Context, p: Payload) -> Payload:
    info = await ctx.services.transactions.stop(
        ctx.identity,
        p["transactionId"],
        p["meterStop"],
        _timestamp(p["timestamp"]),
        id_tag=p.get("idTag"),
        reason=p.get("reason"),
        transaction_data=p.get("transactionData"),
    )
    return {"idTagInfo": _id_tag_info(info)} if info is not None else {}


async def meter_values(ctx: Context, p: Payload) -> Payload:
    await ctx.services.transactions.meter_values(
        ctx.identity, p["connectorId"], p.get("transactionId"), p["meterValue"]
    )
    return {}


async def diagnostics_status_notification(ctx: Context, p: Payload) -> Payload:
    await ctx.services.charge_points.record_event(ctx.identity, "diagnostics", p["status"])
    return {}


async def firmware_status_notification(ctx: Context, p: Payload) -> Payload:
    await ctx.services.charge_points.record_event(ctx.identity, "firmware", p["status"])
    return {}


async def signed_firmware_status_notification(ctx: Context, p: Payload) -> Payload:
    await ctx.services.charge_points.record_event(
        ctx.identity, "signed_firmware", p["status"], request_id=p.get("requestId")
    )
    return {}


async def sign_certificate(ctx: Context, p: Payload) -> Payload:
    return await notices.sign_station_certificate(ctx, p["csr"])


Handler16 = Callable[[Context, Payload], Coroutine[Any, Any, Payload]]

_ALWAYS_ALLOWED = frozenset({"BootNotification"})
_NO_ACTIONS: frozenset[str] = frozenset()


def _lenient_actions(ctx: Context) -> frozenset[str]:
    access = ctx.services.charge_points.access(ctx.identity)
    ctx.lenient = access.lenient_actions if access is not None else _NO_ACTIONS
    return ctx.lenient


def _guarded(action: str, handler: Handler16) -> Handler16:
    """Until Accepted, only what OCPP permits (a boot, what was triggered); for a lenient action,
    the payload brought into the shape its handler reads (see lenient.py)."""
    always_allowed = action in _ALWAYS_ALLOWED

    async def guarded(ctx: Context, p: Payload) -> Payload:
        if not always_allowed and ctx.registration_status != "Accepted":
            if not ctx.take(action):
                raise OcppError(
                    ErrorCode.SECURITY_ERROR,
                    f"{action} refused: the charge point's registration is {ctx.registration_status}",
                )
        if action in (ctx.lenient if ctx.lenient is not None else _lenient_actions(ctx)):
            p = lenient.repair(action, p)
        return await handler(ctx, p)

    return guarded


HANDLERS: dict[str, Handler16] = {
    action: _guarded(action, handler)
    for action, handler in {
        "BootNotification": boot_notification,
        "Heartbeat": heartbeat,
        "StatusNotification": status_notification,
        "Authorize": authorize,
        "StartTransaction": start_transaction,
        "StopTransaction": stop_transaction,
        "MeterValues": meter_values,
        "DataTransfer": notices.data_transfer,
        "DiagnosticsStatusNotification": diagnostics_status_notification,
        "FirmwareStatusNotification": firmware_status_notification,
        "SecurityEventNotification": notices.security_event_notification,
        "SignedFirmwareStatusNotification": signed_firmware_status_notification,
        "LogStatusNotification": notices.log_status_notification,
        "SignCertificate": sign_certificate,
    }.items()
}
"""Every CP→CS action of OCPP 1.6 and its security extension."""
