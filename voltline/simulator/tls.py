"""The station's side of TLS (OCPP security profiles 2 and 3): which CA it trusts for the
central system's certificate, and the client certificate it presents."""

from __future__ import annotations

import ssl
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class ClientTls:
    """`ca_file`: PEM of the CAs the central system's certificate must chain to (default: the
    system's). `client_cert` / `client_key`: PEM of the station's certificate (chain after it)
    and key, for profile 3; `{identity}` in either path is replaced by the station's identity,
    so one option serves a fleet."""

    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def __post_init__(self) -> None:
        if self.client_key and not self.client_cert:
            raise ValueError("a client key needs its client certificate")

    def context(self, identity: str) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # the whitepaper's floor
        if self.client_cert:
            context.load_cert_chain(
                self.client_cert.replace("{identity}", identity),
                self.client_key.replace("{identity}", identity) if self.client_key else None,
            )
        return context
