"""The station's certificate store (security extension: InstallCertificate, DeleteCertificate,
GetInstalledCertificateIds).

Certificates are identified the way OCSP does (RFC 6960 CertID): SHA-256 of the issuer's DER name,
SHA-256 of the issuer's public key bits, and the serial number in hex. Reading those three fields
needs only a few lines of DER, so the store works on real X.509 certificates without a crypto
library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

_ALGORITHMS = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


class CertificateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ParsedCertificate:
    serial_hex: str
    issuer_der: bytes
    subject_der: bytes
    public_key: bytes  # the subjectPublicKey BIT STRING's bits

    @property
    def self_signed(self) -> bool:
        return self.issuer_der == self.subject_der


@dataclass(frozen=True, slots=True)
class InstalledCertificate:
    certificate_type: str
    pem: str
    parsed: ParsedCertificate
    issuer_key: bytes

    def hash_data(self, algorithm: str = "SHA256") -> dict[str, str]:
        digest = _ALGORITHMS[algorithm]
        return {
            "hashAlgorithm": algorithm,
            "issuerNameHash": digest(self.parsed.issuer_der).hexdigest(),
            "issuerKeyHash": digest(self.issuer_key).hexdigest(),
            "serialNumber": self.parsed.serial_hex,
        }


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """One DER element at `pos`: (tag, content start, content end)."""
    if pos + 2 > len(data):
        raise CertificateError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise CertificateError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements inside a constructed element: (tag, element start, content start, content end)."""
    out = []
    pos = start
    while pos < end:
        tag, content, stop = _read(data, pos)
        out.append((tag, pos, content, stop))
        pos = stop
    return out


def parse_pem(pem: str) -> ParsedCertificate:
    match = _PEM.search(pem)
    if match is None:
        raise CertificateError("no PEM certificate found")
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError("the PEM body is not base64") from None
    tag, start, end = _read(der, 0)
    if tag != 0x30:
        raise CertificateError("a certificate is a DER SEQUENCE")
    parts = _children(der, start, end)
    if not parts or parts[0][0] != 0x30:
        raise CertificateError("missing tbsCertificate")
    tbs = _children(der, parts[0][2], parts[0][3])
    if tbs and tbs[0][0] == 0xA0:  # explicit [0] version
        tbs = tbs[1:]
    if len(tbs) < 6:
        raise CertificateError("incomplete tbsCertificate")
    serial, _sig_alg, issuer, _validity, subject, spki = tbs[:6]
    if serial[0] != 0x02 or issuer[0] != 0x30 or subject[0] != 0x30 or spki[0] != 0x30:
        raise CertificateError("unexpected tbsCertificate layout")
    serial_number = int.from_bytes(der[serial[2] : serial[3]], "big", signed=True)
    key_parts = _children(der, spki[2], spki[3])
    if len(key_parts) != 2 or key_parts[1][0] != 0x03:
        raise CertificateError("unexpected subjectPublicKeyInfo")
    bits = der[key_parts[1][2] + 1 : key_parts[1][3]]  # skip the unused-bits byte
    return ParsedCertificate(
        serial_hex=format(serial_number, "x"),
        issuer_der=der[issuer[1] : issuer[3]],
        subject_der=der[subject[1] : subject[3]],
        public_key=bits,
    )


class CertificateStore:
    def __init__(self, max_length: int = 10) -> None:
        self.max_length = max_length
        self._certificates: list[InstalledCertificate] = []

    def __len__(self) -> int:
        return len(self._certificates)

    def install(self, certificate_type: str, pem: str) -> str:
        try:
            parsed = parse_pem(pem)
        except CertificateError:
            return "Rejected"
        if parsed.self_signed:
            issuer_key = parsed.public_key
        else:
            # The CertID needs the issuer's key; only a certificate whose issuer we hold can be named.
            issuer = next((c for c in self._certificates if c.parsed.subject_der == parsed.issuer_der), None)
            if issuer is None:
                return "Rejected"
            issuer_key = issuer.parsed.public_key
        entry = InstalledCertificate(certificate_type, pem, parsed, issuer_key)
        if any(c.hash_data() == entry.hash_data() for c in self._certificates):
            return "Accepted"
        if len(self._certificates) >= self.max_length:
            return "Failed"
        self._certificates.append(entry)
        return "Accepted"

    def ids(self, certificate_type: str) -> list[dict[str, str]]:
        return [c.hash_data() for c in self._certificates if c.certificate_type == certificate_type]

    def delete(self, hash_data: dict[str, str]) -> str:
        algorithm = hash_data.get("hashAlgorithm", "SHA256")
        if algorithm not in _ALGORITHMS:
            return "NotFound"
        wanted = {k: str(hash_data.get(k, "")).lower() for k in ("issuerNameHash", "issuerKeyHash")}
        wanted["serialNumber"] = str(hash_data.get("serialNumber", "")).lower().lstrip("0") or "0"
        for certificate in self._certificates:
            have = certificate.hash_data(algorithm)
            if all(have[k].lower() == v for k, v in wanted.items()):
                self._certificates.remove(certificate)
                return "Accepted"
        return "NotFound"
