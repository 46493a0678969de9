"""The 2.0.1 outbound translators: every domain request that 2.0.1 can say becomes a payload the
official 2.0.1 schema accepts and reads back as the same request; 1.6's words and numbering come
out as 2.0.1's; each answer that carries more than a status reads as its result."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voltline.ocpp import commands as c
from voltline.ocpp.schemas import OCPP201, validators
from voltline.ocpp.v16 import outbound as outbound16
from voltline.ocpp.v201 import outbound

T0 = datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC)
T1 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
PROFILE = c.ChargingProfileSpec(
    7, 1, "TxProfile", "Recurring",
    c.ChargingSchedule("A", (c.SchedulePeriod(0, 16.0), c.SchedulePeriod(3600, 8.0, 3)), 7200, T1, 6.0),
    "Daily", None, T1, datetime(2027, 1, 1, tzinfo=UTC),
)
HASH = c.CertificateHash("SHA256", "a1" * 32, "b2" * 32, "beef")
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

# Requests in 2.0.1's terms: they read back exactly.
REQUESTS: list[c.Request] = [  # type: ignore[type-arg]
    c.StartCharging("TAG-1", evse_id=2, id_token_type="ISO14443", remote_start_id=41, charging_profile=PROFILE),
    c.StartCharging("TAG-1", id_token_type="Central", remote_start_id=42),
    c.Reset("Immediate"),
    c.Reset("OnIdle", 2),
    c.UnlockConnector(2, 1),
    c.ChangeAvailability(0, "Inoperative"),
    c.ChangeAvailability(0, "Operative", 2),
    c.ChangeAvailability(2, "Inoperative", 1),
    c.TriggerMessage("Heartbeat"),
    c.TriggerMessage("StatusNotification", 1, 2),
    c.UpdateFirmware("https://fw.example/f.bin", T0, 3, 60, 5),
    c.InstallSignedFirmware(8, "https://fw.example/s.bin", T0, PEM, "c2ln", T1, 1, 5),
    c.UploadLog(9, "SecurityLog", "ftp://logs.example/", T0, T1, 2, 10),
    c.CertificateSigned(PEM),
    c.InstallCertificate("CentralSystemRootCertificate", PEM),
    c.InstallCertificate("V2GRootCertificate", PEM),
    c.GetInstalledCertificateIds("ManufacturerRootCertificate"),
    c.DeleteCertificate(HASH),
    c.InstallChargingProfile(2, PROFILE),
    c.InstallChargingProfile(0, c.ChargingProfileSpec(3, 0, "ChargePointMaxProfile", "Absolute",
                                                      c.ChargingSchedule("W", (c.SchedulePeriod(0, 11000.0),)))),
    c.ClearChargingProfiles(profile_id=7),
    c.ClearChargingProfiles(connector_id=1, purpose="ChargePointMaxProfile", stack_level=0),
    c.ReserveConnector(501, 2, "TAG-1", T0, "GROUP", "ISO14443"),
    c.CancelReservation(501),
    c.SendLocalList(3, "Differential", (c.LocalListChange("A", c.IdTagInfo("Accepted", T0, "P"), "ISO14443"),
                                        c.LocalListChange("B", None, "eMAID"))),
    c.SendLocalList(1, "Full"),
    c.GetLocalListVersion(),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_a_request_goes_out_as_valid_201_and_reads_back_the_same(request_: c.Request) -> None:  # type: ignore[type-arg]
    action, payload = outbound.encode(request_)
    assert action in outbound.CENTRAL_SYSTEM_ACTIONS
    validators(OCPP201).validate_request(action, payload)
    assert outbound.read_request(action, payload) == request_


def test_the_remote_start_names_the_token_with_its_type_and_the_remote_start() -> None:
    action, payload = outbound.encode(c.StartCharging("TAG-1", 2, remote_start_id=17))
    assert (action, payload) == ("RequestStartTransaction", {
        "remoteStartId": 17, "idToken": {"idToken": "TAG-1", "type": "Central"}, "evseId": 2})
    _, with_profile = outbound.encode(c.StartCharging("T", remote_start_id=1, charging_profile=PROFILE))
    schedules = with_profile["chargingProfile"]["chargingSchedule"]
    assert isinstance(schedules, list) and schedules[0]["id"] == 7 and schedules[0]["chargingRateUnit"] == "A"
    with pytest.raises(c.Inexpressible):  # the remote start's id is what links the transaction
        outbound.encode(c.StartCharging("TAG-1"))


def test_16_words_and_numbering_come_out_as_201() -> None:
    assert outbound.encode(c.StopCharging(12)) == ("RequestStopTransaction", {"transactionId": "12"})
    assert outbound.encode(c.StopCharging(12, "a7f3-tx")) == ("RequestStopTransaction", {"transactionId": "a7f3-tx"})
    assert outbound.encode(c.Reset("Hard")) == ("Reset", {"type": "Immediate"})
    assert outbound.encode(c.Reset("Soft")) == ("Reset", {"type": "OnIdle"})
    assert outbound.encode(c.UnlockConnector(3)) == ("UnlockConnector", {"evseId": 3, "connectorId": 1})
    assert outbound.encode(c.ChangeAvailability(3, "Inoperative")) == (
        "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 3}})
    assert outbound.encode(c.TriggerMessage("MeterValues", 2)) == (
        "TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 2}})
    assert outbound.encode(c.ExtendedTriggerMessage("SignChargePointCertificate")) == (
        "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})
    _, installed = outbound.encode(c.InstallCertificate("CentralSystemRootCertificate", PEM))
    assert installed["certificateType"] == "CSMSRootCertificate"
    for request in (c.ReadConfiguration(), c.ChangeConfiguration("K", "V"), c.UploadDiagnostics("ftp://x/"),
                    c.UpdateFirmware("https://fw.example/f.bin", T0)):
        with pytest.raises(c.Inexpressible):
            outbound.encode(request)


def test_201_words_go_out_to_16_as_their_nearest_and_an_evse_16_cannot_name_is_refused() -> None:
    assert outbound16.encode(c.Reset("Immediate")) == ("Reset", {"type": "Hard"})
    assert outbound16.encode(c.Reset("OnIdle")) == ("Reset", {"type": "Soft"})
    assert outbound16.encode(c.ChangeAvailability(0, "Inoperative", 2)) == (
        "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
    assert outbound16.encode(c.StartCharging("T", evse_id=2, remote_start_id=5)) == (
        "RemoteStartTransaction", {"idTag": "T", "connectorId": 2})
    for request in (c.Reset("Soft", 1), c.UnlockConnector(2, 1)):
        with pytest.raises(c.Inexpressible):
            outbound16.encode(request)


def test_requests_with_no_domain_meaning_are_sent_as_written() -> None:
    assert outbound.read_request("ClearCache", {}) is None
    assert outbound.read_request("RequestStopTransaction", {"transactionId": "x"}) is None
    assert outbound.read_request("GetInstalledCertificateIds", {}) is None  # every type at once
    assert outbound.read_request("SetChargingProfile", {"evseId": 1, "chargingProfile": {
        "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
        "transactionId": "tx-1", "chargingSchedule": [
            {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}]}]}}) is None


def test_answers_read_as_results() -> None:
    assert outbound.decode_answer("RequestStartTransaction", {"status": "Accepted", "transactionId": "tx-9"}) == \
        c.StartAnswer("Accepted", "tx-9")
    assert outbound.decode_answer("GetLocalListVersion", {"versionNumber": 4}) == c.LocalListVersionRead(None, 4)
    chain = {"certificateType": "CSMSRootCertificate", "certificateHashData": outbound_hash()}
    assert outbound.decode_answer("GetInstalledCertificateIds", {"status": "Accepted", "certificateHashDataChain": [chain]}) \
        == c.InstalledCertificateIds("Accepted", (HASH,))
    assert outbound.decode_answer("ChangeAvailability", {"status": "Scheduled"}) == c.Answer("Scheduled")


def outbound_hash() -> dict[str, str]:
    return {"hashAlgorithm": HASH.hash_algorithm, "issuerNameHash": HASH.issuer_name_hash,
            "issuerKeyHash": HASH.issuer_key_hash, "serialNumber": HASH.serial_number}


def test_a_trigger_lets_its_message_through() -> None:
    assert outbound.triggered("TriggerMessage", {"requestedMessage": "Heartbeat"}) == ("Heartbeat", None)
    assert outbound.triggered("TriggerMessage", {"requestedMessage": "StatusNotification"}) == ("StatusNotification", 60.0)
    assert outbound.triggered("TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1}}) == (
        "StatusNotification", None)
    assert outbound.triggered("TriggerMessage", {"requestedMessage": "SignV2GCertificate"}) == ("SignCertificate", None)
    assert outbound.triggered("Reset", {"type": "Immediate"}) is None


def test_a_profile_for_a_transaction_goes_out_with_the_stations_name_for_it() -> None:
    spec = c.ChargingProfileSpec(5, 0, "TxProfile", "Relative", c.ChargingSchedule("A", (c.SchedulePeriod(0, 6.0),)),
                                 transaction_id=12)
    with pytest.raises(c.Inexpressible):  # Voltline's id means nothing to the station
        outbound.encode(c.InstallChargingProfile(1, spec))
    from dataclasses import replace

    action, payload = outbound.encode(c.InstallChargingProfile(1, replace(spec, ocpp_transaction_id="tx-12")))
    validators(OCPP201).validate_request(action, payload)
    assert payload["chargingProfile"]["transactionId"] == "tx-12"
    assert outbound16.encode(c.InstallChargingProfile(1, replace(spec, ocpp_transaction_id="12")))[1][
        "csChargingProfiles"]["transactionId"] == 12
