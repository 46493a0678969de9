"""A valid example request for every action the Central System sends (OCPP 1.6 and its security
extension), offered by "Send any OCPP command" as the payload to start from.

Each is the action's required fields (and the optional ones an operator usually sets) with
plausible values; a test checks every one against the official schema, so none is a trap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def _at(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def examples() -> dict[str, dict[str, Any]]:
    """Built per page view: the dates in them are relative to now."""
    return {
        "CancelReservation": {"reservationId": 1},
        "CertificateSigned": {"certificateChain": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----"},
        "ChangeAvailability": {"connectorId": 1, "type": "Inoperative"},
        "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "300"},
        "ClearCache": {},
        "ClearChargingProfile": {"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile"},
        "DataTransfer": {"vendorId": "com.example", "messageId": "Hello", "data": ""},
        "DeleteCertificate": {"certificateHashData": {"hashAlgorithm": "SHA256", "issuerNameHash": "0" * 64,
                                                      "issuerKeyHash": "0" * 64, "serialNumber": "01"}},
        "ExtendedTriggerMessage": {"requestedMessage": "StatusNotification", "connectorId": 1},
        "GetCompositeSchedule": {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        "GetConfiguration": {"key": ["HeartbeatInterval"]},
        "GetDiagnostics": {"location": "ftp://diagnostics.example.com/upload/", "retries": 1},
        "GetInstalledCertificateIds": {"certificateType": "CentralSystemRootCertificate"},
        "GetLocalListVersion": {},
        "GetLog": {"logType": "DiagnosticsLog", "requestId": 1,
                   "log": {"remoteLocation": "https://logs.example.com/upload/"}},
        "InstallCertificate": {"certificateType": "CentralSystemRootCertificate",
                               "certificate": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----"},
        "RemoteStartTransaction": {"idTag": "TAG-1", "connectorId": 1},
        "RemoteStopTransaction": {"transactionId": 1},
        "ReserveNow": {"connectorId": 1, "expiryDate": _at(30), "idTag": "TAG-1", "reservationId": 1},
        "Reset": {"type": "Soft"},
        "SendLocalList": {"listVersion": 1, "updateType": "Differential", "localAuthorizationList": [
            {"idTag": "TAG-1", "idTagInfo": {"status": "Accepted"}}]},
        "SetChargingProfile": {"connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute", "chargingSchedule": {
                "chargingRateUnit": "A", "startSchedule": _at(0),
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}},
        "SignedUpdateFirmware": {"requestId": 1, "firmware": {
            "location": "https://firmware.example.com/fw.bin", "retrieveDateTime": _at(5),
            "signingCertificate": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----", "signature": "…"}},
        "TriggerMessage": {"requestedMessage": "StatusNotification", "connectorId": 1},
        "UnlockConnector": {"connectorId": 1},
        "UpdateFirmware": {"location": "https://firmware.example.com/fw.bin", "retrieveDate": _at(5)},
    }
