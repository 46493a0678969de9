"""Engines for SQLite and PostgreSQL as Voltline uses them: the async driver from an operator's
URL, SQLite's pragmas, a pool that checks only idle connections, and a connection that closes
without extra turns of the event loop."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from voltline.store.errors import DatabaseUnavailable


def async_url(url: str) -> str:
    """`sqlite:///x.db` and `postgresql://…` as operators write them, with the async driver named."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def create_engine(
    url: str, pool_size: int = 10, ping_idle_after: float = 10.0, statement_timeout: float | None = None,
    server_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    """`statement_timeout` (seconds, PostgreSQL only): the server cancels a longer statement;
    `server_settings`: more PostgreSQL settings of the pool's sessions."""
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 5})
        # Readers (and one-off writers such as the CLI) may wait briefly for the writer.
        sqlite_pragmas_on_connect(engine.sync_engine, busy_timeout_ms=5000)
        return engine
    settings = dict(server_settings or {})
    if statement_timeout:
        settings["statement_timeout"] = str(max(1, int(statement_timeout * 1000)))
    connect_args: dict[str, Any] = {"server_settings": settings} if settings else {}
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args)
    _ping_when_idle(engine.sync_engine, ping_idle_after)
    return engine


def _ping_when_idle(engine: sa.Engine, idle_after: float) -> None:
    """Check a pooled connection before use only when it has sat idle for `idle_after` seconds.

    A connection dropped while idle (a database restart, a firewall's timeout) is then replaced
    before anyone uses it, as with pool_pre_ping. But pool_pre_ping checks every checkout, and
    asyncpg's check is three round trips (BEGIN, an empty query, ROLLBACK), each a turn of a busy
    event loop: under load it doubled an operator's command latency. A connection used moments
    ago has just proven itself; if it died since, its error invalidates the pool and the next
    checkout connects afresh."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checking_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise sa.exc.DisconnectionError(f"idle connection is gone: {error}") from error


@asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """engine.connect(), closed in place when all went well.

    SQLAlchemy's context manager closes a connection in a task of its own, so that a
    cancellation cannot interrupt the close halfway; that costs three turns of the event loop per
    use, each one milliseconds long on a loaded server (measured: a read took 4.2 ms instead of
    2.3). Closing after a committed transaction or an autocommit read does not wait on the
    database, so nothing can interrupt it; errors and cancellations still take SQLAlchemy's
    careful path."""
    try:
        conn = await engine.connect()
    except Exception as error:
        # Nothing was sent yet: whatever the reason, the database cannot be reached now.
        raise DatabaseUnavailable(f"the database cannot be reached: {error}") from error
    try:
        yield conn
    except BaseException as error:
        await conn.__aexit__(type(error), error, error.__traceback__)
        raise
    await conn.close()


async def all_rows(conn: AsyncConnection, statement: sa.Executable) -> list[sa.Row[Any]]:
    result = await conn.execute(statement)
    return list(result.all()) if result.returns_rows else []



def sqlite_pragmas_on_connect(engine: sa.Engine, busy_timeout_ms: int, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL + synchronous=NORMAL: a committed transaction survives a crash of the process
        # (kill -9) and readers never block the writer.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # 64 MiB of page cache: the hot tails of the big tables and their indexes stay in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # a Checkpointer thread does it instead
        cursor.close()
