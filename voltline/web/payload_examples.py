"""A valid example request for every action the Central System sends (OCPP 1.6 and its security
extension; OCPP 2.0.1), offered by "Send any OCPP command" as the payload to start from, in the
version the charge point speaks.

Each is the action's required fields (and the optional ones an operator usually sets) with
plausible values; a test checks every one against the official schema, so none is a trap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def _at(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def examples(ocpp_version: str | None = "1.6") -> dict[str, dict[str, Any]]:
    """Built per page view: the dates in them are relative to now."""
    if ocpp_version == "2.0.1":
        return _examples_201()
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


_CERTIFICATE = "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----"
_TOKEN = {"idToken": "TAG-1", "type": "ISO14443"}
_HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "0" * 64, "issuerKeyHash": "0" * 64, "serialNumber": "01"}
_HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def _examples_201() -> dict[str, dict[str, Any]]:
    return {
        "CancelReservation": {"reservationId": 1},
        "CertificateSigned": {"certificateChain": _CERTIFICATE, "certificateType": "ChargingStationCertificate"},
        "ChangeAvailability": {"operationalStatus": "Inoperative", "evse": {"id": 1}},
        "ClearCache": {},
        "ClearChargingProfile": {"chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile"}},
        "ClearDisplayMessage": {"id": 1},
        "ClearVariableMonitoring": {"id": [1]},
        "CostUpdated": {"totalCost": 4.2, "transactionId": "tx-1"},
        "CustomerInformation": {"requestId": 1, "report": True, "clear": False, "idToken": _TOKEN},
        "DataTransfer": {"vendorId": "com.example", "messageId": "Hello", "data": ""},
        "DeleteCertificate": {"certificateHashData": _HASH},
        "GetBaseReport": {"requestId": 1, "reportBase": "FullInventory"},
        "GetChargingProfiles": {"requestId": 1, "evseId": 1, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}},
        "GetCompositeSchedule": {"duration": 3600, "evseId": 1, "chargingRateUnit": "W"},
        "GetDisplayMessages": {"requestId": 1},
        "GetInstalledCertificateIds": {"certificateType": ["CSMSRootCertificate"]},
        "GetLocalListVersion": {},
        "GetLog": {"logType": "DiagnosticsLog", "requestId": 1,
                   "log": {"remoteLocation": "https://logs.example.com/upload/"}},
        "GetMonitoringReport": {"requestId": 1, "monitoringCriteria": ["ThresholdMonitoring"]},
        "GetReport": {"requestId": 1, "componentCriteria": ["Available"]},
        "GetTransactionStatus": {"transactionId": "tx-1"},
        "GetVariables": {"getVariableData": [_HEARTBEAT]},
        "InstallCertificate": {"certificateType": "CSMSRootCertificate", "certificate": _CERTIFICATE},
        "PublishFirmware": {"location": "https://firmware.example.com/fw.bin", "checksum": "0" * 32, "requestId": 1},
        "RequestStartTransaction": {"remoteStartId": 1, "idToken": _TOKEN, "evseId": 1},
        "RequestStopTransaction": {"transactionId": "tx-1"},
        "ReserveNow": {"id": 1, "expiryDateTime": _at(30), "idToken": _TOKEN, "evseId": 1},
        "Reset": {"type": "OnIdle"},
        "SendLocalList": {"versionNumber": 1, "updateType": "Differential", "localAuthorizationList": [
            {"idToken": _TOKEN, "idTokenInfo": {"status": "Accepted"}}]},
        "SetChargingProfile": {"evseId": 1, "chargingProfile": {
            "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "startSchedule": _at(0),
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}},
        "SetDisplayMessage": {"message": {"id": 1, "priority": "NormalCycle",
                                          "message": {"format": "UTF8", "content": "Welcome"}}},
        "SetMonitoringBase": {"monitoringBase": "All"},
        "SetMonitoringLevel": {"severity": 5},
        "SetNetworkProfile": {"configurationSlot": 1, "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms.example.com/ocpp",
            "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}},
        "SetVariableMonitoring": {"setMonitoringData": [{"value": 60, "type": "UpperThreshold", "severity": 5,
                                                         **_HEARTBEAT}]},
        "SetVariables": {"setVariableData": [{"attributeValue": "300", **_HEARTBEAT}]},
        "TriggerMessage": {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
        "UnlockConnector": {"evseId": 1, "connectorId": 1},
        "UnpublishFirmware": {"checksum": "0" * 32},
        "UpdateFirmware": {"requestId": 1, "firmware": {"location": "https://firmware.example.com/fw.bin",
                                                         "retrieveDateTime": _at(5)}},
    }
