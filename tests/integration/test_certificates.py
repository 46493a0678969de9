"""Voltline as the certificate authority of its charge points, over real WebSockets on SQLite and
PostgreSQL: a charge point of the `ocpp` package asks for a certificate (SignCertificate), gets
it (CertificateSigned), and the operator sees it, and can revoke it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.integration import ca_fixtures, sim_fixtures
from tests.integration.ca_fixtures import CaFiles, ConnectStation, Script, make_csr, with_bad_signature
from tests.integration.sim_fixtures import Central, eventually
from voltline.app import Voltline

ca_files = ca_fixtures.ca_files
server = ca_fixtures.server
server_settings = ca_fixtures.server_settings
ocpp_station = ca_fixtures.ocpp_station
central = sim_fixtures.central

TRIGGER = {"requestedMessage": "SignChargePointCertificate"}


async def _ask_for_certificate(central: Central, identity: str) -> None:
    answer = await central.command(identity, "ExtendedTriggerMessage", TRIGGER)
    assert answer == {"status": "Accepted"}


async def test_a_request_is_signed_delivered_and_listed(
    central: Central, ocpp_station: ConnectStation, ca_files: CaFiles
) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script()
    await ocpp_station("CP-1", script=script)
    await _ask_for_certificate(central, "CP-1")

    await eventually(lambda: script.chains, "the charge point receives CertificateSigned")
    assert script.sign_answers == ["Accepted"]
    leaf, ca = x509.load_pem_x509_certificates(script.chains[0].encode())
    assert ca == ca_files.authority.certificate
    leaf.verify_directly_issued_by(ca_files.authority.certificate)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc >= timedelta(days=365)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=365, minutes=5)

    serial = format(leaf.serial_number, "x")

    async def accepted() -> list[dict]:  # type: ignore[type-arg]
        items = (await central.get("/certificates", charge_point_id="CP-1"))["items"]
        return items if items and items[0]["delivery_status"] == "Accepted" else []

    [listed] = await eventually(accepted, "the certificate is listed as delivered")
    assert listed["serial"] == serial
    assert listed["subject"] == "CN=CP-1"
    assert listed["state"] == "Valid"
    assert listed["not_after"].startswith(leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S"))
    detail = await central.get(f"/certificates/{serial}")
    assert x509.load_pem_x509_certificate(detail["pem"].encode()) == leaf
    assert (await central.get("/certificates", state="Expired"))["total"] == 0
    assert (await central.get("/certificates", charge_point_id="CP-2"))["total"] == 0


@pytest.mark.parametrize(
    "csr, reason",
    [
        (lambda identity: make_csr("CP-OTHER")[0], "CN must be the charge point's identity"),
        (lambda identity: make_csr(identity, rsa.generate_private_key(65537, 1024))[0], "1024 bits is too short"),
        (lambda identity: with_bad_signature(make_csr(identity)[0]), "signature does not verify"),
        (lambda identity: "not a request", "not a PEM certificate signing request"),
    ],
    ids=["wrong-cn", "short-rsa", "bad-signature", "not-pem"],
)
async def test_a_bad_request_is_rejected_and_recorded(
    central: Central, ocpp_station: ConnectStation, server: Voltline, csr: object, reason: str
) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script(csr=csr)  # type: ignore[arg-type]
    await ocpp_station("CP-1", script=script)
    await _ask_for_certificate(central, "CP-1")

    await eventually(lambda: script.sign_answers, "the charge point gets its SignCertificate answer")
    assert script.sign_answers == ["Rejected"]
    [event] = await central.wait_event("CP-1", "security", "CertificateSigningRejected")
    assert reason in event["detail"]["reason"]
    assert (await central.get("/certificates"))["total"] == 0
    await server.services.certificates.deliveries_done()
    assert script.chains == []


async def test_an_rsa_2048_request_is_signed(central: Central, ocpp_station: ConnectStation) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script(csr=lambda identity: make_csr(identity, rsa.generate_private_key(65537, 2048))[0])
    await ocpp_station("CP-1", script=script)
    await _ask_for_certificate(central, "CP-1")
    await eventually(lambda: script.chains, "the charge point receives CertificateSigned")
    assert script.sign_answers == ["Accepted"]


async def test_a_revoked_certificate_is_known_as_revoked(
    central: Central, ocpp_station: ConnectStation, server: Voltline
) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script()
    await ocpp_station("CP-1", script=script)
    await _ask_for_certificate(central, "CP-1")
    await eventually(lambda: script.chains, "the charge point receives CertificateSigned")
    leaf = x509.load_pem_x509_certificates(script.chains[0].encode())[0]
    certificates = server.services.certificates
    assert await certificates.is_revoked(leaf.serial_number) is False

    revoked = await central.post(f"/certificates/{leaf.serial_number:x}/revoke", {"reason": "key compromised"})
    assert revoked["state"] == "Revoked"
    assert revoked["revocation_reason"] == "key compromised"
    assert revoked["revoked_at"] is not None
    assert await certificates.is_revoked(leaf.serial_number) is True
    assert await certificates.valid_for("CP-1") is None
    assert [c["serial"] for c in (await central.get("/certificates", state="Revoked"))["items"]] == [revoked["serial"]]
    assert (await central.get("/certificates", state="Valid"))["total"] == 0
    again = await central.api.post(f"/api/v1/certificates/{leaf.serial_number:x}/revoke", json={})
    assert again.status_code == 409
    unknown = await central.api.post("/api/v1/certificates/abc123/revoke", json={})
    assert unknown.status_code == 404
    assert await certificates.is_revoked(0xABC123) is False


async def test_a_certificate_the_charge_point_refuses_is_kept_as_refused(
    central: Central, ocpp_station: ConnectStation, server: Voltline
) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script(certificate_signed="Rejected")
    await ocpp_station("CP-1", script=script)
    await _ask_for_certificate(central, "CP-1")
    [event] = await central.wait_event("CP-1", "security", "CertificateNotInstalled")
    [listed] = (await central.get("/certificates", charge_point_id="CP-1"))["items"]
    assert listed["delivery_status"] == "Rejected" and listed["state"] == "Valid"
    assert event["detail"] == {"serial": listed["serial"], "answer": "Rejected"}
    assert await server.services.certificates.valid_for("CP-1") is None
