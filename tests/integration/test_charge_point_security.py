"""A charge point's security from the API, over real WebSockets on SQLite and PostgreSQL: its
password rotated (switched only once it accepted), its security profile raised (never lowered, not
to 3 without a certificate), its root certificates, and the simulator's own certificate."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import InvalidStatus

from tests.integration import ca_fixtures, sim_fixtures
from tests.integration.ca_fixtures import CaFiles, ConnectStation, Script
from tests.integration.sim_fixtures import Central, StationFactory, eventually
from voltline.app import Voltline
from tests.logged_frames import store_frames
from voltline.services.message_log.search import FrameQuery

ca_files = ca_fixtures.ca_files
server = ca_fixtures.server
server_settings = ca_fixtures.server_settings
ocpp_station = ca_fixtures.ocpp_station
central = sim_fixtures.central
station = sim_fixtures.station

OLD_PASSWORD = "the-first-password-16"


async def _handshake(server: Voltline, identity: str, password: str) -> int:
    """The HTTP status of a handshake with this password: 101 when the WebSocket opened."""
    token = base64.b64encode(f"{identity}:{password}".encode()).decode()
    try:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": f"Basic {token}"}, ping_interval=None,
        )
    except InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    return 101


# -- passwords ---------------------------------------------------------------------------------------


async def test_a_rotated_password_is_switched_once_accepted(
    central: Central, ocpp_station: ConnectStation, server: Voltline
) -> None:
    await central.post("/charge-points", {"id": "CP-1", "password": OLD_PASSWORD}, expect=201)
    script = Script()
    await ocpp_station("CP-1", password=OLD_PASSWORD, script=script)

    rotated = await central.post("/charge-points/CP-1/password", {})
    assert rotated["status"] == "Accepted" and rotated["switched"] is True
    new = rotated["password"]
    assert 16 <= len(new) <= 40
    assert script.changes == [{"key": "AuthorizationKey", "value": new}]
    assert await _handshake(server, "CP-1", OLD_PASSWORD) == 401
    assert await _handshake(server, "CP-1", new) == 101
    # The password is no configuration value anyone may read back.
    keys = (await central.get("/charge-points/CP-1/configuration"))["items"]
    assert all(k["key"] != "AuthorizationKey" for k in keys)
    # Beside the refused handshake with the old password (FailedToAuthenticateAtCentralSystem).
    [event] = [e for e in await central.wait_event("CP-1", "security", "PasswordChanged")
               if e["status"] == "PasswordChanged"]
    assert event["detail"] == {"answer": "Accepted"}
    # Nor is it in the message log, which keeps every other frame as it crossed the wire.
    await central.log_written()
    logged = [row.payload for row in await store_frames(
        server.store, FrameQuery(charge_point_id="CP-1", action="ChangeConfiguration"))]
    assert len(logged) == 2 and all(new not in payload for payload in logged)
    assert any('"key":"AuthorizationKey","value":"********"' in payload for payload in logged)


async def test_a_refused_password_leaves_the_old_one(
    central: Central, ocpp_station: ConnectStation, server: Voltline
) -> None:
    await central.post("/charge-points", {"id": "CP-1", "password": OLD_PASSWORD}, expect=201)
    script = Script(change_configuration="Rejected")
    await ocpp_station("CP-1", password=OLD_PASSWORD, script=script)

    chosen = "Chosen-by-operator-2026"
    rotated = await central.post("/charge-points/CP-1/password", {"password": chosen})
    assert rotated == {"status": "Rejected", "switched": False, "password": None}
    assert script.changes == [{"key": "AuthorizationKey", "value": chosen}]
    assert await _handshake(server, "CP-1", chosen) == 401
    assert await _handshake(server, "CP-1", OLD_PASSWORD) == 101
    await central.wait_event("CP-1", "security", "PasswordChangeRefused")


async def test_a_password_outside_the_whitepapers_rule_is_not_sent(
    central: Central, ocpp_station: ConnectStation
) -> None:
    await central.post("/charge-points", {"id": "CP-1", "password": OLD_PASSWORD}, expect=201)
    script = Script()
    await ocpp_station("CP-1", password=OLD_PASSWORD, script=script)
    for bad in ("fifteen-chars-1", "x" * 41, "has spaces in it, sixteen+"):
        response = await central.api.post("/api/v1/charge-points/CP-1/password", json={"password": bad})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_password"
    hand_sent = await central.api.post(
        "/api/v1/charge-points/CP-1/commands/ChangeConfiguration", json={"key": "AuthorizationKey", "value": "short"}
    )
    assert hand_sent.status_code == 400
    assert script.changes == []


async def test_a_hand_sent_authorization_key_is_switched_too(
    central: Central, station: StationFactory, server: Voltline
) -> None:
    cp = await station("CP-1")
    new = "Hand-sent-password-0042"
    answer = await central.command("CP-1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": new})
    assert answer == {"status": "Accepted"}
    assert cp.password == new  # the simulator uses it from its next connection on
    assert await _handshake(server, "CP-1", new) == 101
    assert await _handshake(server, "CP-1", "Some-other-password-42") == 401


# -- security profiles -------------------------------------------------------------------------------


async def test_profile_3_is_refused_without_a_certificate_and_sent_with_one(
    central: Central, ocpp_station: ConnectStation
) -> None:
    await central.post("/charge-points", {"id": "CP-1", "password": OLD_PASSWORD}, expect=201)
    script = Script()
    await ocpp_station("CP-1", password=OLD_PASSWORD, script=script)

    refused = await central.api.post("/api/v1/charge-points/CP-1/security-profile", json={"security_profile": 3})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_certificate"
    by_hand = await central.api.post(
        "/api/v1/charge-points/CP-1/commands/ChangeConfiguration", json={"key": "SecurityProfile", "value": "3"}
    )
    assert by_hand.status_code == 409 and by_hand.json()["error"]["code"] == "no_certificate"
    assert script.changes == []

    await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})

    async def delivered() -> bool:
        items = (await central.get("/certificates", charge_point_id="CP-1"))["items"]
        return bool(items) and items[0]["delivery_status"] == "Accepted"

    await eventually(delivered, "the charge point accepted its certificate")
    raised = await central.post("/charge-points/CP-1/security-profile", {"security_profile": 3})
    assert raised == {"status": "Accepted", "security_profile": 3}
    assert script.changes == [{"key": "SecurityProfile", "value": "3"}]
    keys = {k["key"]: k["value"] for k in (await central.get("/charge-points/CP-1/configuration"))["items"]}
    assert keys["SecurityProfile"] == "3"

    lower = await central.api.post("/api/v1/charge-points/CP-1/security-profile", json={"security_profile": 2})
    assert lower.status_code == 409 and lower.json()["error"]["code"] == "security_profile_not_raised"
    assert script.changes == [{"key": "SecurityProfile", "value": "3"}]
    await central.wait_event("CP-1", "security", "SecurityProfileLoweringRefused")


async def test_a_revoked_certificate_no_longer_allows_profile_3(
    central: Central, ocpp_station: ConnectStation
) -> None:
    await central.post("/charge-points", {"id": "CP-1", "password": OLD_PASSWORD}, expect=201)
    script = Script()
    await ocpp_station("CP-1", password=OLD_PASSWORD, script=script)
    await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})

    async def delivered() -> list[dict]:  # type: ignore[type-arg]
        items = (await central.get("/certificates", charge_point_id="CP-1"))["items"]
        return items if items and items[0]["delivery_status"] == "Accepted" else []

    [certificate] = await eventually(delivered, "the charge point accepted its certificate")
    await central.post(f"/certificates/{certificate['serial']}/revoke", {})
    refused = await central.api.post("/api/v1/charge-points/CP-1/security-profile", json={"security_profile": 3})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_certificate"
    assert script.changes == []


async def test_profile_1_needs_a_password(central: Central, ocpp_station: ConnectStation) -> None:
    await central.post("/charge-points", {"id": "CP-1"}, expect=201)
    script = Script()
    await ocpp_station("CP-1", script=script)
    refused = await central.api.post("/api/v1/charge-points/CP-1/security-profile", json={"security_profile": 1})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_password"
    assert script.changes == []


# -- root certificates on the charge point ------------------------------------------------------------


def _root(name: str, serial: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    at = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(serial).not_valid_before(at).not_valid_after(at + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


async def test_root_certificates_installed_read_and_deleted_are_recorded(
    central: Central, station: StationFactory
) -> None:
    cp = await station("CP-1")
    kind = {"certificateType": "CentralSystemRootCertificate"}
    first, second = _root("Root One", 0xBEEF), _root("Root Two", 0x0102)

    for pem in (first, second):
        assert await central.command("CP-1", "InstallCertificate", {**kind, "certificate": pem}) == {"status": "Accepted"}
    installed = (await central.get("/charge-points/CP-1/installed-certificates"))["items"]
    # Named by Voltline as the station names them (its own DER reading, no crypto library).
    station_ids = cp.certificates.ids("CentralSystemRootCertificate")
    assert sorted((i["issuer_name_hash"], i["issuer_key_hash"], i["serial_number"]) for i in installed) == sorted(
        (h["issuerNameHash"], h["issuerKeyHash"], h["serialNumber"]) for h in station_ids
    )
    assert {i["pem"] for i in installed} == {first, second}

    beef = next(h for h in station_ids if h["serialNumber"] == "beef")
    assert await central.command("CP-1", "DeleteCertificate", {"certificateHashData": beef}) == {"status": "Accepted"}
    installed = (await central.get("/charge-points/CP-1/installed-certificates"))["items"]
    assert [i["serial_number"] for i in installed] == ["102"]

    # Removed behind Voltline's back: GetInstalledCertificateIds says what is really there.
    cp.certificates.delete(next(h for h in station_ids if h["serialNumber"] == "102"))
    assert await central.command("CP-1", "GetInstalledCertificateIds", kind) == {"status": "NotFound"}
    assert (await central.get("/charge-points/CP-1/installed-certificates"))["total"] == 0
    cp.certificates.install("CentralSystemRootCertificate", first)
    ids = await central.command("CP-1", "GetInstalledCertificateIds", kind)
    [listed] = (await central.get("/charge-points/CP-1/installed-certificates"))["items"]
    assert listed["serial_number"] == ids["certificateHashData"][0]["serialNumber"] == "beef"
    assert listed["pem"] is None  # read from the station, not installed through Voltline


# -- the simulator's own certificate --------------------------------------------------------------------


async def test_the_simulator_gets_a_certificate_and_presents_it_at_its_next_tls_connection(
    central: Central, station: StationFactory, ca_files: CaFiles, tmp_path: Path
) -> None:
    cp = await station("CP-1")
    answer = await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    assert answer == {"status": "Accepted"}
    await eventually(lambda: cp.client_certificate.chain_pem, "the simulator stores its certificate chain")

    async def delivered() -> list[dict]:  # type: ignore[type-arg]
        items = (await central.get("/certificates", charge_point_id="CP-1"))["items"]
        return items if items and items[0]["delivery_status"] == "Accepted" else []

    [listed] = await eventually(delivered, "Voltline records the simulator's Accepted")
    assert listed["serial"] == format(cp.client_certificate.serial, "x")

    # Its next connection, to a TLS listener that trusts Voltline's CA for client certificates
    # (as profile 3 does), presents the new certificate at the handshake.
    listener_tls, listener_ca = ca_fixtures.tls_listener(tmp_path, client_ca=ca_files.cert)
    seen: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        peer = ws.transport.get_extra_info("ssl_object").getpeercert()
        seen.append(dict(item[0] for item in peer["subject"])["commonName"])
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, ssl=listener_tls, subprotocols=["ocpp1.6"]) as listener:
        cp.url = f"wss://127.0.0.1:{listener.sockets[0].getsockname()[1]}/ocpp"
        cp.ca_file = str(listener_ca)
        await cp.drop_connection(reconnect_after=0.1)
        await eventually(lambda: seen, "the simulator reconnects over TLS")
    assert seen[0] == "CP-1"


async def test_a_chain_for_another_key_is_rejected_by_the_simulator(
    central: Central, station: StationFactory, ca_files: CaFiles
) -> None:
    cp = await station("CP-1")
    cp.client_certificate.request()
    foreign, _ = ca_fixtures.make_csr("CP-1")
    signed = ca_files.authority.sign(x509.load_pem_x509_csr(foreign.encode()), dt.timedelta(days=1))
    assert await central.command("CP-1", "CertificateSigned", {"certificateChain": signed.chain}) == {"status": "Rejected"}
    assert cp.client_certificate.chain_pem is None

