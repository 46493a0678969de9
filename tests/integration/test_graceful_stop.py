"""SIGTERM and SIGINT stop `voltline serve` gracefully: charge points get a close frame (1001),
event streams end, the message log's last frames are written, and the process exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.integration.test_bad_input import _outage
from tests.integration.test_durability import _free_port, _serve
from tests.ocpp_client import OcppClient
from voltline.store import tables as t
from voltline.store.database import create_engine

CHARGE_POINTS = [f"CP-STOP-{n}" for n in range(5)]
# Bounds for the test only: a graceful stop takes a few seconds at most.
EXIT_WITHIN_S = 30.0


async def _token(database_url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "token", "create", "--name", "stop-test",
        env={**os.environ, "VOLTLINE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    return out.decode().strip().splitlines()[-1]


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_closes_every_connection_ends_streams_and_flushes_the_log(
    database_url: str, tmp_path: Path, signal_number: int
) -> None:
    token = await _token(database_url)
    ocpp_port, http_port = _free_port(), _free_port()
    log = tmp_path / "serve.log"
    server = await _serve(database_url, ocpp_port, http_port, log)
    last_ids: list[str] = []
    try:
        clients = [await OcppClient.connect(f"ws://127.0.0.1:{ocpp_port}/ocpp/{cp}") for cp in CHARGE_POINTS]
        for client in clients:
            await client.boot()
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}", headers={"Authorization": f"Bearer {token}"}, timeout=EXIT_WITHIN_S
        ) as api:
            async with api.stream("GET", "/api/v1/events") as stream:
                assert stream.status_code == 200
                chunks = stream.aiter_text()
                assert "subscribed" in await anext(chunks)
                # The frames answered just before the signal live only in the message log's memory.
                for n, client in enumerate(clients):
                    answer = await client.call("Heartbeat", {}, message_id=f"last-{n}")
                    assert answer[0] == 3
                    last_ids.append(answer[1])
                server.send_signal(signal_number)
                rest = ""
                async with asyncio.timeout(EXIT_WITHIN_S):
                    async for chunk in chunks:  # ends when the server ends the stream
                        rest += chunk
                assert "server.stopping" in rest
        async with asyncio.timeout(EXIT_WITHIN_S):
            code = await server.wait()
            for client in clients:
                await client.ws.wait_closed()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()

    output = log.read_text()
    assert code == 0, output[-3000:]
    assert [client.ws.close_code for client in clients] == [1001] * len(clients)
    assert f"voltline: stopped ({len(clients)} charge points disconnected" in output
    assert "Traceback" not in output and "Exception in ASGI application" not in output

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            m = t.messages.c
            logged = (await conn.execute(
                sa.select(m.message_id, m.direction).where(m.message_id.in_(last_ids))
            )).all()
            connected = (await conn.execute(sa.select(t.charge_points.c.id).where(t.charge_points.c.connected))).all()
    finally:
        await engine.dispose()
    assert sorted(logged) == sorted((i, d) for i in last_ids for d in ("in", "out"))
    assert connected == []


async def test_a_second_signal_during_the_stop_ends_the_process_at_once_without_tracebacks(
    database_url: str, tmp_path: Path
) -> None:
    ocpp_port, http_port = _free_port(), _free_port()
    log = tmp_path / "serve.log"
    server = await _serve(database_url, ocpp_port, http_port, log)
    try:
        client = await OcppClient.connect(f"ws://127.0.0.1:{ocpp_port}/ocpp/CP-SLOW")
        await client.boot()
        # With the database away, the stop waits for it to write what is buffered.
        async with _outage(database_url):
            await client.ok("Heartbeat", {})
            server.send_signal(signal.SIGINT)
            async with asyncio.timeout(EXIT_WITHIN_S):
                await client.ws.wait_closed()  # the stop has begun
            assert server.returncode is None
            server.send_signal(signal.SIGINT)
            async with asyncio.timeout(EXIT_WITHIN_S):
                code = await server.wait()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    output = log.read_text()
    assert code == 128 + signal.SIGINT, output[-3000:]
    assert "voltline: SIGINT again: stopped at once" in output
    assert "Traceback" not in output and "Exception in ASGI application" not in output
