"""The rules a charge point's client certificate is held to (security profile 3), with
certificates made here by a throw-away CA (trustme)."""

from __future__ import annotations

import datetime as dt

import trustme
from cryptography import x509

from voltline.services.security.client_certificates import ClientCertificateCheck, PresentedCertificate

ORG = "Example Charging"


def der(cert: trustme.LeafCert) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)


def ca_certificate(ca: trustme.CA) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes())


class RevokedSerials:
    def __init__(self) -> None:
        self.serials: set[int] = set()

    def is_revoked(self, serial_number: int) -> bool:
        return serial_number in self.serials


def test_a_revoked_certificate_is_refused_by_serial() -> None:
    ca = trustme.CA()
    revoked = RevokedSerials()
    check = ClientCertificateCheck([ca_certificate(ca)], organization=ORG, revocations=revoked)
    leaf = ca.issue_cert("cp.example", common_name="CP-1", organization_name=ORG)
    presented = PresentedCertificate(der(leaf), chain_checked=False)
    assert check.problem("CP-1", presented) is None
    revoked.serials.add(x509.load_der_x509_certificate(presented.der).serial_number)
    assert "was revoked" in (check.problem("CP-1", presented) or "")


def test_unchecked_chains_must_be_issued_by_a_trusted_ca_itself_valid() -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("cp.example", common_name="CP-1")
    presented = PresentedCertificate(der(leaf), chain_checked=False)
    # Only the root trusted: a proxy forwards the leaf alone, so the intermediate is missing.
    assert "not issued by a CA trusted" in (ClientCertificateCheck([ca_certificate(root)]).problem("CP-1", presented) or "")
    trusted = ClientCertificateCheck([ca_certificate(root), ca_certificate(intermediate)])
    assert trusted.problem("CP-1", presented) is None
    # Trusting only another CA: not issued by a trusted one.
    impostor = trustme.CA()
    assert "not issued by a CA trusted" in (
        ClientCertificateCheck([ca_certificate(impostor)]).problem("CP-1", presented) or ""
    )


def test_dates_names_and_unreadable_bytes() -> None:
    ca = trustme.CA()
    check = ClientCertificateCheck([ca_certificate(ca)], organization=ORG)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    future = ca.issue_cert("cp.example", common_name="CP-1", organization_name=ORG, not_before=soon,
                           not_after=soon + dt.timedelta(days=1))
    assert "valid only from" in (check.problem("CP-1", PresentedCertificate(der(future), True)) or "")
    unnamed = ca.issue_cert("cp.example", organization_name=ORG)
    assert "subject CN is missing" in (check.problem("CP-1", PresentedCertificate(der(unnamed), True)) or "")
    no_org = ca.issue_cert("cp.example", common_name="CP-1")
    assert "subject O is" in (check.problem("CP-1", PresentedCertificate(der(no_org), True)) or "")
    assert "cannot be read" in (check.problem("CP-1", PresentedCertificate(b"\x30\x03junk", True)) or "")
