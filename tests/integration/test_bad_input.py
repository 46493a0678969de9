"""Bad input gets a clear CALLERROR, loses nothing, and never disturbs other charge points."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import postgres_admin
from tests.ocpp_client import OcppClient
from voltline.ocpp.v16.inbound import HANDLERS as HANDLERS_16
from voltline.store import tables as t
from tests.logged_frames import store_frames
from voltline.services.message_log.search import FrameQuery

T0 = "2026-11-01T10:00:00Z"


@pytest.fixture
async def pair(server, connect):  # type: ignore[no-untyped-def]
    """A misbehaving charge point and a well-behaved neighbour, both booted."""
    for identity in ("CP-BAD", "CP-GOOD"):
        await server.services.charge_points.register(identity)
    bad, good = await connect("CP-BAD"), await connect("CP-GOOD")
    await bad.boot()
    await good.boot()
    return bad, good


@pytest.mark.parametrize(
    ("raw", "message_id", "code"),
    [
        ("this is not json", "-1", "FormationViolation"),
        ('{"an": "object"}', "-1", "FormationViolation"),
        ("[2]", "-1", "FormationViolation"),
        ('[2, 17, "Heartbeat", {}]', "-1", "FormationViolation"),
        ('[2, "m1", "Heartbeat"]', "m1", "FormationViolation"),
        ('[2, "m2", "Heartbeat", []]', "m2", "FormationViolation"),
        ('[2, "m3", 5, {}]', "m3", "FormationViolation"),
        ('[7, "m4", "Heartbeat", {}]', "m4", "ProtocolError"),
        ('["2", "m5", "Heartbeat", {}]', "m5", "FormationViolation"),
        ('[2, "m6", "FlyToTheMoon", {}]', "m6", "NotImplemented"),
        ('[2, "m7", "Reset", {"type": "Hard"}]', "m7", "NotSupported"),
    ],
)
async def test_malformed_frames_are_answered_with_a_callerror(pair, raw: str, message_id: str, code: str) -> None:  # type: ignore[no-untyped-def]
    bad, good = pair
    await bad.send_raw(raw)
    answer = await bad.receive()
    assert answer[0] == 4 and answer[1] == message_id and answer[2] == code, answer
    assert isinstance(answer[3], str) and answer[3]
    # the connection and its neighbour keep working
    assert (await bad.ok("Heartbeat", {}))["currentTime"]
    assert (await good.ok("Heartbeat", {}))["currentTime"]


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("BootNotification", {"chargePointVendor": "V"}, "OccurenceConstraintViolation"),
        ("BootNotification", {"chargePointVendor": 7, "chargePointModel": "M"}, "TypeConstraintViolation"),
        ("BootNotification", {"chargePointVendor": "V" * 21, "chargePointModel": "M"}, "PropertyConstraintViolation"),
        ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"}, "FormationViolation"),
        ("StatusNotification", {"connectorId": 1, "status": "Sleeping", "errorCode": "NoError"}, "PropertyConstraintViolation"),
        ("StartTransaction", {"connectorId": "1", "idTag": "T", "meterStart": 0, "timestamp": T0}, "TypeConstraintViolation"),
        ("StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "yesterday"}, "PropertyConstraintViolation"),
        ("MeterValues", {"connectorId": 1, "meterValue": []}, "OccurenceConstraintViolation"),
    ],
)
async def test_schema_violations_get_the_matching_error_code(pair, action: str, payload: dict, code: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    bad, good = pair
    answer = await bad.call(action, payload, message_id="v1")
    assert answer[:3] == [4, "v1", code], answer
    assert (await good.ok("Heartbeat", {}))["currentTime"]


async def test_nothing_is_stored_from_a_rejected_payload(pair, server) -> None:  # type: ignore[no-untyped-def]
    bad, _ = pair
    await bad.call("StartTransaction", {"connectorId": 1, "idTag": "T" * 21, "meterStart": 0, "timestamp": T0})
    count = await server.store.fetch_one(sa.select(sa.func.count()).select_from(t.transactions))
    assert count[0] == 0


async def test_duplicate_message_id_while_the_first_is_in_progress(pair, server) -> None:  # type: ignore[no-untyped-def]
    bad, _ = pair
    frame = f'[2, "dup", "StartTransaction", {{"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "{T0}"}}]'
    await bad.send_raw(frame)
    await bad.send_raw(frame)
    answers = [await bad.receive(), await bad.receive()]
    kinds = sorted((a[0], a[2] if a[0] == 4 else "result") for a in answers)
    assert kinds == [(3, "result"), (4, "ProtocolError")]
    count = await server.store.fetch_one(sa.select(sa.func.count()).select_from(t.transactions))
    assert count[0] == 1


async def test_calls_sent_without_waiting_are_answered_in_order(pair) -> None:  # type: ignore[no-untyped-def]
    bad, _ = pair
    for n in range(5):
        await bad.send_raw(f'[2, "q{n}", "Heartbeat", {{}}]')
    ids = [(await bad.receive())[1] for _ in range(5)]
    assert ids == [f"q{n}" for n in range(5)]


async def test_an_oversize_frame_closes_only_that_connection(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(max_frame_bytes=64 * 1024)
    for identity in ("CP-BIG", "CP-GOOD"):
        await server.services.charge_points.register(identity)
    url = f"ws://127.0.0.1:{server.ocpp_port}/ocpp/"
    big, good = await OcppClient.connect(url + "CP-BIG"), await OcppClient.connect(url + "CP-GOOD")
    try:
        await good.boot()
        await big.send_raw('[2, "huge", "DataTransfer", {"vendorId": "x", "data": "' + "x" * 200_000 + '"}]')
        await asyncio.wait_for(big.ws.wait_closed(), 5)
        assert big.ws.close_code == 1009
        assert (await good.ok("Heartbeat", {}))["currentTime"]
        # and the charge point may come back
        again = await OcppClient.connect(url + "CP-BIG")
        assert (await again.boot())["status"] == "Accepted"
        await again.close()
    finally:
        await good.close()


async def test_binary_frames_are_refused(pair) -> None:  # type: ignore[no-untyped-def]
    bad, good = pair
    await bad.send_raw(b"\x00\x01")
    await asyncio.wait_for(bad.ws.wait_closed(), 5)
    assert bad.ws.close_code == 1003
    assert (await good.ok("Heartbeat", {}))["currentTime"]


async def test_lenient_actions_serve_a_charger_that_deviates_from_the_schema(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-ODD", lenient_actions=["BootNotification"])
    await server.services.charge_points.register("CP-STRICT")
    odd, strict = await connect("CP-ODD"), await connect("CP-STRICT")
    payload = {"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"}
    assert (await odd.ok("BootNotification", payload))["status"] == "Accepted"
    assert (await strict.call("BootNotification", payload))[2] == "FormationViolation"
    # lenient for the named action only
    assert (await odd.call("Heartbeat", {"extra": 1}))[2] == "FormationViolation"


async def test_a_database_outage_is_answered_with_internal_error_and_recovered_from(server, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    start = {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": T0}
    async with _outage(database_url):
        answer = await client.call("StartTransaction", start)
        assert answer[0] == 4 and answer[2] == "InternalError", answer
    # the server recovers by itself; the charge point retries and gets a real transaction
    for _ in range(50):
        answer = await client.call("StartTransaction", start)
        if answer[0] == 3:
            break
        await asyncio.sleep(0.2)
    assert answer[0] == 3 and isinstance(answer[2]["transactionId"], int)
    row = await server.store.fetch_one(sa.select(t.transactions.c.id))
    assert row.id == answer[2]["transactionId"]


async def test_frames_logged_while_the_database_is_away_are_written_once_it_is_back(server, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    server.services.message_log.hold = 0.0  # every periodic flush writes (and fails) at once
    client = await connect("CP-1")
    await client.boot()
    async with _outage(database_url):
        answer = await client.call("Heartbeat", {})
        await asyncio.sleep(0.6)  # a few of the log's periodic flushes fail meanwhile
    logged: list[Any] = []
    for _ in range(50):
        logged = await store_frames(server.store, FrameQuery(charge_point_id="CP-1", message_ids=frozenset([answer[1]])))
        if len(logged) == 2:
            break
        await asyncio.sleep(0.2)
    assert sorted((row.direction, row.message_type) for row in logged) == [("in", 2), ("out", answer[0])]
    assert server.services.message_log.dropped == 0


class _outage:
    """Make the database refuse writes: SQLite is locked by another process's exclusive
    transaction; PostgreSQL has this test database's connections refused and killed."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> None:
        if self.url.startswith("sqlite"):
            self._lock = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")
        else:
            name = self.url.rsplit("/", 1)[-1]
            await postgres_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await postgres_admin(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()",
            )

    async def __aexit__(self, *exc: object) -> None:
        if self.url.startswith("sqlite"):
            self._lock.execute("ROLLBACK")
            self._lock.close()
        else:
            name = self.url.rsplit("/", 1)[-1]
            await postgres_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def _deep_call(message_id: str, depth: int = 300) -> str:
    return f'[2, "{message_id}", "DataTransfer", {{"vendorId": "v", "data": {"[" * depth}1{"]" * depth}}}]'


