"""The certificate authority's checks of a signing request, and `voltline ca init`'s files."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from tests.integration.ca_fixtures import make_csr
from voltline.ca_cli import ca_app
from voltline.services.security.authority import CertificateAuthority, CsrRejected, check_csr


def test_ca_init_writes_a_key_for_the_owner_alone_and_never_replaces_one_unasked(tmp_path: Path) -> None:
    cert, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    args = ["init", "--cert", str(cert), "--key", str(key)]
    assert CliRunner().invoke(ca_app, args).exit_code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = CertificateAuthority.load(cert, key)
    assert first.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    again = CliRunner().invoke(ca_app, args)
    assert again.exit_code == 1 and "--force" in again.output
    assert CertificateAuthority.load(cert, key).certificate == first.certificate
    assert CliRunner().invoke(ca_app, [*args, "--force"]).exit_code == 0
    assert CertificateAuthority.load(cert, key).certificate != first.certificate


def test_ca_init_needs_to_know_where(tmp_path: Path) -> None:
    result = CliRunner().invoke(ca_app, ["init"])
    assert result.exit_code == 2 and "ca_cert" in result.output


def test_curves_below_p256_and_other_key_kinds_are_refused() -> None:
    pem, _ = make_csr("CP-1", ec.generate_private_key(ec.SECP192R1()))
    with pytest.raises(CsrRejected, match="secp192r1"):
        check_csr(pem, "CP-1")
    pem384, _ = make_csr("CP-1", ec.generate_private_key(ec.SECP384R1()))
    assert check_csr(pem384, "CP-1").subject.rfc4514_string() == "CN=CP-1"
    ed = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP-1")])
    ).sign(ed25519.Ed25519PrivateKey.generate(), None)
    with pytest.raises(CsrRejected, match="neither RSA nor EC"):
        check_csr(ed.public_bytes(Encoding.PEM).decode(), "CP-1")


def test_the_organization_is_checked_when_one_is_set() -> None:
    pem, _ = make_csr("CP-1", organization="Other Operator")
    with pytest.raises(CsrRejected, match="O must be 'Voltline'"):
        check_csr(pem, "CP-1", "Voltline")
    good, _ = make_csr("CP-1", organization="Voltline")
    assert check_csr(good, "CP-1", "Voltline") is not None


def test_a_signed_certificate_carries_the_subject_and_the_chain() -> None:
    authority = CertificateAuthority.create("Test CA")
    pem, key = make_csr("CP-7")
    signed = authority.sign(check_csr(pem, "CP-7"), timedelta(days=365))
    leaf, ca = x509.load_pem_x509_certificates(signed.chain.encode())
    assert ca == authority.certificate
    assert leaf.public_key() == key.public_key()
    assert signed.subject == "CN=CP-7" and signed.serial == format(leaf.serial_number, "x")
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.signature_hash_algorithm is not None and isinstance(leaf.signature_hash_algorithm, hashes.SHA256)
