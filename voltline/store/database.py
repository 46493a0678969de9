"""The database as the rest of Voltline sees it: `Store`, for reads and group-committed writes on
SQLite and PostgreSQL.

Every write that a charge point's answer depends on goes through `Store.write`, which resolves
only after the transaction holding it has committed; writes made meanwhile share the next commit
(lanes). The parts, each in a module of its own: engine (engines and connections), lanes (group
commit), commits (a batch's transaction, bisection, the circuit breaker of breaker),
bulk_insert (row inserts by COPY or multi-row INSERT), sqlite_writer (SQLite's writer and WAL
checkpoints), operator_reads (operators' reads off the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.store.commits import BatchCommitter
from voltline.store.engine import all_rows, connection, create_engine
from voltline.store.errors import DatabaseUnavailable, StoreBusy
from voltline.store.lanes import Lane, Write, WriteFn
from voltline.store.operator_reads import OPERATOR_READ_SETTINGS, ReaderLoop, SQLiteReaders
from voltline.store.sqlite_writer import InlineConnection, SQLiteWriter

__all__ = ["Store", "WriteFn", "create_engine"]


class Store:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        batch_max: int = 512,
        lane_max_rows: int = 100_000,
        lane_max_bytes: int = 64 * 1024 * 1024,
        query_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.query_timeout = query_timeout
        # Reads on a server database need no transaction of their own: without one they save
        # the BEGIN and ROLLBACK round trips (each one or two turns of a busy event loop), and
        # each statement still sees committed data only.
        self._reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._closing = False
        self._sqlite_writer = SQLiteWriter(url) if self.is_sqlite else None
        self._commits = BatchCommitter(self._reads, self._sqlite_writer, self._fail_queued)
        lane = {
            "batch_max": batch_max, "max_rows": lane_max_rows, "max_bytes": lane_max_bytes,
            "inline": self.is_sqlite,
        }
        self._ordered = Lane(self._commits.commit, in_flight=1, **lane)
        # SQLite has one writer whatever we do; a server database takes several transactions at
        # once, so inserts need not wait behind the ordered writes (or each other).
        self._appends = self._ordered if self.is_sqlite else Lane(self._commits.commit, in_flight=3, **lane)
        # Rows nobody waits for (the message log) have a lane of their own on a server database,
        # so that a burst of them never holds back a meter value whose charge point waits for its
        # commit (it did: MeterValues' p99 was 2.5 times Heartbeat's on PostgreSQL).
        self._background = self._ordered if self.is_sqlite else Lane(self._commits.commit, in_flight=2, **lane)
        self._lanes = list(dict.fromkeys((self._ordered, self._appends, self._background)))
        # Operators' reads: off the event loop (threads of their own), and each statement
        # stopped past `query_timeout` (see `query`).
        self._reader: ReaderLoop | None = None
        self._sqlite_reads: SQLiteReaders | None = None
        if self._sqlite_writer is None:
            query_pool = max(2, pool_size // 2)
            self._reader = ReaderLoop(
                lambda: create_engine(
                    url, pool_size=query_pool, statement_timeout=query_timeout, server_settings=OPERATOR_READ_SETTINGS
                ),
                query_timeout,
            )
        elif self._sqlite_writer.queries is not None:
            self._sqlite_reads = SQLiteReaders(self._sqlite_writer.queries, query_timeout)
        self.rejected = 0  # writes refused at once: a lane full, or the database away

    @property
    def commits(self) -> int:
        """Database transactions committed."""
        return self._commits.commits

    @property
    def writes(self) -> int:
        """Writes committed (several share a commit)."""
        return self._commits.writes

    @property
    def circuit_open(self) -> bool:
        """Whether writes are refused at once for now (the database was found away)."""
        return bool(self._commits.breaker.open_until)

    def insert_updating_on_conflict(self, table: sa.Table, key: Sequence[str], update: Sequence[str]) -> sa.Insert:
        """INSERT … ON CONFLICT (key) DO UPDATE SET each of `update` to the new row's value."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(table)
        return statement.on_conflict_do_update(
            index_elements=list(key), set_={name: statement.excluded[name] for name in update}
        )

    # -- reads ------------------------------------------------------------------------------

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read for the OCPP path (and small point reads): on SQLite in the loop's own thread.

        The hot path's reads (an idTag, a charge point's row, a reservation) are index lookups
        of microseconds; a hop to a thread and back costs more than that in thread switches and
        turns of the loop (an idTag lookup, idle: 0.37 ms inline, 0.45-0.7 ms by thread), and
        under load it waited for the GIL (see SQLiteWriter). They stay inline. Anything an operator asks for, whose size grows with the tables, goes through
        `query` instead."""
        if self._sqlite_writer is not None:
            with self._sqlite_writer.reader.connect() as sync_conn:
                yield InlineConnection(sync_conn)  # type: ignore[misc]
            return
        async with connection(self._reads) as conn:
            yield conn

    async def fetch_all(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        async with self.read() as conn:
            return list((await conn.execute(statement)).all())

    async def fetch_one(self, statement: sa.Executable) -> sa.Row[Any] | None:
        async with self.read() as conn:
            return (await conn.execute(statement)).first()

    @asynccontextmanager
    async def query(self) -> AsyncIterator[AsyncConnection]:
        """A read for an operator (API lists, dashboard pages, CSV export, log search): never on
        the event loop's thread, and each statement stopped past `query_timeout` seconds with
        QueryTimeout. On SQLite the statements run in a thread with a connection of its own
        (sqlite3 releases the GIL while it steps); on PostgreSQL on an event loop in a thread of
        its own (see operator_reads), with a pool whose sessions carry a statement_timeout, so
        the hot path's reads and writes keep no limit of the kind. Either way, the rows are
        fetched and processed in that thread: the event loop receives them ready."""
        readers = self._reader or self._sqlite_reads
        if readers is None:  # an in-memory database: no other connection sees it
            async with self.read() as conn:
                yield conn
            return
        async with readers.connection() as conn:
            yield conn

    async def query_all(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        async with self.query() as conn:
            return list((await conn.execute(statement)).all())

    async def query_one(self, statement: sa.Executable) -> sa.Row[Any] | None:
        async with self.query() as conn:
            return (await conn.execute(statement)).first()

    # -- writes -----------------------------------------------------------------------------

    def write(
        self,
        fn: WriteFn | None = None,
        inserts: Sequence[tuple[sa.Table, list[Any]]] = (),
        *,
        background: bool = False,
    ) -> asyncio.Future[Any]:
        """Run `fn(conn)` and the row `inserts` in a transaction; the future resolves to fn's
        result once committed. (A future rather than a coroutine: it can be awaited, or left to
        run with a callback, at no cost on the hot path.)

        A row of `inserts` is a dict, or a tuple of every column but an autoincrement key, in the
        table's column order.

        `fn` may be run more than once (a failed batch is split in halves and retried, down to
        the bad write: about log2 of the batch's size times), so it must have no effect outside
        the database. Writes with a `fn` are committed in the order they were made; pure row
        inserts (meter values, the message log) depend on no other write and may be committed
        alongside, in transactions of their own. `background` row inserts (no `fn`) are ones no
        charge point or operator waits for: they give way to the others.

        Fails at once, without queueing, with StoreBusy when its lane holds as much as it may,
        and with DatabaseUnavailable while the circuit is open (the database was found away)."""
        write = Write(fn, inserts)
        if background and fn is None:
            return self._submit(write, self._background, background=True)
        return self._submit(write)

    async def execute(self, statement: sa.Executable, parameters: dict[str, Any]) -> None:
        """Run one statement as an ordered write; return once committed.

        Consecutive writes of the same statement object in a batch run as one executemany: in a
        storm of connections and boots, thousands of identical one-row UPDATEs otherwise each
        paid SQLAlchemy's whole statement execution on the event loop's thread."""
        await self._submit(Write(None, (), statement, parameters))

    async def commit_one(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        """Run one statement in a transaction of its own; return its rows (RETURNING) once
        committed. Not ordered with other writes: for a write nothing else depends on the order of.

        On PostgreSQL it goes straight to the database in autocommit: one round trip, where a
        write through the lanes waits for its batch and pays BEGIN and COMMIT round trips too.
        On SQLite, which has one writer, it goes through the writer like any other write."""
        if self._sqlite_writer is not None:
            return await self.write(lambda conn: all_rows(conn, statement))  # type: ignore[no-any-return]
        async with connection(self._reads) as conn:
            return await all_rows(conn, statement)

    def _submit(self, write: Write, lane: Lane | None = None, background: bool = False) -> asyncio.Future[Any]:
        """Queue a write on its lane (by default: ordered, or appends for pure row inserts); the
        future resolves once it is committed. (A plain function: an extra coroutine per meter
        value would be one more frame on the hot path.)"""
        if self._closing:
            raise RuntimeError("the store is closing")
        loop = asyncio.get_running_loop()
        write.future = loop.create_future()
        breaker = self._commits.breaker
        if breaker.open_until and loop.time() < breaker.open_until:
            return self._refuse(write, DatabaseUnavailable("the database is unavailable; try again shortly"))
        if lane is None:
            lane = self._ordered if write.ordered else self._appends
        try:
            lane.add(write, background)
        except StoreBusy as error:
            return self._refuse(write, error)
        return write.future

    def _refuse(self, write: Write, error: Exception) -> asyncio.Future[Any]:
        """The write's future, failed at once: the caller's await raises (an OCPP handler's
        InternalError, an API's 503) without the write having waited anywhere."""
        self.rejected += 1
        write.future.set_exception(error)
        return write.future

    def _fail_queued(self, error: DatabaseUnavailable) -> None:
        for lane in self._lanes:
            lane.fail_queued(error)

    def schema_ready(self) -> None:
        """The schema is migrated: SQLite's planner statistics may be kept from now on."""
        if self._sqlite_writer is not None:
            self._sqlite_writer.schema_ready()

    async def close(self) -> None:
        self._closing = True
        for lane in self._lanes:
            await lane.drain()
        if self._sqlite_reads is not None:
            self._sqlite_reads.stop()
        if self._sqlite_writer is not None:
            self._sqlite_writer.close()
        if self._reader is not None:
            # Its engine is disposed on its own loop; joining waits for that, off this loop.
            await asyncio.get_running_loop().run_in_executor(None, self._reader.stop)
        await self.engine.dispose()