async def test_a_deeply_nested_call_is_answered_with_one_log_line_and_disturbs_no_one(pair, caplog) -> None:  # type: ignore[no-untyped-def]
    bad, good = pair
    frame = _deep_call("deep")
    assert len(frame) < 700  # a small frame: 630 bytes froze the server
    caplog.clear()
    await bad.send_raw(frame)
    answer = await bad.receive()
    assert answer[:3] == [4, "deep", "FormationViolation"], answer
    assert (await good.ok("Heartbeat", {}))["currentTime"]
    assert (await bad.ok("Heartbeat", {}))["currentTime"]
    about_it = [r for r in caplog.records if r.name.startswith("voltline") and r.levelno >= logging.WARNING]
    assert len(about_it) == 1 and not about_it[0].exc_info, [r.getMessage() for r in about_it]


async def test_a_callresult_with_a_number_for_its_id_is_not_answered(pair) -> None:  # type: ignore[no-untyped-def]
    bad, _ = pair
    await bad.send_raw('[3, 17, {"status": "Accepted"}]')
    await bad.send_raw('[4, null, "InternalError", "", {}]')
    # The next frame the charge point gets is the answer to its next CALL, not a CALLERROR.
    await bad.send_raw('[2, "after", "Heartbeat", {}]')
    answer = await bad.receive()
    assert answer[:2] == [3, "after"], answer


