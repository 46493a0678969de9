"""Certificates for `voltline serve --demo --tls`: a CA of the demo's own, the server's
certificate for 127.0.0.1 and localhost, and one client certificate per simulated charge point
(subject CN = its identity, O = the demo operator). Made with `cryptography` at the start,
kept in a folder beside the demo database, never meant for anything but the demo."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEMO_ORGANIZATION = "Voltline Demo"


@dataclass(slots=True, frozen=True)
class DemoPki:
    directory: Path

    @property
    def ca_file(self) -> str:
        return str(self.directory / "ca.pem")

    @property
    def server_cert(self) -> str:
        return str(self.directory / "server.pem")

    @property
    def server_key(self) -> str:
        return str(self.directory / "server.key")

    @property
    def client_cert(self) -> str:
        return str(self.directory / "{identity}.pem")

    @property
    def client_key(self) -> str:
        return str(self.directory / "{identity}.key")


def make_demo_pki(directory: Path, identities: list[str]) -> DemoPki:
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, "Voltline demo CA"),
    ])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))

    def issue(name: str, subject: x509.Name, usage: x509.ObjectIdentifier, alt: list[x509.GeneralName] | None) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _builder(subject, ca_name, key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        certificate = builder.sign(ca_key, hashes.SHA256())
        _write(directory / f"{name}.pem", certificate.public_bytes(serialization.Encoding.PEM))
        _write(directory / f"{name}.key", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))

    issue("server", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), ExtendedKeyUsageOID.SERVER_AUTH,
          [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    for identity in identities:
        issue(identity, x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, identity),
        ]), ExtendedKeyUsageOID.CLIENT_AUTH, None)
    return DemoPki(directory)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: dt.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
    )


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    if path.suffix == ".key":
        path.chmod(0o600)
