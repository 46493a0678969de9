import pytest

from voltline.ocpp.schemas import SchemaViolation, validators

CP_TO_CS = {
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
    "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification", "StopTransaction",
    "SecurityEventNotification", "SignedFirmwareStatusNotification", "LogStatusNotification", "SignCertificate",
}
CS_TO_CP = {
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache", "ClearChargingProfile",
    "DataTransfer", "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetLocalListVersion",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList", "SetChargingProfile",
    "TriggerMessage", "UnlockConnector", "UpdateFirmware", "ExtendedTriggerMessage", "GetLog", "SignedUpdateFirmware",
    "InstallCertificate", "GetInstalledCertificateIds", "DeleteCertificate", "CertificateSigned",
}


def test_every_ocpp16_and_security_extension_action_is_compiled_once() -> None:
    assert validators() is validators()
    assert validators().actions == CP_TO_CS | CS_TO_CP


def test_valid_payloads_pass() -> None:
    v = validators()
    v.validate_request("StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-01-01T00:00:00.000Z"})
    v.validate_response("Heartbeat", {"currentTime": "2026-01-01T00:00:00Z"})


@pytest.mark.parametrize(
    ("payload", "code", "where"),
    [
        ({"chargePointModel": "M"}, "OccurenceConstraintViolation", "chargePointVendor"),
        ({"chargePointVendor": 1, "chargePointModel": "M"}, "TypeConstraintViolation", "payload.chargePointVendor"),
        ({"chargePointVendor": "V" * 21, "chargePointModel": "M"}, "PropertyConstraintViolation", "payload.chargePointVendor"),
        ({"chargePointVendor": "V", "chargePointModel": "M", "x": 1}, "FormationViolation", "x"),
    ],
)
def test_violations_name_the_code_and_the_field(payload: dict, code: str, where: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SchemaViolation) as violation:
        validators().validate_request("BootNotification", payload)
    assert violation.value.code == code
    assert where in violation.value.description


def test_a_violation_deep_in_a_list_names_its_place() -> None:
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "yesterday", "sampledValue": [{"value": "1"}]}]}
    with pytest.raises(SchemaViolation) as violation:
        validators().validate_request("MeterValues", payload)
    assert violation.value.code == "PropertyConstraintViolation"
    assert violation.value.description.startswith("payload.meterValue[0].timestamp: ")


def test_a_huge_offending_value_is_not_echoed_whole() -> None:
    with pytest.raises(SchemaViolation) as violation:
        validators().validate_request("BootNotification", {"chargePointVendor": "V" * 1_000_000, "chargePointModel": "M"})
    assert violation.value.code == "PropertyConstraintViolation"
    assert violation.value.description.startswith("payload.chargePointVendor: ")
    assert len(violation.value.description) < 300
