"""The 1.6 outbound translators: every domain request becomes a payload the official 1.6 schema
accepts, reads back as the same request, and each answer reads as its result."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voltline.ocpp import commands as c
from voltline.ocpp.schemas import validators
from voltline.ocpp.v16 import outbound

T0 = datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC)
T1 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
PROFILE = c.ChargingProfileSpec(
    7, 1, "TxProfile", "Recurring",
    c.ChargingSchedule("A", (c.SchedulePeriod(0, 16.0), c.SchedulePeriod(3600, 8.0, 3)), 7200, T1, 6.0),
    "Daily", 42, T1, datetime(2027, 1, 1, tzinfo=UTC),
)

HASH = c.CertificateHash("SHA256", "a1" * 32, "b2" * 32, "beef")

REQUESTS: list[c.Request] = [  # type: ignore[type-arg]
    c.StartCharging("TAG-1"),
    c.StartCharging("TAG-1", 2, PROFILE),
    c.StopCharging(12),
    c.Reset("Hard"),
    c.UnlockConnector(1),
    c.ChangeAvailability(0, "Inoperative"),
    c.TriggerMessage("StatusNotification", 1),
    c.ReserveConnector(501, 0, "TAG-1", T0, "GROUP"),
    c.CancelReservation(501),
    c.SendLocalList(3, "Differential", (c.LocalListChange("A", c.IdTagInfo("Accepted", T0, "P")),
                                        c.LocalListChange("B", None))),
    c.SendLocalList(1, "Full"),
    c.GetLocalListVersion(),
    c.InstallChargingProfile(2, PROFILE),
    c.ClearChargingProfiles(profile_id=7),
    c.ClearChargingProfiles(connector_id=1, purpose="TxDefaultProfile", stack_level=0),
    c.ReadConfiguration(),
    c.ReadConfiguration(("HeartbeatInterval",)),
    c.ChangeConfiguration("HeartbeatInterval", "60"),
    c.UpdateFirmware("https://fw.example/f.bin", T0, 3, 60),
    c.UploadDiagnostics("ftp://logs.example/", T0, T1, 1, 30),
    c.UploadLog(9, "SecurityLog", "ftp://logs.example/", T0, T1, 2, 10),
    c.InstallSignedFirmware(8, "https://fw.example/s.bin", T0, "-----BEGIN CERT-----", "c2ln", T1, 1, 5),
    c.CertificateSigned("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    c.InstallCertificate("CentralSystemRootCertificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    c.GetInstalledCertificateIds("ManufacturerRootCertificate"),
    c.DeleteCertificate(HASH),
    c.ExtendedTriggerMessage("SignChargePointCertificate"),
    c.ExtendedTriggerMessage("StatusNotification", 2),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_a_request_goes_out_as_valid_16_and_reads_back_the_same(request_: c.Request) -> None:  # type: ignore[type-arg]
    action, payload = outbound.encode(request_)
    assert action in outbound.CENTRAL_SYSTEM_ACTIONS
    validators().validate_request(action, payload)
    assert outbound.read_request(action, payload) == request_


# The device model exists in 2.0.1 only (1.6 has its configuration keys instead).
ONLY_201 = {c.RequestBaseReport, c.RequestReport, c.ReadVariables, c.ChangeVariables, c.ReadTransactionStatus}


def test_every_domain_request_has_a_16_message() -> None:
    kinds = {type(r) for r in REQUESTS}
    every = {k for k in vars(c).values() if isinstance(k, type) and issubclass(k, c.Request) and k is not c.Request}
    assert kinds == every - ONLY_201


def test_answers_read_as_results() -> None:
    configuration = outbound.decode_answer("GetConfiguration", {
        "configurationKey": [{"key": "A", "readonly": True, "value": "1"}, {"key": "B", "readonly": False}],
        "unknownKey": ["C"]})
    assert configuration == c.ConfigurationRead(
        None, (c.ConfigurationValue("A", "1", True), c.ConfigurationValue("B", None, False)), ("C",))
    assert outbound.decode_answer("GetLocalListVersion", {"listVersion": 4}).version == 4  # type: ignore[attr-defined]
    assert outbound.decode_answer("GetDiagnostics", {"fileName": "d.zip"}) == c.DiagnosticsUpload(None, "d.zip")
    assert outbound.decode_answer("GetDiagnostics", {}) == c.DiagnosticsUpload(None, None)
    assert outbound.decode_answer("ReserveNow", {"status": "Occupied"}) == c.Answer("Occupied")
    assert outbound.decode_answer("UpdateFirmware", {}) == c.Answer(None)
    assert outbound.decode_answer("ClearCache", {"status": "Accepted"}).accepted
    ids = {"status": "Accepted", "certificateHashData": [outbound.certificate_hash(HASH)]}
    validators().validate_response("GetInstalledCertificateIds", ids)
    assert outbound.decode_answer("GetInstalledCertificateIds", ids) == c.InstalledCertificateIds("Accepted", (HASH,))
    assert outbound.decode_answer("GetInstalledCertificateIds", {"status": "NotFound"}) == c.InstalledCertificateIds("NotFound")
    assert outbound.decode_answer("DeleteCertificate", {"status": "Failed"}) == c.Answer("Failed")
    assert outbound.decode_answer("CertificateSigned", {"status": "Rejected"}) == c.Answer("Rejected")


def test_what_the_generic_endpoint_sends_without_a_domain_meaning_reads_as_nothing() -> None:
    for action in ("ClearCache", "DataTransfer", "GetCompositeSchedule"):
        assert outbound.read_request(action, {}) is None


def test_a_trigger_lets_its_message_through_once_or_per_connector_for_a_while() -> None:
    assert outbound.triggered("TriggerMessage", {"requestedMessage": "Heartbeat"}) == ("Heartbeat", None)
    assert outbound.triggered("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}) == (
        "StatusNotification", None)
    assert outbound.triggered("ExtendedTriggerMessage", {"requestedMessage": "StatusNotification"}) == (
        "StatusNotification", outbound.PER_CONNECTOR_WITHIN_S)
    assert outbound.triggered("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}) == (
        "SignCertificate", None)
    assert outbound.triggered("Reset", {"type": "Soft"}) is None
