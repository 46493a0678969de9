"""SIGTERM and SIGINT stop `voltline serve` gracefully: charge points get a close frame (1001),
event streams end, the message log's last frames are written, and the process exits 0."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.integration.test_bad_input import _outage
from tests.integration.test_durability import _free_port, _serve
from tests.ocpp_client import OcppClient
from tests.web.conftest import PASSWORD, USERNAME, csrf_of
from voltline.store import tables as t
from voltline.store.database import create_engine
from tests.logged_frames import logged_frames
from voltline.services.message_log.search import FrameQuery

CHARGE_POINTS = [f"CP-STOP-{n}" for n in range(5)]
# Bounds for the test only: a graceful stop takes a few seconds at most.
EXIT_WITHIN_S = 30.0


async def _voltline(database_url: str, *arguments: str) -> str:
    """Run a `voltline` command against the database; its last line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", *arguments,
        env={**os.environ, "VOLTLINE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    return out.decode().strip().splitlines()[-1]


@asynccontextmanager
async def _dashboard(http_port: int) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in dashboard client, as an operator's browser tab."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=EXIT_WITHIN_S) as client:
        token = csrf_of((await client.get("/login")).text)
        response = await client.post(
            "/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token, "next": "/"}
        )
        assert response.status_code == 303, response.text
        yield client


async def _read_to_the_end(chunks: AsyncIterator[str]) -> str:
    rest = ""
    async with asyncio.timeout(EXIT_WITHIN_S):
        async for chunk in chunks:  # ends when the server ends the stream
            rest += chunk
    return rest


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_closes_every_connection_ends_streams_and_flushes_the_log(
    database_url: str, tmp_path: Path, signal_number: int
) -> None:
    token = await _voltline(database_url, "token", "create", "--name", "stop-test")
    await _voltline(database_url, "user", "create", USERNAME, "--password", PASSWORD)
    ocpp_port, http_port = _free_port(), _free_port()
    log = tmp_path / "serve.log"
    server = await _serve(database_url, ocpp_port, http_port, log)
    last_ids: list[str] = []
    try:
        clients = [await OcppClient.connect(f"ws://127.0.0.1:{ocpp_port}/ocpp/{cp}") for cp in CHARGE_POINTS]
        for client in clients:
            await client.boot()
        async with (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{http_port}", headers={"Authorization": f"Bearer {token}"},
                timeout=EXIT_WITHIN_S,
            ) as api,
            _dashboard(http_port) as dashboard,
            api.stream("GET", "/api/v1/events") as events,
            dashboard.stream("GET", "/live") as live,
        ):
            assert events.status_code == 200 and live.status_code == 200
            # Both streams are subscribed once their first lines arrived.
            event_chunks, live_chunks = events.aiter_text(), live.aiter_text()
            assert "subscribed" in await anext(event_chunks)
            assert "connected" in await anext(live_chunks)
            # The frames answered just before the signal live only in the message log's memory.
            for n, client in enumerate(clients):
                answer = await client.call("Heartbeat", {}, message_id=f"last-{n}")
                assert answer[0] == 3
                last_ids.append(answer[1])
            server.send_signal(signal_number)
            rest = await asyncio.gather(_read_to_the_end(event_chunks), _read_to_the_end(live_chunks))
            assert all("server.stopping" in text for text in rest), rest
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
            logged = await logged_frames(conn, FrameQuery(message_ids=frozenset(last_ids)))
            connected = (await conn.execute(sa.select(t.charge_points.c.id).where(t.charge_points.c.connected))).all()
    finally:
        await engine.dispose()
    assert sorted((f.message_id, f.direction) for f in logged) == sorted((i, d) for i in last_ids for d in ("in", "out"))
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
    # The one line is the last: no task unwinds after it (the outage itself is logged before).
    assert output.strip().splitlines()[-1].startswith("voltline: SIGINT again: stopped at once"), output[-3000:]
    assert "Exception in ASGI application" not in output


async def test_the_demo_stops_on_ctrl_c_with_a_dashboard_tab_open(tmp_path: Path) -> None:
    ocpp_port, http_port = _free_port(), _free_port()
    log = tmp_path / "demo.log"
    env = {
        **os.environ, "VOLTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "VOLTLINE_PORT": str(http_port), "VOLTLINE_OCPP_PORT": str(ocpp_port), "COLUMNS": "200",
    }
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "serve", "--demo", env=env,
        stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=EXIT_WITHIN_S) as tab:
            async with asyncio.timeout(EXIT_WITHIN_S):
                while not (login := re.search(r"login admin / (\S+)", log.read_text())):
                    assert demo.returncode is None, log.read_text()
                    await asyncio.sleep(0.1)
            token = csrf_of((await tab.get("/login")).text)
            response = await tab.post(
                "/login", data={"username": "admin", "password": login.group(1), "csrf_token": token, "next": "/"}
            )
            assert response.status_code == 303, response.text
            async with tab.stream("GET", "/live") as live:
                chunks = live.aiter_text()
                assert "connected" in await anext(chunks)
                demo.send_signal(signal.SIGINT)
                await _read_to_the_end(chunks)
        async with asyncio.timeout(EXIT_WITHIN_S):
            code = await demo.wait()
    finally:
        if demo.returncode is None:
            demo.kill()
            await demo.wait()
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "voltline: stopped (" in output, output
    assert "Traceback" not in output and "Exception in ASGI application" not in output
