"""The handshake cannot stall the server: passwords are verified off the event loop, wrong ones
back off, a full hasher answers at once, and only OCPP identities get in. Over real sockets."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tests.ocpp_client import OcppClient
from voltline.app import Voltline
from voltline.config import Settings
from voltline.services.security import passwords as secrets
from voltline.store import tables as t

PASSWORD = "s3cret-passw0rd-16"


async def handshake(
    port: int, target: str, *, identity: str | None = None, password: str | None = None, pieces: int = 1
) -> tuple[int, dict[str, str]]:
    """Send a WebSocket upgrade request exactly as given (in `pieces` writes, each after a pause);
    the status and headers of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: ocpp1.6",
    ]
    if password is not None:
        lines.append("Authorization: Basic " + base64.b64encode(f"{identity}:{password}".encode()).decode())
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    size = -(-len(request) // pieces)
    for start in range(0, len(request), size):
        writer.write(request[start:start + size])
        await writer.drain()
        if start + size < len(request):
            await asyncio.sleep(0.05)
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    finally:
        writer.close()
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers


@pytest.fixture
def held_verification(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every password verification waits on the hasher's thread until the test sets the event."""
    release = threading.Event()
    real = secrets.verify_password

    def held(password: str, stored: str) -> bool:
        release.wait(30)
        return real(password, stored)

    monkeypatch.setattr(secrets, "verify_password", held)
    yield release
    release.set()


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def url(server: Voltline, identity: str) -> str:
    return f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}"


async def test_a_neighbour_is_answered_while_wrong_passwords_are_being_verified(start_server, held_verification) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(password_hash_threads=1, password_hash_queue=32)
    identities = [f"CP-SEC-{i}" for i in range(12)]
    for identity in identities:
        await server.services.charge_points.register(identity, password=PASSWORD)
    await server.services.charge_points.register("CP-NEIGHBOUR")
    neighbour = await OcppClient.connect(url(server, "CP-NEIGHBOUR"))
    try:
        await neighbour.boot()
        attempts = [
            asyncio.create_task(handshake(server.ocpp_port, f"/ocpp/{i}", identity=i, password="wrong-password"))
            for i in identities
        ]
        await until(lambda: server.services.passwords.pending == len(identities))

        # Every wrong password is still being verified, and the neighbour is served meanwhile.
        beat = await neighbour.ok("Heartbeat", {})
        assert "currentTime" in beat
        assert not any(attempt.done() for attempt in attempts)
        assert server.services.passwords.pending == len(identities)

        held_verification.set()
        answers = await asyncio.gather(*attempts)
        assert [status for status, _ in answers] == [401] * len(identities)
    finally:
        await neighbour.close()


async def test_wrong_passwords_back_off_the_charge_point_until_a_right_one_after_the_wait(  # type: ignore[no-untyped-def]
    server, held_verification
) -> None:
    await server.services.charge_points.register("CP-SEC", password=PASSWORD)
    held_verification.set()
    for _ in range(5):
        status, _ = await handshake(server.ocpp_port, "/ocpp/CP-SEC", identity="CP-SEC", password="wrong-password")
        assert status == 401

    # While backed off, the answer comes at once: no password is verified, the right one neither.
    held_verification.clear()
    status, headers = await handshake(server.ocpp_port, "/ocpp/CP-SEC", identity="CP-SEC", password=PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) >= 1
    assert server.services.passwords.pending == 0
    held_verification.set()

    await asyncio.sleep(int(headers["retry-after"]))
    client = await OcppClient.connect(url(server, "CP-SEC"), password=PASSWORD)
    try:
        assert (await client.boot())["status"] == "Accepted"
    finally:
        await client.close()
    # The success cleared the back-off: a wrong password is a plain 401 again.
    status, _ = await handshake(server.ocpp_port, "/ocpp/CP-SEC", identity="CP-SEC", password="wrong-password")
    assert status == 401


async def test_a_burst_of_concurrent_guesses_gets_no_more_hashes_than_the_back_off_allows(  # type: ignore[no-untyped-def]
    server, held_verification
) -> None:
    await server.services.charge_points.register("CP-SEC", password=PASSWORD)
    attempts = [
        asyncio.create_task(handshake(server.ocpp_port, "/ocpp/CP-SEC", identity="CP-SEC", password=f"guess-{i}"))
        for i in range(40)
    ]
    await until(lambda: sum(attempt.done() for attempt in attempts) == 35)
    assert [a.result()[0] for a in attempts if a.done()] == [429] * 35
    assert server.services.passwords.pending == 5
    held_verification.set()
    assert sorted(status for status, _ in await asyncio.gather(*attempts)) == [401] * 5 + [429] * 35


async def test_a_full_password_hasher_answers_503_at_once(start_server, held_verification) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(password_hash_threads=1, password_hash_queue=2)
    for i in range(4):
        await server.services.charge_points.register(f"CP-SEC-{i}", password=PASSWORD)
    waiting = [
        asyncio.create_task(handshake(server.ocpp_port, f"/ocpp/CP-SEC-{i}", identity=f"CP-SEC-{i}", password="wrong"))
        for i in range(3)
    ]
    await until(lambda: server.services.passwords.pending == 3)

    status, headers = await handshake(server.ocpp_port, "/ocpp/CP-SEC-3", identity="CP-SEC-3", password=PASSWORD)
    assert status == 503 and headers["retry-after"] == "1"
    assert not any(attempt.done() for attempt in waiting)

    held_verification.set()
    assert [status for status, _ in await asyncio.gather(*waiting)] == [401] * 3
    # A refusal for a busy hasher is no failed attempt: the right password gets in now.
    client = await OcppClient.connect(url(server, "CP-SEC-3"), password=PASSWORD)
    try:
        assert (await client.boot())["status"] == "Accepted"
    finally:
        await client.close()


async def test_a_repeat_of_the_right_password_and_a_charge_point_without_one_need_no_hash(  # type: ignore[no-untyped-def]
    server, held_verification
) -> None:
    await server.services.charge_points.register("CP-SEC", password=PASSWORD)
    await server.services.charge_points.register("CP-OPEN")
    held_verification.set()
    first = await OcppClient.connect(url(server, "CP-SEC"), password=PASSWORD)
    await first.close()
    held_verification.clear()  # from now on a hash would hang: none may be needed
    again = await OcppClient.connect(url(server, "CP-SEC"), password=PASSWORD)
    open_one = await OcppClient.connect(url(server, "CP-OPEN"))
    try:
        assert (await again.boot())["status"] == "Accepted"
        assert (await open_one.boot())["status"] == "Accepted"
        status, _ = await handshake(server.ocpp_port, "/ocpp/CP-SEC")
        assert status == 401  # no password at all: refused without a hash
    finally:
        await again.close()
        await open_one.close()


async def test_a_request_head_in_pieces_and_a_check_outlasting_the_handshake_timeout_are_handled(  # type: ignore[no-untyped-def]
    start_server, held_verification
) -> None:
    server = await start_server(handshake_timeout=1.0)
    await server.services.charge_points.register("CP-SEC", password=PASSWORD)
    # The handshake timeout bounds the wait for a password check too; an unsettled check is no failure.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ocpp_port)
    basic = base64.b64encode(b"CP-SEC:wrong-password").decode()
    writer.write(
        "GET /ocpp/CP-SEC HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: Basic {basic}\r\n\r\n".encode()
    )
    await until(lambda: server.services.passwords.pending == 1)
    assert await asyncio.wait_for(reader.read(), 20) == b""  # closed by the server, no answer
    writer.close()
    assert server.services.passwords.pending == 0
    assert server.services.charge_points.identity_failures.retry_after("CP-SEC") == 0
    held_verification.set()

    for identity_password, expected in (("wrong-password", 401), (PASSWORD, 101)):
        status, _ = await handshake(
            server.ocpp_port, "/ocpp/CP-SEC", identity="CP-SEC", password=identity_password, pieces=3
        )
        assert status == expected
    assert len(server.services.charge_points.identity_failures) == 0  # the success cleared the failure


BAD_TARGETS = ["/ocpp//", "/ocpp/a%2Fb", "/ocpp/%20", "/ocpp/" + "x" * 300, "/ocpp/" + "x" * 49, "/ocpp/caf%C3%A9"]


@pytest.mark.parametrize("target", BAD_TARGETS)
async def test_an_identity_outside_ocpps_rule_is_refused_with_400_and_registers_nothing(  # type: ignore[no-untyped-def]
    start_server, target: str
) -> None:
    server = await start_server(auto_register=True)
    status, _ = await handshake(server.ocpp_port, target)
    assert status == 400
    # A good identity after it gets in, so the refusal was not just a broken listener.
    client = await OcppClient.connect(url(server, "CP-" + "x" * 45))
    try:
        assert (await client.boot())["status"] == "Accepted"
    finally:
        await client.close()
    ids = [row.id for row in await server.store.fetch_all(sa.select(t.charge_points.c.id))]
    assert ids == ["CP-" + "x" * 45]


async def test_the_api_registers_only_ocpp_identities_and_still_reaches_older_ones(server, api) -> None:  # type: ignore[no-untyped-def]
    # The status the API answers a body that breaks its schema (400 in DESIGN §2).
    invalid = (await api.post("/api/v1/charge-points", json={"id": 7})).status_code
    assert invalid in (400, 422)
    for bad in ["a b", "a/b", "x" * 49, "café", ""]:
        response = await api.post("/api/v1/charge-points", json={"id": bad})
        assert response.status_code == invalid, (bad, response.text)
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-1.a_b~" + "x" * 39})).status_code == 201
    assert [row.id for row in await server.store.fetch_all(sa.select(t.charge_points.c.id))] == ["CP-1.a_b~" + "x" * 39]

    # A charge point registered before the rule stays addressable; only new ones must follow it.
    await server.store.write(lambda conn: conn.execute(t.charge_points.insert().values(id="OLD 7", connected=False)))
    assert (await api.get("/api/v1/charge-points/OLD%207")).status_code == 200
    assert (await api.patch("/api/v1/charge-points/OLD%207", json={"description": "kept"})).status_code == 200


def test_passwords_are_verified_the_same_on_uvloop_which_voltline_serve_runs(database_url: str) -> None:
    """The gate hands the socket from one protocol to another: uvloop's transports do that their own way."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        server = Voltline(Settings(database_url=database_url, port=0, ocpp_port=0, node_id="uvloop-test"))
        await server.start()
        try:
            await server.services.charge_points.register("CP-SEC", password=PASSWORD)
            await server.services.charge_points.register("CP-OPEN")
            assert (await handshake(server.ocpp_port, "/ocpp/CP-SEC", identity="CP-SEC", password="wrong"))[0] == 401
            assert (await handshake(server.ocpp_port, "/ocpp/a%2Fb"))[0] == 400
            for identity, password in (("CP-SEC", PASSWORD), ("CP-SEC", PASSWORD), ("CP-OPEN", None)):
                client = await OcppClient.connect(url(server, identity), password=password)
                try:
                    assert (await client.boot())["status"] == "Accepted"
                    assert "currentTime" in await client.ok("Heartbeat", {})
                finally:
                    await client.close()
        finally:
            await server.stop()

    uvloop.run(scenario())
