"""How the dashboard shows logged OCPP frames: payloads indented, and the actions to filter by."""

from __future__ import annotations

import json

# Every OCPP 1.6 action, for the message log's filter: a fixed list costs no scan of the log.
OCPP16_ACTIONS = sorted([
    "Authorize", "BootNotification", "CancelReservation", "CertificateSigned", "ChangeAvailability",
    "ChangeConfiguration", "ClearCache", "ClearChargingProfile", "DataTransfer", "DeleteCertificate",
    "DiagnosticsStatusNotification", "ExtendedTriggerMessage", "FirmwareStatusNotification",
    "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetInstalledCertificateIds",
    "GetLocalListVersion", "GetLog", "Heartbeat", "InstallCertificate", "LogStatusNotification", "MeterValues",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SecurityEventNotification",
    "SendLocalList", "SetChargingProfile", "SignCertificate", "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware", "StartTransaction", "StatusNotification", "StopTransaction", "TriggerMessage",
    "UnlockConnector", "UpdateFirmware",
])


def pretty(raw: str) -> str:
    """A frame's payload, indented; the frame verbatim when it is not JSON."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(frame, list) and frame:
        payload = {2: 3, 3: 2, 4: 3}.get(frame[0]) if isinstance(frame[0], int) else None
        if payload is not None and len(frame) > payload:
            body = frame[payload] if frame[0] != 4 else {"errorCode": frame[2], "errorDescription": frame[3],
                                                           "errorDetails": frame[4] if len(frame) > 4 else {}}
            return json.dumps(body, indent=2, ensure_ascii=False)
    return json.dumps(frame, indent=2, ensure_ascii=False)
