"""Payloads of lenient actions, made fit for their handlers.

An operator marks an action lenient for a charger that deviates from the schema: its payload is
served although validation failed, so a handler cannot rely on any field being there or having
its type. Here each field a handler reads is brought into shape once, before the handler runs:
a number sent as a string is read as the number, a string too long is cut to its OCPP length, a
field that is missing or cannot be read takes a default where OCPP defines one or one is
harmless (an empty model, the time of arrival), and a field the message cannot do without (the
transactionId of a StopTransaction) is answered with the schema's CALLERROR code, as a strict
charge point would be. Only lenient actions pay for this; strict payloads were validated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voltline.ocpp import timestamps
from voltline.ocpp.frames import ErrorCode
from voltline.ocpp.rpc import OcppError

Payload = dict[str, Any]
INT32 = (-(2**31), 2**31 - 1)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # no default: without the field the message cannot be served


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    read: Callable[[Any, int | None], Any]  # raises ValueError for what cannot be read
    default: Any = None  # None: left out; REQUIRED; a value; or a callable giving one
    max_length: int | None = None


def _string(value: Any, max_length: int | None) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("not a string")
    text = value if isinstance(value, str) else str(value)
    return text[:max_length] if max_length else text


def _integer(value: Any, _: int | None) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, str):
        value = float(value.strip())
    if not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise ValueError("not an integer")
    number = int(value)
    if not INT32[0] <= number <= INT32[1]:
        raise ValueError("out of range")
    return number


def _timestamp(value: Any, _: int | None) -> str:
    if not isinstance(value, str):
        raise ValueError("not a dateTime")
    timestamps.parse(value)  # raises ValueError
    return value


def _now() -> str:
    return timestamps.format(datetime.now(UTC))


def _sampled_value(value: Any) -> Payload | None:
    if not isinstance(value, dict) or "value" not in value:
        return None
    try:
        sample: Payload = {"value": _string(value["value"], None)}
    except ValueError:
        return None
    for name in ("context", "format", "measurand", "phase", "location", "unit"):
        if name in value:
            try:
                sample[name] = _string(value[name], 64)
            except ValueError:
                pass  # OCPP's default applies
    return sample


def _meter_values(value: Any, _: int | None) -> list[Payload]:
    """The entries that can be read: a timestamp (the time of arrival if none), and the samples
    that have a value."""
    if not isinstance(value, list):
        raise ValueError("not an array")
    entries = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("sampledValue"), list):
            continue
        samples = [s for s in map(_sampled_value, entry["sampledValue"]) if s is not None]
        if not samples:
            continue
        try:
            at = _timestamp(entry.get("timestamp"), None)
        except ValueError:
            at = _now()
        entries.append({"timestamp": at, "sampledValue": samples})
    return entries


def _text(name: str, max_length: int, default: Any = None) -> Field:
    return Field(name, _string, default, max_length)


def _number(name: str, default: Any = None) -> Field:
    return Field(name, _integer, default)


def _time(name: str, default: Any = None) -> Field:
    return Field(name, _timestamp, default)


_STATUS = _text("status", 16, REQUIRED)

FIELDS: dict[str, tuple[Field, ...]] = {
    "BootNotification": (
        _text("chargePointVendor", 20, ""),
        _text("chargePointModel", 20, ""),
        _text("chargePointSerialNumber", 25),
        _text("chargeBoxSerialNumber", 25),
        _text("firmwareVersion", 50),
        _text("iccid", 20),
        _text("imsi", 20),
        _text("meterType", 25),
        _text("meterSerialNumber", 25),
    ),
    "StatusNotification": (
        _number("connectorId", REQUIRED),
        _text("errorCode", 32, "NoError"),
        _STATUS,
        _text("info", 50),
        _time("timestamp"),  # absent: the time of arrival
        _text("vendorId", 255),
        _text("vendorErrorCode", 50),
    ),
    "Authorize": (_text("idTag", 20, REQUIRED),),
    "StartTransaction": (
        _number("connectorId", REQUIRED),
        _text("idTag", 20, REQUIRED),
        _number("meterStart", REQUIRED),  # the session's energy is counted from it
        _time("timestamp", _now),
        _number("reservationId"),
    ),
    "StopTransaction": (
        _number("transactionId", REQUIRED),
        _number("meterStop", REQUIRED),
        _time("timestamp", _now),
        _text("idTag", 20),
        _text("reason", 32),  # absent: Local, as OCPP has it
        Field("transactionData", _meter_values),
    ),
    "MeterValues": (
        _number("connectorId", REQUIRED),
        _number("transactionId"),
        Field("meterValue", _meter_values, list),
    ),
    "DiagnosticsStatusNotification": (_STATUS,),
    "FirmwareStatusNotification": (_STATUS,),
    "SecurityEventNotification": (_text("type", 50, REQUIRED), _time("timestamp", _now), _text("techInfo", 255)),
    "SignedFirmwareStatusNotification": (_STATUS, _number("requestId")),
    "LogStatusNotification": (_STATUS, _number("requestId")),
    # No request to read: the certificate authority refuses it (Rejected), as any bad request.
    "SignCertificate": (_text("csr", 5500, ""),),
}


def repair(action: str, payload: Any) -> Payload:
    """`payload` with every field the handler of `action` reads present and of its type, or
    OcppError with the code a strict validation would have answered."""
    fields = FIELDS.get(action)
    if not isinstance(payload, dict):
        raise OcppError(ErrorCode.FORMATION_VIOLATION, f"the {action} payload is not an object")
    if fields is None:  # the handler reads nothing of it
        return payload
    repaired: Payload = {}
    for field in fields:
        value = payload.get(field.name)
        if value is not None:
            try:
                repaired[field.name] = field.read(value, field.max_length)
                continue
            except ValueError:
                if field.default is REQUIRED:
                    raise OcppError(
                        ErrorCode.TYPE_CONSTRAINT_VIOLATION, f"{action}.{field.name} cannot be read: {value!r:.60}"
                    ) from None
        if field.default is REQUIRED:
            raise OcppError(ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION, f"{action} without {field.name}")
        if field.default is not None:
            repaired[field.name] = field.default() if callable(field.default) else field.default
    return repaired
