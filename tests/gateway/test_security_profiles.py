"""OCPP security profiles 2 and 3 over real TLS: a throw-away CA made here (trustme), a real
server on free ports, the simulator and the `ocpp` package's ChargePoint (over `websockets`) as
clients, on SQLite and PostgreSQL. A connection weaker than the charge point's profile is
refused at the handshake, with its HTTP status and a security event on the charge point."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
import datetime as dt
import ssl
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trustme
import websockets
from ocpp.v16 import ChargePoint, call
from websockets.exceptions import InvalidStatus

from voltline.app import Voltline
from voltline.simulator import ClientTls, Simulator

PASSWORD = "s3cret-passw0rd-16-chars"
ORGANIZATION = "Voltline Test Operator"


@dataclass
class Pki:
    """The operator's CA for the server and charge points, and files written from it."""

    ca: trustme.CA
    directory: Path

    def write(self, name: str, text: bytes) -> str:
        path = self.directory / name
        path.write_bytes(text)
        return str(path)

    def server_files(self, ca: trustme.CA | None = None, name: str = "server") -> tuple[str, str]:
        cert = (ca or self.ca).issue_cert("127.0.0.1", "localhost")
        return (
            self.write(f"{name}.pem", b"".join(blob.bytes() for blob in cert.cert_chain_pems)),
            self.write(f"{name}.key", cert.private_key_pem.bytes()),
        )

    def client_files(self, common_name: str, *, ca: trustme.CA | None = None, organization: str | None = ORGANIZATION,
                     not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                     name: str | None = None) -> tuple[str, str]:
        cert = (ca or self.ca).issue_cert(
            "charge-point.example", common_name=common_name, organization_name=organization,
            not_before=not_before, not_after=not_after,
        )
        name = name or common_name
        return (
            self.write(f"{name}-cert.pem", b"".join(blob.bytes() for blob in cert.cert_chain_pems)),
            self.write(f"{name}-key.pem", cert.private_key_pem.bytes()),
        )

    def ca_file(self, ca: trustme.CA | None = None, name: str = "ca") -> str:
        return self.write(f"{name}.pem", (ca or self.ca).cert_pem.bytes())

    def client_context(self, cert: tuple[str, str] | None = None, ca: trustme.CA | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context()
        (ca or self.ca).configure_trust(context)
        if cert is not None:
            context.load_cert_chain(*cert)
        return context


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(trustme.CA(organization_name=ORGANIZATION), tmp_path)


@pytest.fixture
async def tls_server(start_server, pki: Pki) -> Voltline:  # type: ignore[no-untyped-def]
    cert, key = pki.server_files()
    return await start_server(  # type: ignore[no-any-return]
        ocpp_tls_cert=cert, ocpp_tls_key=key, ocpp_tls_port=0, ocpp_tls_client_ca=pki.ca_file(),
        certificate_organization=ORGANIZATION,
    )


@pytest.fixture
async def api(tls_server: Voltline) -> Any:
    _, secret = await tls_server.services.tokens.create("tests")
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{tls_server.http_port}", headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as client:
        yield client


def wss(server: Voltline, identity: str) -> str:
    return f"wss://127.0.0.1:{server.ocpp_tls_port}/ocpp/{quote(identity, safe='')}"


def ws(server: Voltline, identity: str) -> str:
    return f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{quote(identity, safe='')}"


def basic(identity: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{identity}:{password}".encode()).decode()}


async def register(api: httpx.AsyncClient, identity: str, profile: int, password: str | None = None) -> None:
    body: dict[str, Any] = {"id": identity, "security_profile": profile}
    if password is not None:
        body["password"] = password
    response = await api.post("/api/v1/charge-points", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["security_profile"] == profile


class Station(ChargePoint):  # type: ignore[misc]
    """The `ocpp` package's charge point: a second, independent client."""


async def boot_with_ocpp_package(url: str, ssl_context: ssl.SSLContext, headers: dict[str, str] | None = None) -> str:
    """Connect the `ocpp` package's ChargePoint over `websockets` with `ssl_context` and boot."""
    identity = url.rsplit("/", 1)[-1]
    async with websockets.connect(url, subprotocols=["ocpp1.6"], ssl=ssl_context,
                                  additional_headers=headers or {}) as connection:
        station = Station(identity, connection)
        runner = asyncio.create_task(station.start())
        try:
            answer = await station.call(call.BootNotification(charge_point_model="Model", charge_point_vendor="Vendor"))
        finally:
            runner.cancel()
        return answer.status  # type: ignore[no-any-return]


async def refused_status(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=20, **kwargs):
            pass
    return refused.value.response.status_code


async def security_events(api: httpx.AsyncClient, identity: str, count: int) -> list[dict[str, Any]]:
    """The charge point's security events, once there are `count` (written in the background)."""
    async with asyncio.timeout(20):
        while True:
            response = await api.get(f"/api/v1/charge-points/{identity}/events", params={"kind": "security"})
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            if len(items) >= count:
                return items  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


async def until(check: Callable[[], Any], timeout: float = 20) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.1)


# -- profile 2: TLS and the password ------------------------------------------------------------


async def test_profile_2_is_accepted_over_tls_with_its_password(tls_server: Voltline, api, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CP-2", 2, PASSWORD)
    status = await boot_with_ocpp_package(wss(tls_server, "CP-2"), pki.client_context(), basic("CP-2", PASSWORD))
    assert status == "Accepted"

    async with Simulator(
        f"wss://127.0.0.1:{tls_server.ocpp_tls_port}/ocpp", identities=["CP-2"], password=PASSWORD,
        tls=ClientTls(ca_file=pki.ca_file()), boot_timeout=20,
    ) as simulator:
        assert simulator["CP-2"].connected
        point = (await api.get("/api/v1/charge-points/CP-2")).json()
        assert point["connected"] is True and point["security_profile"] == 2


async def test_profile_2_refuses_plain_ws_and_a_wrong_password_with_security_events(  # type: ignore[no-untyped-def]
    tls_server: Voltline, api, pki: Pki
) -> None:
    await register(api, "CP-2", 2, PASSWORD)
    assert await refused_status(ws(tls_server, "CP-2"), additional_headers=basic("CP-2", PASSWORD)) == 403
    assert await refused_status(
        wss(tls_server, "CP-2"), ssl=pki.client_context(), additional_headers=basic("CP-2", "wrong-password-16ch")
    ) == 401
    assert await refused_status(wss(tls_server, "CP-2"), ssl=pki.client_context()) == 401

    events = await security_events(api, "CP-2", 3)
    by_status = sorted(e["status"] for e in events)
    assert by_status == ["FailedToAuthenticateAtCentralSystem", "FailedToAuthenticateAtCentralSystem",
                         "InsecureConnection"]
    insecure = next(e for e in events if e["status"] == "InsecureConnection")
    assert "wss://" in insecure["detail"]["tech_info"]
    assert insecure["detail"]["security_profile"] == 2 and insecure["detail"]["source"] == "handshake"


async def test_profile_1_still_connects_over_plain_ws_and_tls(tls_server: Voltline, api, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CP-1", 1, PASSWORD)
    async with Simulator(
        f"ws://127.0.0.1:{tls_server.ocpp_port}/ocpp", identities=["CP-1"], password=PASSWORD, boot_timeout=20
    ) as simulator:
        assert simulator["CP-1"].connected
    status = await boot_with_ocpp_package(wss(tls_server, "CP-1"), pki.client_context(), basic("CP-1", PASSWORD))
    assert status == "Accepted"
    assert await refused_status(ws(tls_server, "CP-1")) == 401


# -- profile 3: the client certificate ----------------------------------------------------------


async def test_profile_3_is_accepted_with_its_client_certificate(tls_server: Voltline, api, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    await register(api, "CP-3", 3)
    cert = pki.client_files("CP-3")
    assert await boot_with_ocpp_package(wss(tls_server, "CP-3"), pki.client_context(cert)) == "Accepted"

    async with Simulator(
        f"wss://127.0.0.1:{tls_server.ocpp_tls_port}/ocpp", identities=["CP-3"],
        tls=ClientTls(ca_file=pki.ca_file(), client_cert=cert[0], client_key=cert[1]), boot_timeout=20,
    ) as simulator:
        assert simulator["CP-3"].connected


async def test_profile_3_refuses_a_missing_expired_misnamed_or_foreign_certificate(  # type: ignore[no-untyped-def]
    tls_server: Voltline, api, pki: Pki
) -> None:
    await register(api, "CP-3", 3)
    url = wss(tls_server, "CP-3")
    past = dt.datetime(2020, 1, 1)
    refusals = {
        "none": await refused_status(url, ssl=pki.client_context(), additional_headers=basic("CP-3", "any")),
        "plain": await refused_status(ws(tls_server, "CP-3")),
        "expired": await refused_status(url, ssl=pki.client_context(
            pki.client_files("CP-3", not_before=past, not_after=past + dt.timedelta(days=365), name="old"))),
        "misnamed": await refused_status(url, ssl=pki.client_context(pki.client_files("CP-4"))),
        "other organization": await refused_status(url, ssl=pki.client_context(
            pki.client_files("CP-3", organization="Someone Else", name="other-org"))),
    }
    assert refusals == {"none": 403, "plain": 403, "expired": 403, "misnamed": 403, "other organization": 403}

    # A certificate of another CA does not get through TLS itself: the server ends the handshake.
    foreign = trustme.CA(organization_name=ORGANIZATION)
    with pytest.raises((ssl.SSLError, ConnectionError, websockets.exceptions.InvalidMessage, EOFError)):
        async with websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=20,
                                      ssl=pki.client_context(pki.client_files("CP-3", ca=foreign, name="foreign"))):
            pass

    events = await security_events(api, "CP-3", 3)
    reasons = " | ".join(e["detail"]["tech_info"] for e in events if e["status"] == "InvalidChargePointCertificate")
    assert "requires a client certificate" in reasons
    assert "expired" in reasons
    assert "subject CN is 'CP-4'" in reasons
    assert any(e["status"] == "InsecureConnection" for e in events)
    # Still nothing that got in: none of these is connected.
    assert (await api.get("/api/v1/charge-points/CP-3")).json()["connected"] is False


async def test_tls_1_1_is_refused(tls_server: Voltline, pki: Pki) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.ca.configure_trust(context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client is willing: the server must say no
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.open_connection("127.0.0.1", tls_server.ocpp_tls_port, ssl=context, server_hostname="127.0.0.1")
    # TLS 1.2 with a suite of the whitepaper is served.
    context = pki.client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    reader, writer = await asyncio.open_connection("127.0.0.1", tls_server.ocpp_tls_port, ssl=context,
                                                   server_hostname="127.0.0.1")
    ssl_object = writer.get_extra_info("ssl_object")
    assert ssl_object.version() == "TLSv1.2" and ssl_object.cipher()[0] in (
        "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    )
    writer.close()



async def test_hostile_tls_clients_are_dropped_while_a_neighbour_is_served(start_server, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    cert, key = pki.server_files()
    server = await start_server(ocpp_tls_cert=cert, ocpp_tls_key=key, ocpp_tls_port=0, auto_register=True,
                                handshake_timeout=1.0)
    port = server.ocpp_tls_port

    async def closed_by_server(reader: asyncio.StreamReader) -> bool:
        async with asyncio.timeout(15):
            try:
                return await reader.read(65536) in (b"", None) or await reader.read(65536) == b""
            except (ConnectionError, ssl.SSLError):
                return True

    # Bytes that are not TLS at all, and a client that opens the socket and never says hello.
    garbage_reader, garbage = await asyncio.open_connection("127.0.0.1", port)
    garbage.write(b"GET /ocpp/CP-X HTTP/1.1\r\n\r\n" + b"\x00" * 4096)
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", port)
    # One that finishes TLS but never sends the WebSocket upgrade.
    no_upgrade_reader, no_upgrade = await asyncio.open_connection("127.0.0.1", port, ssl=pki.client_context(),
                                                                  server_hostname="localhost")
    # And one that sends a frame far past the size limit after a good upgrade.
    async with websockets.connect(wss(server, "CP-BIG"), subprotocols=["ocpp1.6"], ssl=pki.client_context(),
                                  max_size=None) as big:
        await big.send('[2, "1", "DataTransfer", {"vendorId": "x", "data": "' + "x" * 3_000_000 + '"}]')
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            async with asyncio.timeout(15):
                await big.recv()
    assert await boot_with_ocpp_package(wss(server, "CP-NEIGHBOUR"), pki.client_context()) == "Accepted"
    assert await closed_by_server(garbage_reader)
    assert await closed_by_server(silent_reader)
    assert await closed_by_server(no_upgrade_reader)
    for writer in (garbage, silent, no_upgrade):
        writer.close()
    assert await boot_with_ocpp_package(wss(server, "CP-NEIGHBOUR"), pki.client_context()) == "Accepted"

# -- certificate files re-read ---------------------------------------------------------------------


async def test_a_renewed_server_certificate_is_used_without_a_restart(start_server, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    cert, key = pki.server_files()
    server = await start_server(ocpp_tls_cert=cert, ocpp_tls_key=key, ocpp_tls_port=0, tls_reload_interval=0.2,
                                auto_register=True)
    renewed_by = trustme.CA()
    old_client = pki.client_context()
    new_client = pki.client_context(ca=renewed_by)
    assert await boot_with_ocpp_package(wss(server, "CP-R"), old_client) == "Accepted"
    with pytest.raises(ssl.SSLCertVerificationError):
        await boot_with_ocpp_package(wss(server, "CP-R"), new_client)

    new_cert, new_key = pki.server_files(renewed_by, name="renewed")
    Path(key).write_bytes(Path(new_key).read_bytes())  # the key first: a half-changed pair is not taken
    Path(cert).write_bytes(Path(new_cert).read_bytes())

    async def new_one_served() -> bool:
        try:
            return await boot_with_ocpp_package(wss(server, "CP-R"), new_client) == "Accepted"
        except ssl.SSLCertVerificationError:
            return False

    assert await until(new_one_served)
    with pytest.raises(ssl.SSLCertVerificationError):
        await boot_with_ocpp_package(wss(server, "CP-R"), old_client)



async def test_a_client_ca_added_is_trusted_and_one_taken_out_is_refused_without_a_restart(  # type: ignore[no-untyped-def]
    start_server, pki: Pki
) -> None:
    cert, key = pki.server_files()
    ca_file = pki.ca_file()
    server = await start_server(ocpp_tls_cert=cert, ocpp_tls_key=key, ocpp_tls_port=0, ocpp_tls_client_ca=ca_file,
                                certificate_organization=ORGANIZATION, tls_reload_interval=0.2)
    _, secret = await server.services.tokens.create("tests")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}",
                                 headers={"Authorization": f"Bearer {secret}"}, timeout=30) as api:
        await register(api, "CP-CA", 3)
        second = trustme.CA(organization_name=ORGANIZATION)
        by_second = pki.client_context(pki.client_files("CP-CA", ca=second, name="by-second"))
        url = wss(server, "CP-CA")

        # Through an intermediate CA the charge point sends along: the root alone is in the file.
        through_intermediate = pki.client_files("CP-CA", ca=pki.ca.create_child_ca(), name="by-intermediate")
        assert await boot_with_ocpp_package(url, pki.client_context(through_intermediate)) == "Accepted"

        Path(ca_file).write_bytes(pki.ca.cert_pem.bytes() + second.cert_pem.bytes())  # a CA added

        async def accepted() -> bool:
            try:
                return await boot_with_ocpp_package(url, by_second) == "Accepted"
            except (ssl.SSLError, ConnectionError, websockets.exceptions.InvalidMessage, EOFError):
                return False

        assert await until(accepted)

        Path(ca_file).write_bytes(pki.ca.cert_pem.bytes())  # and taken out again
        statuses: list[int] = []

        async def refused() -> bool:
            try:
                statuses.append(await refused_status(url, ssl=by_second))
            except pytest.fail.Exception:
                return False  # still let in: the file is not re-read yet
            return True

        assert await until(refused)
        assert statuses[-1] == 403
        events = await security_events(api, "CP-CA", 1)
        assert any(e["status"] == "InvalidChargePointCertificate" for e in events)

# -- TLS ended by a proxy in front -----------------------------------------------------------------


async def test_a_proxys_certificate_header_counts_from_a_trusted_address_only(start_server, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(
        ocpp_tls_client_ca=pki.ca_file(), certificate_organization=ORGANIZATION, ocpp_trusted_proxies=["127.0.0.1"],
        ocpp_proxy_client_cert_header="X-SSL-Client-Cert",
    )
    await server.services.charge_points.register("CP-P", security_profile=3)
    cert_file, _ = pki.client_files("CP-P")
    leaf_pem = Path(cert_file).read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    # As nginx's $ssl_client_escaped_cert.
    headers = {"X-Forwarded-Proto": "https", "X-SSL-Client-Cert": quote(leaf_pem, safe="")}

    async with websockets.connect(ws(server, "CP-P"), subprotocols=["ocpp1.6"], additional_headers=headers) as conn:
        assert conn.subprotocol == "ocpp1.6"
    # The same request from an address that is not the proxy's: the header is ignored.
    assert await refused_status(ws(server, "CP-P"), additional_headers=headers, local_addr=("127.0.0.2", 0)) == 403
    # From the proxy: a certificate of another CA, or none, does not pass either.
    foreign_file, _ = pki.client_files("CP-P", ca=trustme.CA(organization_name=ORGANIZATION), name="foreign")
    foreign_pem = Path(foreign_file).read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    assert await refused_status(
        ws(server, "CP-P"), additional_headers={**headers, "X-SSL-Client-Cert": quote(foreign_pem, safe="")}
    ) == 403
    assert await refused_status(ws(server, "CP-P"), additional_headers={"X-Forwarded-Proto": "https"}) == 403


# -- the HTTP listener ----------------------------------------------------------------------------


async def test_the_http_listener_serves_https(start_server, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    cert, key = pki.server_files(name="http")
    server = await start_server(tls_cert=cert, tls_key=key)
    async with httpx.AsyncClient(verify=pki.client_context(), timeout=30) as client:
        response = await client.get(f"https://127.0.0.1:{server.http_port}/health")
    assert response.status_code == 200


async def test_sighup_rereads_the_certificate_of_a_running_server(  # type: ignore[no-untyped-def]
    database_url: str, pki: Pki, tmp_path: Path
) -> None:
    from tests.integration.test_durability import _free_port

    cert, key = pki.server_files()
    tls_port, http_port = _free_port(), _free_port()
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url, "VOLTLINE_AUTO_REGISTER": "true",
           "VOLTLINE_OCPP_TLS_CERT": cert, "VOLTLINE_OCPP_TLS_KEY": key, "VOLTLINE_OCPP_TLS_PORT": str(tls_port),
           "VOLTLINE_TLS_RELOAD_INTERVAL": "3600"}  # only the signal re-reads the files here
    log = tmp_path / "serve.log"
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "serve", "--ocpp-port", str(_free_port()), "--port", str(http_port),
        env=env, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT,
    )

    async def serving() -> bool:
        assert server.returncode is None, log.read_text()[-2000:]
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{http_port}/health")).status_code == 200
        except httpx.TransportError:
            return False

    await until(serving, timeout=90)  # a busy host starts it slowly
    url = f"wss://127.0.0.1:{tls_port}/ocpp/CP-HUP"
    try:
        assert await boot_with_ocpp_package(url, pki.client_context()) == "Accepted"
        renewed_by = trustme.CA()
        new_cert, new_key = pki.server_files(renewed_by, name="renewed")
        Path(key).write_bytes(Path(new_key).read_bytes())
        Path(cert).write_bytes(Path(new_cert).read_bytes())
        server.send_signal(signal.SIGHUP)

        async def renewed() -> bool:
            try:
                return await boot_with_ocpp_package(url, pki.client_context(ca=renewed_by)) == "Accepted"
            except ssl.SSLCertVerificationError:
                return False

        assert await until(renewed)
        assert server.returncode is None  # re-read, not restarted
    finally:
        server.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await server.wait()


# -- revoked by Voltline's own certificate authority ----------------------------------------------


async def test_a_certificate_revoked_by_voltline_is_refused(start_server, pki: Pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from typer.testing import CliRunner

    from tests.integration.ca_fixtures import make_csr
    from voltline.ca_cli import ca_app

    ca_cert, ca_key = tmp_path / "voltline-ca.pem", tmp_path / "voltline-ca.key"
    made = CliRunner().invoke(ca_app, ["init", "--cert", str(ca_cert), "--key", str(ca_key), "--organization", ORGANIZATION])
    assert made.exit_code == 0, made.output
    cert, key = pki.server_files()
    server = await start_server(
        ocpp_tls_cert=cert, ocpp_tls_key=key, ocpp_tls_port=0, ocpp_tls_client_ca=str(ca_cert),
        ca_cert=str(ca_cert), ca_key=str(ca_key), certificate_organization=ORGANIZATION,
    )
    await server.services.charge_points.register("CP-REV", security_profile=3)
    csr, private_key = make_csr("CP-REV", organization=ORGANIZATION)
    signed = await server.services.certificates.sign_request("CP-REV", csr)
    assert signed is not None
    chain = pki.write("cp-rev-chain.pem", signed.chain.encode())
    key_file = pki.write("cp-rev-key.pem", private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = pki.client_context((chain, key_file))
    assert await boot_with_ocpp_package(wss(server, "CP-REV"), context) == "Accepted"

    _, secret = await server.services.tokens.create("tests")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}",
                                 headers={"Authorization": f"Bearer {secret}"}, timeout=30) as api:
        revoked = await api.post(f"/api/v1/certificates/{signed.serial}/revoke", json={"reason": "key leaked"})
        assert revoked.status_code == 200, revoked.text
        assert await refused_status(wss(server, "CP-REV"), ssl=pki.client_context((chain, key_file))) == 403
        events = await security_events(api, "CP-REV", 1)
    assert any("was revoked" in e["detail"].get("tech_info", "") for e in events)
    # Another node, or this one after a restart: the revocation is read from the database.
    again = await start_server(
        ocpp_tls_cert=cert, ocpp_tls_key=key, ocpp_tls_port=0, ocpp_tls_client_ca=str(ca_cert),
        ca_cert=str(ca_cert), ca_key=str(ca_key), certificate_organization=ORGANIZATION,
    )
    assert await refused_status(wss(again, "CP-REV"), ssl=pki.client_context((chain, key_file))) == 403
