"""OCPP 2.0.1 messages the Central System sends, translated from and to the domain's requests
(the same four functions as voltline/ocpp/v16/outbound.py), gathered from the block modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp.v201 import device_model, provisioning, remote_control, transactions
from voltline.ocpp.v201.blocks import Answers, Encoders, Payload, Readers, gather

_BLOCKS = (provisioning, transactions, device_model, remote_control)

# Every message the CSMS sends in OCPP 2.0.1.
CENTRAL_SYSTEM_ACTIONS = (
    "CancelReservation", "CertificateSigned", "ChangeAvailability", "ClearCache", "ClearChargingProfile",
    "ClearDisplayMessage", "ClearVariableMonitoring", "CostUpdated", "CustomerInformation", "DataTransfer",
    "DeleteCertificate", "GetBaseReport", "GetChargingProfiles", "GetCompositeSchedule", "GetDisplayMessages",
    "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog", "GetMonitoringReport", "GetReport",
    "GetTransactionStatus", "GetVariables", "InstallCertificate", "PublishFirmware", "RequestStartTransaction",
    "RequestStopTransaction", "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile", "SetDisplayMessage",
    "SetMonitoringBase", "SetMonitoringLevel", "SetNetworkProfile", "SetVariableMonitoring", "SetVariables",
    "TriggerMessage", "UnlockConnector", "UnpublishFirmware", "UpdateFirmware",
)

_ENCODERS: Encoders = gather(block.ENCODERS for block in _BLOCKS)
_READERS: Readers = gather(block.READERS for block in _BLOCKS)
_ANSWERS: Answers = gather(block.ANSWERS for block in _BLOCKS)


def encode(request: c.Request[Any]) -> tuple[str, Payload]:
    """The 2.0.1 action and payload that ask for `request`."""
    entry = _ENCODERS.get(type(request))
    if entry is None:
        raise c.Inexpressible(f"OCPP 2.0.1 has no message for {type(request).__name__}")
    action, build = entry
    return action, build(request)


def read_request(action: str, payload: Payload) -> c.Request[Any] | None:
    """The domain request a 2.0.1 request means; None for one with no domain meaning: it is sent
    as it is and has no effect to apply."""
    read = _READERS.get(action)
    return read(payload) if read is not None else None


def _status(p: Mapping[str, Any]) -> str | None:
    status = p.get("status")
    return status if isinstance(status, str) else None


def decode_answer(action: str, answer: Mapping[str, Any]) -> c.Answer:
    """The result a 2.0.1 answer to `action` means."""
    read = _ANSWERS.get(action)
    return read(answer) if read is not None else c.Answer(_status(answer))


def triggered(action: str, payload: Mapping[str, Any]) -> tuple[str, float | None] | None:
    """The message a TriggerMessage asks for, and for how long it may keep coming (None: once),
    so a station not yet Accepted is served it (B02.FR.04): what a TriggerMessage asks for, and
    the NotifyReports a report request brings."""
    return remote_control.triggered(action, payload) or device_model.report_triggered(action)
