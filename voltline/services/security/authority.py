"""Voltline as the certificate authority of its charge points (OCPP security whitepaper, 1.6 and
2.0.1): the CA's key and certificate, the checks a certificate signing request must pass, and the
signing itself. Pure cryptography, no database: `certificates.py` records what is issued.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from voltline.services.errors import Invalid, Unavailable

# What the whitepaper accepts for a charge point's key: RSA of 2048 bits or more, or an EC key
# on one of the NIST curves of 256 bits or more.
MIN_RSA_BITS = 2048
EC_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
CA_VALIDITY = dt.timedelta(days=10 * 365)


class AuthorityNotConfigured(Unavailable, RuntimeError):
    """No CA key and certificate at the configured paths (`voltline ca init` makes them)."""


class CsrRejected(Invalid, ValueError):
    """A certificate signing request Voltline does not sign; the message says why, in one line."""


@dataclass(slots=True, frozen=True)
class SignedCertificate:
    serial: str  # lower-case hex
    subject: str  # RFC 4514
    not_before: dt.datetime
    not_after: dt.datetime
    pem: str  # the charge point's certificate alone
    chain: str  # its certificate, then the CA's: what CertificateSigned carries


def check_csr(csr_pem: str, identity: str, organization: str | None = None) -> x509.CertificateSigningRequest:
    """The request, if it may be signed for `identity`; else CsrRejected saying why."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise CsrRejected("not a PEM certificate signing request") from None
    try:
        signature_valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm):
        signature_valid = False
    if not signature_valid:
        raise CsrRejected("the request's signature does not verify with its own key")
    names = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [identity]:
        raise CsrRejected(f"the subject's CN must be the charge point's identity {identity!r}, not {names!r}")
    if organization is not None:
        orgs = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if orgs != [organization]:
            raise CsrRejected(f"the subject's O must be {organization!r}, not {orgs!r}")
    try:
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CsrRejected("the request's key cannot be read") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrRejected(f"an RSA key of {key.key_size} bits is too short (at least {MIN_RSA_BITS})")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVES:
            raise CsrRejected(f"the EC curve {key.curve.name} is not one of {', '.join(sorted(EC_CURVES))}")
    else:
        raise CsrRejected(f"a {type(key).__name__} key is neither RSA nor EC")
    return csr


class CertificateAuthority:
    """The CA's key and certificate, read from PEM files once; signs charge point certificates."""

    def __init__(self, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()

    @classmethod
    def load(cls, cert_path: str | Path, key_path: str | Path) -> CertificateAuthority:
        try:
            certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
            key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        except OSError as exc:
            raise AuthorityNotConfigured(f"{exc.filename}: {exc.strerror}") from None
        except ValueError as exc:
            raise AuthorityNotConfigured(f"the CA key or certificate cannot be read: {exc}") from None
        if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise AuthorityNotConfigured("the CA key must be RSA or EC")
        return cls(key, certificate)

    @classmethod
    def create(cls, common_name: str, organization: str | None = None) -> CertificateAuthority:
        """A new CA: an EC P-256 key and a self-signed certificate valid for ten years."""
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        name = x509.Name(attributes)
        at = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(at - dt.timedelta(minutes=5))
            .not_valid_after(at + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def write(self, cert_path: str | Path, key_path: str | Path) -> None:
        """Write the certificate and the key (readable by the owner alone)."""
        key_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem)
        Path(cert_path).write_text(self.certificate_pem)

    def sign(self, csr: x509.CertificateSigningRequest, validity: dt.timedelta) -> SignedCertificate:
        """A client certificate (TLS clientAuth) for the request's subject and key."""
        public_key = csr.public_key()
        at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        # A charge point's clock may run a little behind ours.
        not_before, not_after = at - dt.timedelta(minutes=5), at + validity
        is_rsa = isinstance(public_key, rsa.RSAPublicKey)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=is_rsa,
                    data_encipherment=False, key_agreement=not is_rsa, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return SignedCertificate(
            serial=serial_hex(certificate.serial_number),
            subject=certificate.subject.rfc4514_string(),
            not_before=not_before,
            not_after=not_after,
            pem=pem,
            chain=pem + self.certificate_pem,
        )


def serial_hex(serial: int) -> str:
    return format(serial, "x")
