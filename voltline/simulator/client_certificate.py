"""The station's own certificate for security profile 3, got from the central system: on
ExtendedTriggerMessage SignChargePointCertificate the station makes a key and a certificate
signing request (SignCertificate); the chain that CertificateSigned brings is kept with that key
and presented at the next TLS connection."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class ClientCertificate:
    def __init__(self, identity: str, organization: str | None = None) -> None:
        self.identity = identity
        self.organization = organization
        self._pending: ec.EllipticCurvePrivateKey | None = None  # the key of the request in flight
        self.key_pem: str | None = None
        self.chain_pem: str | None = None
        self._files: tempfile.TemporaryDirectory[str] | None = None

    def use(self, chain_pem: str, key_pem: str) -> None:
        """Start with a certificate and key made elsewhere (a station provisioned in the factory)."""
        self.chain_pem, self.key_pem = chain_pem, key_pem

    def request(self) -> str:
        """A new key and a PEM signing request for it, with the identity as CN."""
        self._pending = ec.generate_private_key(ec.SECP256R1())
        names = [x509.NameAttribute(NameOID.COMMON_NAME, self.identity)]
        if self.organization:
            names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization))
        csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(self._pending, hashes.SHA256())
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def accept(self, chain_pem: str) -> bool:
        """Keep a signed chain if its first certificate is for the pending key and this station."""
        if self._pending is None:
            return False  # no request of ours this chain could answer
        try:
            leaf = x509.load_pem_x509_certificates(chain_pem.encode())[0]
        except ValueError:
            return False
        if leaf.public_key() != self._pending.public_key():
            return False
        if [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] != [self.identity]:
            return False
        self.key_pem = self._pending.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.chain_pem = chain_pem
        self._pending = None
        return True

    @property
    def serial(self) -> int | None:
        if self.chain_pem is None:
            return None
        return x509.load_pem_x509_certificates(self.chain_pem.encode())[0].serial_number

    def apply(self, context: ssl.SSLContext) -> bool:
        """Present the certificate in `context` (a TLS client's); False while there is none."""
        if self.chain_pem is None or self.key_pem is None:
            return False
        if self._files is None:
            self._files = tempfile.TemporaryDirectory(prefix="voltline-sim-")
        folder = Path(self._files.name)
        (folder / "cert.pem").write_text(self.chain_pem)
        key = folder / "key.pem"
        key.touch(mode=0o600)
        key.write_text(self.key_pem)
        # ssl reads a certificate and key from files only.
        context.load_cert_chain(folder / "cert.pem", key)
        return True
