"""A Voltline server that runs its own certificate authority, and a charge point built on the `ocpp`
package (no Voltline code on its side) that asks it for a certificate.

The CA is made in the test (`voltline ca init`'s code, written to files the server reads as
settings), so each test has a CA of its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from typer.testing import CliRunner

from tests.conftest import ServerFactory
from voltline.ca_cli import ca_app
from voltline.app import Voltline
from voltline.services.security.authority import CertificateAuthority


@dataclass(slots=True)
class CaFiles:
    cert: Path
    key: Path
    authority: CertificateAuthority


@pytest.fixture
def ca_files(tmp_path: Path) -> CaFiles:
    """A CA made by `voltline ca init`, as an operator makes it."""
    cert, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    made = CliRunner().invoke(ca_app, ["init", "--cert", str(cert), "--key", str(key), "--organization", "Voltline"])
    assert made.exit_code == 0, made.output
    return CaFiles(cert, key, CertificateAuthority.load(cert, key))


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """More settings for `server` (a module overrides this fixture)."""
    return {}


@pytest.fixture
async def server(start_server: ServerFactory, ca_files: CaFiles, server_settings: dict[str, Any]) -> Voltline:
    """The suite's `server`, with the CA of `ca_files` configured."""
    return await start_server(ca_cert=str(ca_files.cert), ca_key=str(ca_files.key), **server_settings)


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def make_csr(common_name: str, key: PrivateKey | None = None, organization: str | None = None) -> tuple[str, PrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key


def with_bad_signature(csr_pem: str) -> str:
    """The same request with one byte of its signature flipped."""
    der = bytearray(x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01
    body = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"


@dataclass
class Script:
    """What the `ocpp` charge point answers, and what it saw."""

    csr: Callable[[str], str] = lambda identity: make_csr(identity)[0]
    certificate_signed: str = "Accepted"
    change_configuration: str = "Accepted"
    chains: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    sign_answers: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)


class OcppStation(ChargePoint):
    """A 1.6 charge point of the `ocpp` package: boots, answers what the script says, and on
    ExtendedTriggerMessage SignChargePointCertificate sends a SignCertificate."""

    script: Script

    @on(Action.extended_trigger_message)
    def on_extended_trigger(self, requested_message: str, **_: Any) -> call_result.ExtendedTriggerMessage:
        self.script.triggers.append(requested_message)
        return call_result.ExtendedTriggerMessage(status="Accepted")

    @after(Action.extended_trigger_message)
    async def after_extended_trigger(self, requested_message: str, **_: Any) -> None:
        if requested_message == "SignChargePointCertificate":
            answer = await self.call(call.SignCertificate(csr=self.script.csr(self.id)))
            self.script.sign_answers.append(answer.status)

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str) -> call_result.CertificateSigned:
        self.script.chains.append(certificate_chain)
        return call_result.CertificateSigned(status=self.script.certificate_signed)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> call_result.ChangeConfiguration:
        self.script.changes.append({"key": key, "value": value})
        return call_result.ChangeConfiguration(status=self.script.change_configuration)


ConnectStation = Callable[..., Awaitable[OcppStation]]


@pytest.fixture
async def ocpp_station(server: Voltline) -> AsyncIterator[ConnectStation]:
    """`cp = await ocpp_station("CP-1", password=…, script=Script(…))`: connected and booted."""
    running: list[tuple[Any, asyncio.Task[None]]] = []

    async def connect(identity: str, *, password: str | None = None, script: Script | None = None) -> OcppStation:
        headers = {}
        if password is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{identity}:{password}".encode()).decode()
        ws = await websockets.connect(
            f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", subprotocols=["ocpp1.6"],
            additional_headers=headers, ping_interval=None,
        )
        station = OcppStation(identity, ws, response_timeout=10)
        station.script = script or Script()
        task = asyncio.create_task(station.start())
        running.append((ws, task))
        boot = await station.call(call.BootNotification(charge_point_model="Test", charge_point_vendor="Ocpp"))
        assert boot.status == "Accepted"
        return station

    yield connect
    for ws, task in running:
        await ws.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def tls_listener(folder: Path, client_ca: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS server context for 127.0.0.1 that requires a client certificate of `client_ca`, and
    the CA file a client checks the server with."""
    ca = CertificateAuthority.create("Listener CA")
    key = ec.generate_private_key(ec.SECP256R1())
    at = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(minutes=1))
        .not_valid_after(at + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_file, key_file, ca_file = folder / "listener.pem", folder / "listener.key", folder / "listener-ca.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    ca_file.write_text(ca.certificate_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.load_verify_locations(client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context, ca_file
