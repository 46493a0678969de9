"""Fixtures that run the real thing: a Voltline server on free ports, over SQLite and PostgreSQL.

The database matrix: every test that uses `server` (or `database_url`) runs once per backend.
PostgreSQL comes from VOLTLINE_TEST_POSTGRES_URL (default: the local server, database `test`);
each test session works in a database of its own, created and dropped here. Where no PostgreSQL
answers, its half of the matrix is skipped with the reason — except under CI, where it fails.
"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.ocpp_client import OcppClient
from voltline.app import Voltline
from voltline.config import Settings
from voltline.store.database import create_engine
from voltline.store.tables import metadata

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """What a test leaves alive (compiled validators and SQL, caches, what its servers left
    reachable) adds up over the suite's thousand tests in one process to gigabytes, and the
    collector's full passes over all of it held a later test's event loop for tens of seconds
    (a setup of 29 s, a 2.0.1 start unanswered for 10 s, a browser's page load over 15 s), and
    the process's exit for minutes. So once a test's fixtures are gone, what it left is
    collected once and frozen out of every later pass, as `voltline serve` does after start-up."""
    yield
    gc.collect()
    gc.freeze()


POSTGRES_URL = os.environ.get("VOLTLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("VOLTLINE_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {reason}")


async def postgres_admin(statement: str) -> None:
    """Run one statement on the PostgreSQL server outside any transaction (CREATE DATABASE …)."""
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def _admin(statement: str) -> None:
    """postgres_admin from a thread of its own: session fixtures may be set up while a test's
    event loop is running."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, postgres_admin(statement)).result()


def _database_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _url_of(name: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}"


@asynccontextmanager
async def own_postgres_database(prefix: str) -> AsyncIterator[str]:
    """A new database with no schema on the PostgreSQL server, for as long as the block runs."""
    name = _database_name(prefix)
    try:
        await postgres_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL means the same
        _postgres_unavailable(str(exc).splitlines()[0])
    try:
        yield _url_of(name)
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_database() -> Any:
    """A database of this test session's own on the PostgreSQL server (created once, dropped at the end)."""
    name = _database_name("voltline_test")
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL means the same
        _postgres_unavailable(str(exc).splitlines()[0])
    yield _url_of(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'voltline.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    # Leave an empty database behind for the next test: faster than recreating the schema.
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            existing = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name in existing)
            if names:
                await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


ServerFactory = Callable[..., Awaitable[Voltline]]


@pytest.fixture
async def start_server(database_url: str) -> AsyncIterator[ServerFactory]:
    """Start Voltline servers on free ports; `await start_server(auto_register=True, …)` overrides settings."""
    started: list[Voltline] = []

    async def start(**overrides: Any) -> Voltline:
        settings = Settings(
            **{
                "database_url": database_url,
                "host": "127.0.0.1",
                "port": 0,
                "ocpp_host": "127.0.0.1",
                "ocpp_port": 0,
                "node_id": f"test-{uuid.uuid4().hex[:6]}",
                **overrides,
            }
        )
        voltline = Voltline(settings)
        await voltline.start()
        started.append(voltline)
        return voltline

    yield start
    for voltline in reversed(started):
        await voltline.stop()


@pytest.fixture
async def server(start_server: ServerFactory) -> Voltline:
    return await start_server()


@pytest.fixture
async def api_token(server: Voltline) -> str:
    _, secret = await server.services.tokens.create("tests")
    return secret


@pytest.fixture
async def api(server: Voltline, api_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.http_port}",
        headers={"Authorization": f"Bearer {api_token}"},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
async def connect(server: Voltline) -> AsyncIterator[Callable[..., Awaitable[OcppClient]]]:
    """`await connect("CP-1")`: a raw OCPP 1.6 client connected to `server`, closed after the test."""
    clients: list[OcppClient] = []

    async def _connect(identity: str, **kwargs: Any) -> OcppClient:
        client = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", **kwargs)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.close()
