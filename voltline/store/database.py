"""The database: engine set-up for SQLite and PostgreSQL, and group-committed writes.

Every write that a charge point's answer depends on goes through `Store.write`, which resolves
only after the transaction holding it has committed. Writes that arrive while a commit is in
flight are collected and committed together in the next one (group commit): the durability
promise of one transaction per message at a fraction of the cost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger("voltline.store")

T = TypeVar("T")
WriteFn = Callable[[AsyncConnection], Awaitable[Any]]


def async_url(url: str) -> str:
    """`sqlite:///x.db` and `postgresql://…` as operators write them, with the async driver named."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 5})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL + synchronous=NORMAL: a committed transaction survives a crash of the process
            # (kill -9); busy_timeout lets readers and the writer wait for each other briefly.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


@dataclass(slots=True)
class _Write:
    fn: WriteFn | None
    inserts: Sequence[tuple[sa.Table, list[dict[str, Any]]]]
    future: asyncio.Future[Any] | None = field(default=None)


class Store:
    def __init__(self, url: str, *, pool_size: int = 10, batch_max: int = 512) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._batch_max = batch_max
        self._queue: list[_Write] = []
        self._wakeup = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None
        self._closing = False
        self.commits = 0
        self.writes = 0

    # -- reads ------------------------------------------------------------------------------

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def fetch_all(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(statement)).all())

    async def fetch_one(self, statement: sa.Executable) -> sa.Row[Any] | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(statement)).first()

    # -- writes -----------------------------------------------------------------------------

    async def write(
        self,
        fn: WriteFn | None = None,
        inserts: Sequence[tuple[sa.Table, list[dict[str, Any]]]] = (),
    ) -> Any:
        """Run `fn(conn)` and the row `inserts` in a transaction; return fn's result once committed.

        `fn` may be run twice (its batch is retried alone when another write in it failed), so it
        must have no effect outside the database."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(_Write(fn, inserts, future))
        return await future

    def write_later(self, inserts: Sequence[tuple[sa.Table, list[dict[str, Any]]]]) -> None:
        """Insert rows with the next commit, without waiting for it (the message log)."""
        self._enqueue(_Write(None, inserts, None))

    def _enqueue(self, write: _Write) -> None:
        if self._closing:
            raise RuntimeError("the store is closing")
        self._queue.append(write)
        self._wakeup.set()
        if self._writer_task is None:
            self._writer_task = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._batch_max], self._queue[self._batch_max :]
                await self._commit_batch(batch)
            if self._closing:
                return

    async def _commit_batch(self, batch: list[_Write]) -> None:
        try:
            results = await self._run(batch)
        except Exception as batch_error:
            if len(batch) == 1:
                self._fail(batch, batch_error)
                return
            # One bad write must not fail its neighbours: retry each alone.
            for write in batch:
                try:
                    results = await self._run([write])
                except Exception as error:
                    self._fail([write], error)
                else:
                    self._succeed([write], results)
            return
        self._succeed(batch, results)

    async def _run(self, batch: list[_Write]) -> list[Any]:
        results: list[Any] = []
        merged: dict[sa.Table, list[dict[str, Any]]] = {}
        async with self.engine.begin() as conn:
            for write in batch:
                results.append(await write.fn(conn) if write.fn is not None else None)
                for table, rows in write.inserts:
                    if rows:
                        merged.setdefault(table, []).extend(rows)
            for table, rows in merged.items():
                await conn.execute(table.insert(), rows)
        self.commits += 1
        self.writes += len(batch)
        return results

    @staticmethod
    def _succeed(batch: list[_Write], results: list[Any]) -> None:
        for write, result in zip(batch, results, strict=True):
            if write.future is not None and not write.future.done():
                write.future.set_result(result)

    @staticmethod
    def _fail(batch: list[_Write], error: Exception) -> None:
        for write in batch:
            if write.future is not None:
                if not write.future.done():
                    write.future.set_exception(error)
            else:
                log.error("background write of %d rows lost: %s", sum(len(r) for _, r in write.inserts), error)

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()
        if self._writer_task is not None:
            await self._writer_task
        await self.engine.dispose()
