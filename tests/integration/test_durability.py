"""What a charge point was told is stored survives `kill -9` of the server process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.ocpp_client import OcppClient
from voltline.store import tables as t
from voltline.store.database import create_engine

T0 = "2026-11-01T10:00:00Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serve(database_url: str, ocpp_port: int, http_port: int, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url, "VOLTLINE_AUTO_REGISTER": "true"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "serve", "--ocpp-port", str(ocpp_port), "--port", str(http_port),
        env=env, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(150):
            try:
                if (await client.get(f"http://127.0.0.1:{http_port}/health")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    process.kill()
    pytest.fail(f"voltline serve did not start: {log.read_text()[-2000:]}")


async def test_acknowledged_messages_survive_kill_9(database_url: str, tmp_path: Path) -> None:
    ocpp_port, http_port = _free_port(), _free_port()
    log = tmp_path / "serve.log"
    server = await _serve(database_url, ocpp_port, http_port, log)
    acknowledged: list[int] = []
    try:
        client = await OcppClient.connect(f"ws://127.0.0.1:{ocpp_port}/ocpp/CP-DURABLE")
        await client.boot()
        for n in range(20):
            started = await client.ok(
                "StartTransaction", {"connectorId": 1 + n % 2, "idTag": f"T{n}", "meterStart": n, "timestamp": T0}
            )
            acknowledged.append(started["transactionId"])
            await client.ok("MeterValues", {"connectorId": 1, "transactionId": started["transactionId"], "meterValue": [
                {"timestamp": T0, "sampledValue": [{"value": str(1000 + n)}]}
            ]})
        server.send_signal(signal.SIGKILL)
        await server.wait()
        client.abort()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            stored = {r.id for r in await conn.execute(sa.select(t.transactions.c.id))}
            samples = {r.value for r in await conn.execute(sa.select(t.meter_values.c.value))}
    finally:
        await engine.dispose()
    assert set(acknowledged) <= stored
    assert {1000.0 + n for n in range(20)} <= samples

    # and the server starts again on the same database, serving the same charge point
    server = await _serve(database_url, ocpp_port, http_port, log)
    try:
        client = await OcppClient.connect(f"ws://127.0.0.1:{ocpp_port}/ocpp/CP-DURABLE")
        again = await client.ok("StartTransaction", {"connectorId": 1, "idTag": "T0", "meterStart": 0, "timestamp": T0})
        assert again["transactionId"] == acknowledged[0]
        await client.close()
    finally:
        server.terminate()
        await server.wait()
