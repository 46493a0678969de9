"""Whether a charge point's client certificate proves its identity (OCPP security profile 3).

The whitepaper's rules: the certificate chains to a CA the operator trusts for charge points, is
within its validity, carries the charge point's identity as its subject CN and, where the
operator set one, the operator's organization as its subject O, and was not revoked.

Checked synchronously (the WebSocket handshake is decided in a synchronous hook), from memory:
the trusted CAs are parsed once per change of their file, and revocation is asked of a
`Revocations`, which answers from memory too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID


class Revocations(Protocol):
    """Certificates Voltline revoked, by serial number. Consulted at every profile-3 handshake,
    so it answers from memory, without I/O."""

    def is_revoked(self, serial_number: int) -> bool: ...


class NothingRevoked:
    """Until a certificate authority of Voltline's own is wired in: no serial is revoked."""

    def is_revoked(self, serial_number: int) -> bool:
        return False


@dataclass(slots=True, frozen=True)
class PresentedCertificate:
    """A client certificate as it reached Voltline: DER bytes, and whether TLS (OpenSSL) already
    checked its chain, or it came in a proxy's header unchecked. `verified_chain` is the chain
    OpenSSL verified it through (DER, the leaf first), where the transport tells it: OpenSSL's
    trust store only ever grows while the server runs, so the CA it ended at must still be one
    trusted now."""

    der: bytes
    chain_checked: bool
    verified_chain: tuple[bytes, ...] | None = None


class ClientCertificateCheck:
    def __init__(
        self,
        trusted_cas: Sequence[x509.Certificate] = (),
        *,
        organization: str | None = None,
        revocations: Revocations | None = None,
    ) -> None:
        self.organization = organization
        self.revocations: Revocations = revocations or NothingRevoked()
        self.trust(trusted_cas)

    def trust(self, cas: Sequence[x509.Certificate]) -> None:
        """From now on, these CAs (the trusted file, read again after a change)."""
        self.trusted_cas = list(cas)
        # By their DER, encoded once per change of the file rather than at every handshake.
        self._trusted_by_der = {ca.public_bytes(Encoding.DER): ca for ca in self.trusted_cas}

    def _trusted_now(self, certificate: x509.Certificate, presented: PresentedCertificate, at: datetime) -> bool:
        if presented.chain_checked:
            if presented.verified_chain is None:
                return True  # the transport does not say which CA: OpenSSL's word stands
            for der in presented.verified_chain:
                ca = self._trusted_by_der.get(der)
                if ca is not None and _is_valid_ca(ca, at):
                    return True
        return self._issued_by_trusted(certificate, at)

    def problem(self, identity: str, presented: PresentedCertificate, at: datetime | None = None) -> str | None:
        """Why `presented` does not prove `identity` (one line for the refusal), or None."""
        try:
            certificate = x509.load_der_x509_certificate(presented.der)
        except ValueError:
            return "the client certificate cannot be read"
        at = at or datetime.now(UTC)
        if not self._trusted_now(certificate, presented, at):
            return "the client certificate is not issued by a CA trusted for charge points"
        if at < certificate.not_valid_before_utc:
            return f"the client certificate is valid only from {certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
        if at > certificate.not_valid_after_utc:
            return f"the client certificate expired at {certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
        names = _subject(certificate, NameOID.COMMON_NAME)
        if names != [identity]:
            return f"the client certificate's subject CN is {_shown(names)}, not the charge point's identity"
        if self.organization is not None:
            organizations = _subject(certificate, NameOID.ORGANIZATION_NAME)
            if organizations != [self.organization]:
                return f"the client certificate's subject O is {_shown(organizations)}, not {self.organization!r}"
        if self.revocations.is_revoked(certificate.serial_number):
            return f"the client certificate (serial {certificate.serial_number:x}) was revoked"
        return None

    def _issued_by_trusted(self, certificate: x509.Certificate, at: datetime) -> bool:
        """Issued directly by one of the trusted CAs, each a valid CA itself. A proxy forwards
        the leaf only, so intermediate CAs belong in the trusted file (as for nginx)."""
        for ca in self.trusted_cas:
            if ca.subject != certificate.issuer or not _is_valid_ca(ca, at):
                continue
            try:
                certificate.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
        return False


def _is_valid_ca(ca: x509.Certificate, at: datetime) -> bool:
    if not ca.not_valid_before_utc <= at <= ca.not_valid_after_utc:
        return False
    try:
        return bool(ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _subject(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(oid)]


def _shown(values: list[str]) -> str:
    return ", ".join(repr(v[:64]) for v in values) if values else "missing"