async def test_a_charge_point_that_pipelines_calls_is_read_only_as_fast_as_it_is_answered(
    start_server, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    # A short keep-alive: a connection we do not read from is not silent, and must not be dropped.
    server = await start_server(ping_interval=2)
    limit = server.settings.max_inbound_calls
    for identity in ("CP-BAD", "CP-GOOD"):
        await server.services.charge_points.register(identity)
    url = f"ws://127.0.0.1:{server.ocpp_port}/ocpp/"
    bad, good = await OcppClient.connect(url + "CP-BAD"), await OcppClient.connect(url + "CP-GOOD")
    try:
        await bad.boot()
        await good.boot()
        # The server's handling is held (as by a slow database) while the charge point sends
        # 1,000 CALLs of 12.8 KB without waiting for any answer.
        release = asyncio.Event()
        original = HANDLERS_16["DataTransfer"]

        async def held(ctx, payload):  # type: ignore[no-untyped-def]
            await release.wait()
            return await original(ctx, payload)

        monkeypatch.setitem(HANDLERS_16, "DataTransfer", held)
        count, data = 1000, "x" * 12_800
        sent = 0

        async def pipeline() -> None:
            nonlocal sent
            for n in range(count):
                await bad.send_raw(json.dumps([2, f"p{n}", "DataTransfer", {"vendorId": "v", "data": data}]))
                sent += 1

        sender = asyncio.create_task(pipeline())
        connection = server.gateway.connections["CP-BAD"]
        loop = asyncio.get_running_loop()
        watch_until = loop.time() + 3.5
        peak = 0
        while not sender.done() and loop.time() < watch_until:
            peak = max(peak, connection.waiting + connection.session.backlog)
            await asyncio.sleep(0.005)
        # TCP holds the charge point back: it cannot hand over what the server does not read...
        assert not sender.done() and sent < count
        # ...and the server holds the limit, plus the rest of the read in which it was reached.
        assert limit <= peak <= limit + 16, peak
        # Meanwhile the neighbour is served, and our own call to the paused charge point is
        # answered once its CALLs are.
        assert (await good.ok("Heartbeat", {}))["currentTime"]
        bad.auto_answer["ClearCache"] = {"status": "Accepted"}
        command = asyncio.create_task(server.gateway.call("CP-BAD", "ClearCache", {}))
        release.set()
        answers = [await bad.receive(timeout=60) for _ in range(count)]
        assert [a[:2] for a in answers] == [[3, f"p{n}"] for n in range(count)]
        assert await command == {"status": "Accepted"}
        await sender
        assert "CP-BAD" in server.gateway.connections and not connection.paused
    finally:
        await bad.close()
        await good.close()
