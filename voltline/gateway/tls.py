"""TLS for the listeners: a server context whose certificate files are re-read when they change,
and the proxies trusted to have ended TLS for a charge point.

A listener keeps the SSLContext it was created with, and OpenSSL makes each new connection from
it, so a renewed certificate is loaded into that same context: new handshakes get it, open
connections keep theirs. The files are read once per reload and checked in a context of their own
first, so the context being served is only ever given a pair that fits. (The OCPP listener's
transport, aiofastnet, drives OpenSSL itself: it does not run Python's SNI hook, so a context
cannot be switched per handshake.)
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from voltline.services.security.client_certificates import PresentedCertificate
from voltline.services.security.connections import PLAIN, ConnectionSecurity

log = logging.getLogger("voltline.tls")

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the TLS layer checks the chain but not the dates, so a
# charge point with an expired certificate reaches the handshake and is refused there with an
# HTTP status and a security event (services/security/client_certificates.py checks the dates).
_NO_CHECK_TIME = 0x200000


class TlsFilesError(ValueError):
    """A certificate, key or CA file that cannot be read or does not fit."""


class ServerTls:
    def __init__(
        self,
        cert_file: str,
        key_file: str,
        *,
        client_ca_file: str | None = None,
        ciphers: str | None = None,
    ) -> None:
        self.cert_file, self.key_file, self.client_ca_file = cert_file, key_file, client_ca_file
        self.ciphers = ciphers
        self._stamps = self._read_stamps()
        files = self._read_files()
        # The context the listener serves with, for as long as it runs.
        self.context = self._build(files)
        self._key_type = _key_type(files[0])
        self.reloads = 0

    @property
    def asks_client_certificate(self) -> bool:
        return self.client_ca_file is not None

    def _files(self) -> list[str]:
        return [self.cert_file, self.key_file] + ([self.client_ca_file] if self.client_ca_file else [])

    def _read_stamps(self) -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for path in self._files():
            try:
                info = os.stat(path)
            except OSError as exc:
                raise TlsFilesError(f"{path}: {exc.strerror}") from None
            stamps.append((info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(stamps)

    def _read_files(self) -> tuple[bytes, ...]:
        try:
            return tuple(_read(path) for path in self._files())
        except OSError as exc:
            raise TlsFilesError(f"{exc.filename}: {exc.strerror}") from None

    def _build(self, files: tuple[bytes, ...]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
        try:
            if self.ciphers:
                context.set_ciphers(self.ciphers)
            if self.client_ca_file:
                # Asked for, not required: a charge point of profile 0-2 has none, and one of
                # profile 3 without it is refused at the HTTP handshake, where it can be told why.
                context.verify_mode = ssl.CERT_OPTIONAL
                context.verify_flags |= _NO_CHECK_TIME
        except ssl.SSLError as exc:
            raise TlsFilesError(f"TLS settings: {exc}") from None
        self._load(context, files)
        return context

    def _load(self, context: ssl.SSLContext, files: tuple[bytes, ...]) -> None:
        """The certificate chain, its key and the client CAs of `files` into `context`."""
        try:
            with tempfile.TemporaryDirectory(prefix="voltline-tls-") as folder:  # private to this user
                cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
                _write_private(cert, files[0])
                _write_private(key, files[1])
                context.load_cert_chain(cert, key)
                if self.client_ca_file:
                    cas = os.path.join(folder, "client-cas.pem")
                    _write_private(cas, files[2])
                    context.load_verify_locations(cafile=cas)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise TlsFilesError(f"TLS files {', '.join(self._files())}: {exc}") from None

    def reload(self) -> bool:
        """Read the files again; new handshakes use them. On a file that does not fit, the
        certificate in use stays and the error is logged: True only when the new one is in."""
        try:
            stamps = self._read_stamps()
            files = self._read_files()
            self._build(files)  # the same bytes must fit in a context of their own first
            key_type = _key_type(files[0])
            if key_type != self._key_type:
                # OpenSSL keeps one certificate per key type: the old one would still be offered.
                raise TlsFilesError(f"{self.cert_file}: a {key_type} certificate in place of a "
                                    f"{self._key_type} one takes a restart")
            self._load(self.context, files)
        except TlsFilesError as exc:
            log.error("kept the TLS certificate in use: %s", exc)
            return False
        self._stamps = stamps
        self.reloads += 1
        log.info("TLS certificate files re-read (%s)", self.cert_file)
        return True

    def reload_if_changed(self) -> bool:
        try:
            stamps = self._read_stamps()
        except TlsFilesError:
            return False  # being replaced, or gone: the next check will see
        return stamps != self._stamps and self.reload()


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _write_private(path: str, data: bytes) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(data)


def _key_type(cert_pem: bytes) -> str:
    """The public key algorithm of the first certificate in a PEM file ("EC", "RSA", ...)."""
    try:
        key = x509.load_pem_x509_certificate(cert_pem).public_key()
    except ValueError as exc:
        raise TlsFilesError(f"not a PEM certificate: {exc}") from None
    for name, kind in (("EC", ec.EllipticCurvePublicKey), ("RSA", rsa.RSAPublicKey)):
        if isinstance(key, kind):
            return name
    return type(key).__name__


class CaFile:
    """The PEM file of the CAs trusted for charge point certificates, handed to `on_change`
    parsed, at the start and whenever it changes (the certificate check in services/ reads it
    from memory)."""

    def __init__(self, path: str, on_change: Callable[[list[x509.Certificate]], None]) -> None:
        self.path = path
        self._on_change = on_change
        self._stamp: tuple[int, int, int] | None = None
        if not self.reload():
            raise TlsFilesError(f"{path}: not a PEM file of CA certificates")

    def reload(self) -> bool:
        try:
            info = os.stat(self.path)
            with open(self.path, "rb") as file:
                cas = x509.load_pem_x509_certificates(file.read())
        except (OSError, ValueError) as exc:
            log.error("kept the trusted client CAs in use: %s: %s", self.path, exc)
            return False
        self._stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        self._on_change(cas)
        return True

    def reload_if_changed(self) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return (info.st_mtime_ns, info.st_size, info.st_ino) != self._stamp and self.reload()


@dataclass(slots=True, frozen=True)
class ProxyTrust:
    """The proxies that end TLS in front of the OCPP listener. From one of them, the request
    says whether the charge point used TLS (`X-Forwarded-Proto`) and what certificate it
    presented (`header`: URL-encoded PEM, as nginx's `$ssl_client_escaped_cert`). From any other
    address those headers are ignored."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    header: str = "X-SSL-Client-Cert"

    @classmethod
    def of(cls, entries: list[str], header: str) -> ProxyTrust:
        return cls(tuple(ipaddress.ip_network(entry, strict=False) for entry in entries), header)

    def trusts(self, address: str | None) -> bool:
        if not self.networks or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def security(self, headers: Mapping[str, str]) -> ConnectionSecurity:
        """What a trusted proxy's request says about the charge point's connection."""
        if headers.get("X-Forwarded-Proto", "").strip().lower() not in ("https", "wss"):
            return PLAIN
        value = headers.get(self.header)
        if not value or value.strip() in ("", "-", "(null)"):
            return ConnectionSecurity(tls=True, via_proxy=True)
        try:
            certificate = x509.load_pem_x509_certificate(unquote(value).encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            # Unreadable: presented, but proving nothing (the check refuses it as unreadable).
            return ConnectionSecurity(tls=True, certificate=PresentedCertificate(b"", False), via_proxy=True)
        der = certificate.public_bytes(Encoding.DER)
        return ConnectionSecurity(tls=True, certificate=PresentedCertificate(der, False), via_proxy=True)


def connection_security(ssl_object: ssl.SSLObject | None, address: str | None, headers: Mapping[str, str],
                        proxies: ProxyTrust) -> ConnectionSecurity:
    """How a charge point reached us: TLS ended here (its certificate, if any, checked against
    the trusted CAs by OpenSSL), TLS ended at a trusted proxy, or plain."""
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        if not der:
            return ConnectionSecurity(tls=True, certificate=None)
        return ConnectionSecurity(tls=True, certificate=PresentedCertificate(der, True, _verified_chain(ssl_object)))
    if proxies.trusts(address):
        return proxies.security(headers)
    return PLAIN


def _verified_chain(ssl_object: Any) -> tuple[bytes, ...] | None:
    """The chain OpenSSL verified the client certificate through, as DER (aiofastnet's SSL object
    gives it so; the standard library's before Python 3.13 does not)."""
    get_chain = getattr(ssl_object, "get_verified_chain", None)
    chain = get_chain() if get_chain is not None else None
    if not chain or not all(isinstance(item, bytes) for item in chain):
        return None
    return tuple(chain)
