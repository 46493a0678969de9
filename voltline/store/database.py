"""The database: engine set-up for SQLite and PostgreSQL, and group-committed writes.

Every write that a charge point's answer depends on goes through `Store.write`, which resolves
only after the transaction holding it has committed. Writes that arrive while a commit is in
flight are collected and committed together in the next one (group commit): the durability
promise of one transaction per message at a fraction of the cost.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import operator
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from voltline.priority import yield_to_the_event_loop

from voltline.store.errors import DatabaseUnavailable, StoreBusy
from voltline.store.operator_reads import ReaderLoop, query_timeout

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


def create_engine(
    url: str, pool_size: int = 10, ping_idle_after: float = 10.0, statement_timeout: float | None = None
) -> AsyncEngine:
    """`statement_timeout` (seconds, PostgreSQL only): the server cancels a longer statement."""
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 5})
        # Readers (and one-off writers such as the CLI) may wait briefly for the writer.
        _sqlite_pragmas_on_connect(engine.sync_engine, busy_timeout_ms=5000)
        return engine
    connect_args: dict[str, Any] = {}
    if statement_timeout:
        connect_args["server_settings"] = {"statement_timeout": str(max(1, int(statement_timeout * 1000)))}
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
async def _connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
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


async def _all_rows(conn: AsyncConnection, statement: sa.Executable) -> list[sa.Row[Any]]:
    result = await conn.execute(statement)
    return list(result.all()) if result.returns_rows else []


class _Lane:
    """Writes committed in batches by one task, with up to `in_flight` batches committing at
    once. Writes with logic (a `fn`) go first, in the order they were made; pure row inserts
    fill the rest of a batch. An operator's command or a StartTransaction then never waits
    behind a backlog of meter values and log rows.

    What waits to be committed is bounded by `max_rows` and `max_bytes`: past them a write is
    refused at once (StoreBusy), so a slow or locked database costs the writers an error, not
    the server its memory. (One write alone is always taken, whatever its size.)"""

    def __init__(self, store: Store, in_flight: int, max_rows: int, max_bytes: int) -> None:
        self._store = store
        self._ordered: list[_Write] = []
        self._rows: list[_Write] = []
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(in_flight)
        self._in_flight_max = in_flight
        self._in_flight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.queued_rows = 0  # of the writes waiting for a batch (not those committing)
        self.queued_bytes = 0

    def add(self, write: _Write, background: bool = False) -> None:
        """Queue `write`, or raise StoreBusy. Background writes (the message log's, which no one
        waits for) may fill half the lane only: on SQLite they share it with the writes charge
        points wait for, and a backlog of log rows must not refuse a StartTransaction."""
        rows, size = self.queued_rows + write.rows, self.queued_bytes + write.size
        share = 2 if background else 1
        if (rows * share > self.max_rows or size * share > self.max_bytes) and self:
            raise StoreBusy(
                f"{self.queued_rows} rows ({self.queued_bytes} bytes) wait for the database already"
            )
        self.queued_rows, self.queued_bytes = rows, size
        (self._ordered if write.ordered else self._rows).append(write)
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def __len__(self) -> int:
        return len(self._ordered) + len(self._rows)

    async def _run(self) -> None:
        batch_max = self._store._batch_max
        # SQLite commits in the loop's thread without yielding (see _SQLiteWriter): a batch is
        # committed right here, with one turn of the loop between batches, rather than as a task
        # of its own that costs two more turns for every batch.
        inline = self._in_flight_max == 1 and self._store._sqlite_writer is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._ordered:
                # Writes with logic (a command, a StartTransaction) are waited for by someone;
                # rows alone can wait a little for company.
                await self._gather(batch_max)
            while self:
                if inline:
                    await self._store._commit_batch(self._take(batch_max))
                    await asyncio.sleep(0)
                    continue
                await self._slots.acquire()
                batch = self._take(batch_max)
                task = asyncio.get_running_loop().create_task(self._store._commit_batch(batch))
                self._in_flight.add(task)
                task.add_done_callback(self._done)
            if self._store._closing and not self:
                return

    def _take(self, batch_max: int, rows_max: int = 1500) -> list[_Write]:
        """The next batch: at most `batch_max` writes and about `rows_max` rows. A commit holds
        SQLite's writer (and on SQLite the event loop) for as long as it takes, so an API call or
        a Heartbeat waiting behind it should not wait for ten thousand log rows."""
        batch, self._ordered = self._ordered[:batch_max], self._ordered[batch_max:]
        rows = 0
        count = 0
        for write in self._rows:
            if len(batch) + count >= batch_max or rows >= rows_max:
                break
            count += 1
            for _, inserted in write.inserts:
                rows += len(inserted)
        batch += self._rows[:count]
        self._rows = self._rows[count:]
        for write in batch:
            self.queued_rows -= write.rows
            self.queued_bytes -= write.size
        return batch

    def fail_queued(self, error: Exception) -> None:
        """Fail every write still waiting for a batch (the database is away: each would wait
        for a connection attempt of its own only to fail the same way)."""
        queued, self._ordered, self._rows = self._ordered + self._rows, [], []
        self.queued_rows = self.queued_bytes = 0
        for write in queued:
            if not write.future.done():
                write.future.set_exception(error)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _gather(self, batch_max: int, rounds: int = 4) -> None:
        """Let the event loop run what is ready before committing, so that the writes of
        messages that arrived together share one commit instead of a commit each."""
        for _ in range(rounds):
            queued = len(self)
            await asyncio.sleep(0)
            if len(self) == queued or len(self) >= batch_max:
                return

    async def drain(self) -> None:
        self._wakeup.set()
        if self._task is not None:
            await self._task
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)


def _sqlite_pragmas_on_connect(engine: sa.Engine, busy_timeout_ms: int, autocheckpoint: bool = True) -> None:
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
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # a _Checkpointer thread does it instead
        cursor.close()


@dataclass(slots=True)
class _Write:
    fn: WriteFn | None
    inserts: Sequence[tuple[sa.Table, list[Any]]]
    statement: sa.Executable | None = None  # Store.execute: one statement and its parameters
    parameters: dict[str, Any] | None = None
    future: asyncio.Future[Any] = field(init=False)
    rows: int = field(init=False)  # what it holds while queued, for the lanes' limits
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows, self.size = _weight(self.inserts) if self.inserts else (1, WRITE_BYTES)

    @property
    def ordered(self) -> bool:
        """Written in the order made (pure row inserts are not: they depend on no other write)."""
        return self.fn is not None or self.statement is not None


# A write's own cost in a lane, and each inserted row's beside its text (an estimate: the text
# of the message log and of sampled values is what makes a backlog big).
WRITE_BYTES = 256
ROW_BYTES = 64


def _weight(inserts: Iterable[tuple[sa.Table, list[Any]]]) -> tuple[int, int]:
    """(rows, bytes) a write holds while it waits: itself as a row, and each row it inserts."""
    rows, size = 1, WRITE_BYTES
    for _, inserted in inserts:
        rows += len(inserted)
        size += ROW_BYTES * len(inserted)
        for row in inserted:
            size += sum([len(value) for value in (row if type(row) is tuple else row.values()) if type(value) is str])
    return rows, size


class _Breaker:
    """The circuit breaker of the writes: after a failure that says the database is away (not a
    bad write), new writes fail at once until `open_until`; the first batch after it is the
    probe. The pause doubles with each failed probe, up to `longest`, so that the database is
    tried a few times a second at most and found again within `longest` of its return."""

    def __init__(self, first: float = 0.05, longest: float = 0.5) -> None:
        self.first, self.longest = first, longest
        self.pause = first
        self.open_until = 0.0  # 0 while closed
        self.opened = 0  # times the circuit opened

    def trip(self, at: float) -> None:
        if at < self.open_until:
            return  # already open: the other batches that were committing failed the same way
        if not self.open_until:
            self.opened += 1
        self.open_until = at + self.pause
        self.pause = min(self.pause * 2, self.longest)

    def reset(self) -> None:
        self.open_until, self.pause = 0.0, self.first


def _is_unavailability(error: BaseException) -> bool:
    """Whether `error` says the database is away (connection lost, refused, shutting down, locked
    by another process) rather than that the write itself is bad (a constraint, a type)."""
    if isinstance(error, DatabaseUnavailable | OSError | TimeoutError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig or error
        cause = error.__cause__
        if cause is not None and getattr(cause, "sqlstate", None):
            error = cause
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        # 08: connection exception; 57P: shut down, crashed, cannot connect now; 53300: too many
        # connections; 55000 is how a database that refuses connections says so.
        return sqlstate.startswith(("08", "57P")) or sqlstate in ("53300", "55000")
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        return "locked" in text or "unable to open" in text or "disk I/O" in text
    # asyncpg's own, raised outside SQLAlchemy (the driver's transaction): "connection is closed",
    # or a connection left in a broken state by a backend killed under it.
    return type(error).__module__.startswith("asyncpg") and type(error).__name__ in _ASYNCPG_CONNECTION_ERRORS


_ASYNCPG_CONNECTION_ERRORS = frozenset(("InterfaceError", "ConnectionDoesNotExistError", "InternalClientError"))


QUERY_THREADS = 4  # SQLite: operators' reads run at once (more wait for one to end)


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
        self._batch_max = batch_max
        self._closing = False
        limits = {"max_rows": lane_max_rows, "max_bytes": lane_max_bytes}
        self._ordered = _Lane(self, in_flight=1, **limits)
        # SQLite has one writer whatever we do; a server database takes several transactions at
        # once, so inserts need not wait behind the ordered writes (or each other).
        self._appends = self._ordered if self.is_sqlite else _Lane(self, in_flight=3, **limits)
        # Rows nobody waits for (the message log) have a lane of their own on a server database,
        # so that a burst of them never holds back a meter value whose charge point waits for its
        # commit (it did: MeterValues' p99 was 2.5 times Heartbeat's on PostgreSQL).
        self._background = self._ordered if self.is_sqlite else _Lane(self, in_flight=2, **limits)
        self._lanes = list(dict.fromkeys((self._ordered, self._appends, self._background)))
        self._breaker = _Breaker()
        self._insert_plans: dict[sa.Table, _InsertPlan] = {}
        self._sqlite_writer = _SQLiteWriter(url) if self.is_sqlite else None
        # Operators' reads: off the event loop on SQLite (threads of their own), and on both
        # databases stopped past `query_timeout` (see `query`).
        self._reader: ReaderLoop | None = None
        self._query_threads: ThreadPoolExecutor | None = None
        if self._sqlite_writer is None:
            query_pool = max(2, pool_size // 2)
            self._reader = ReaderLoop(
                lambda: create_engine(url, pool_size=query_pool, statement_timeout=query_timeout), query_timeout
            )
        elif self._sqlite_writer.queries is not None:
            # At a lower priority than the loop: a heavy read shares the server's core with it.
            self._query_threads = ThreadPoolExecutor(
                max_workers=QUERY_THREADS, thread_name_prefix="sqlite-query", initializer=yield_to_the_event_loop
            )
        # One operator read per thread at a time: a statement's time limit then counts from its
        # start, not from when it was queued in the executor.
        self._query_slots = asyncio.Semaphore(QUERY_THREADS)
        self._querying: set[Any] = set()  # SQLite connections stepping a statement in a thread
        self.commits = 0
        self.writes = 0
        self.rejected = 0  # writes refused at once: a lane full, or the database away

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
        under load it waited for the GIL (see _SQLiteWriter). They stay inline. Anything an operator asks for, whose size grows with the tables, goes through
        `query` instead."""
        if self._sqlite_writer is not None:
            with self._sqlite_writer.reader.connect() as sync_conn:
                yield _InlineConnection(sync_conn)  # type: ignore[misc]
            return
        async with _connection(self._reads) as conn:
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
        if self._reader is not None:
            async with self._reader.connection() as conn:
                yield conn
            return
        if self._query_threads is None:  # an in-memory database: no other connection sees it
            async with self.read() as conn:
                yield conn
            return
        assert self._sqlite_writer is not None and self._sqlite_writer.queries is not None
        loop = asyncio.get_running_loop()
        async with self._query_slots:
            sync_conn = await loop.run_in_executor(self._query_threads, self._sqlite_writer.queries.connect)
            try:
                yield _ThreadedConnection(  # type: ignore[misc]
                    sync_conn, self._query_threads, self.query_timeout, self._querying
                )
            finally:
                await loop.run_in_executor(self._query_threads, sync_conn.close)

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
        write = _Write(fn, inserts)
        if background and fn is None:
            return self._submit(write, self._background, background=True)
        return self._submit(write)

    async def execute(self, statement: sa.Executable, parameters: dict[str, Any]) -> None:
        """Run one statement as an ordered write; return once committed.

        Consecutive writes of the same statement object in a batch run as one executemany: in a
        storm of connections and boots, thousands of identical one-row UPDATEs otherwise each
        paid SQLAlchemy's whole statement execution on the event loop's thread."""
        await self._submit(_Write(None, (), statement, parameters))

    async def commit_one(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        """Run one statement in a transaction of its own; return its rows (RETURNING) once
        committed. Not ordered with other writes: for a write nothing else depends on the order of.

        On PostgreSQL it goes straight to the database in autocommit: one round trip, where a
        write through the lanes waits for its batch and pays BEGIN and COMMIT round trips too.
        On SQLite, which has one writer, it goes through the writer like any other write."""
        if self._sqlite_writer is not None:
            return await self.write(lambda conn: _all_rows(conn, statement))  # type: ignore[no-any-return]
        async with _connection(self._reads) as conn:
            return await _all_rows(conn, statement)

    def _submit(self, write: _Write, lane: _Lane | None = None, background: bool = False) -> asyncio.Future[Any]:
        """Queue a write on its lane (by default: ordered, or appends for pure row inserts); the
        future resolves once it is committed. (A plain function: an extra coroutine per meter
        value would be one more frame on the hot path.)"""
        if self._closing:
            raise RuntimeError("the store is closing")
        loop = asyncio.get_running_loop()
        write.future = loop.create_future()
        if self._breaker.open_until and loop.time() < self._breaker.open_until:
            return self._refuse(write, DatabaseUnavailable("the database is unavailable; try again shortly"))
        if lane is None:
            lane = self._ordered if write.ordered else self._appends
        try:
            lane.add(write, background)
        except StoreBusy as error:
            return self._refuse(write, error)
        return write.future

    def _refuse(self, write: _Write, error: Exception) -> asyncio.Future[Any]:
        """The write's future, failed at once: the caller's await raises (an OCPP handler's
        InternalError, an API's 503) without the write having waited anywhere."""
        self.rejected += 1
        write.future.set_exception(error)
        return write.future

    def _trip(self, error: BaseException) -> DatabaseUnavailable:
        """The database is away: open the circuit, and fail what waits in the lanes with it."""
        self._breaker.trip(asyncio.get_running_loop().time())
        unavailable = (
            error if isinstance(error, DatabaseUnavailable)
            else DatabaseUnavailable(f"the database is unavailable: {error}")
        )
        if unavailable is not error:
            unavailable.__cause__ = error
        for lane in self._lanes:
            lane.fail_queued(unavailable)
        return unavailable

    @property
    def circuit_open(self) -> bool:
        """Whether writes are refused at once for now (the database was found away)."""
        return bool(self._breaker.open_until)

    async def _commit_batch(self, batch: list[_Write]) -> None:
        breaker = self._breaker
        if breaker.open_until and asyncio.get_running_loop().time() < breaker.open_until:
            # Found away while this batch waited (or while its other half was committed).
            self._fail(batch, DatabaseUnavailable("the database is unavailable; try again shortly"))
            return
        try:
            results = await self._run(batch)
        except Exception as error:
            if _is_unavailability(error):
                # Not the writes' fault: splitting would only try the database 2n times more.
                self._fail(batch, self._trip(error))
                return
            if len(batch) == 1:
                self._fail(batch, error)
                return
            # One bad write must not fail its neighbours: commit each half on its own, the
            # earlier half first (order is kept), so a bad write costs 2·log2(n) commits more,
            # not n, each of which may wait for a lock.
            half = len(batch) // 2
            await self._commit_batch(batch[:half])
            await self._commit_batch(batch[half:])
            return
        if breaker.open_until:
            breaker.reset()  # the probe went through: the database is back
        self._succeed(batch, results)

    async def _run(self, batch: list[_Write]) -> list[Any]:
        if self._sqlite_writer is not None:
            # A probe after a lock (another process's) waits for it briefly: the charge points
            # whose writes queued meanwhile should hear soon, not after a whole lock wait.
            results = await self._sqlite_writer.run(
                lambda conn: self._apply(conn, batch), lock_wait=0.1 if self._breaker.open_until else None
            )
        else:
            # The driver's own transaction, with SQLAlchemy's connection in autocommit inside it:
            # the same BEGIN and COMMIT round trips as conn.begin(), and row inserts can then go
            # by the driver's COPY (see _bulk_insert) within the very same transaction.
            async with _connection(self._reads) as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                try:
                    async with driver.transaction():
                        results = await self._apply(conn, batch, driver)
                except Exception as error:
                    if driver.is_closed() or _is_unavailability(error):
                        # Lost under the driver, where SQLAlchemy did not see it: the pool must
                        # not hand this connection out again.
                        await conn.invalidate()
                    raise
        self.commits += 1
        self.writes += len(batch)
        return results

    async def _apply(self, conn: AsyncConnection, batch: list[_Write], driver: Any = None) -> list[Any]:
        """Run a batch's writes on `conn`; `driver` is the asyncpg connection under it (PostgreSQL)."""
        results: list[Any] = []
        merged: dict[sa.Table, list[Any]] = {}
        # Consecutive writes of one statement (Store.execute) run as one executemany.
        for _, run in itertools.groupby(batch, key=lambda write: id(write.statement)):
            writes = list(run)
            statement = writes[0].statement
            if statement is not None:
                parameters = [write.parameters for write in writes]
                await conn.execute(statement, parameters if len(parameters) > 1 else parameters[0])
                results += [None] * len(writes)
                continue
            for write in writes:
                results.append(await write.fn(conn) if write.fn is not None else None)
                for table, rows in write.inserts:
                    if rows:
                        merged.setdefault(table, []).extend(rows)
        for table, rows in merged.items():
            await self._bulk_insert(conn, table, rows, driver)
        return results

    async def _bulk_insert(self, conn: AsyncConnection, table: sa.Table, rows: list[Any], driver: Any) -> None:
        """Insert many rows at the driver level, bypassing SQLAlchemy's per-row parameter work.

        The message log and meter values are the bulk of all rows, and SQLAlchemy's per-row
        parameter processing would cost more than the database itself. On PostgreSQL the rows go
        by binary COPY: one round trip, no statement to parse, and no per-value type checks (an
        INSERT … SELECT FROM unnest(arrays) spent a fifth of the server's time on asyncpg
        checking each array element against collections.abc). On SQLite they go as a few
        multi-row INSERT statements, and only timestamps need converting (SQLite keeps them as
        UTC text in SQLAlchemy's own format, so reads through SQLAlchemy see the same values)."""
        plan = self._insert_plans.get(table)
        if plan is None:
            plan = self._insert_plans[table] = _InsertPlan(table, self.engine.dialect)
        if driver is not None:
            await driver.copy_records_to_table(table.name, records=plan.records(rows), columns=plan.columns)
            return
        for sql, parameters in plan.statements(rows):
            await conn.exec_driver_sql(sql, parameters)

    @staticmethod
    def _succeed(batch: list[_Write], results: list[Any]) -> None:
        for write, result in zip(batch, results, strict=True):
            if not write.future.done():
                write.future.set_result(result)

    @staticmethod
    def _fail(batch: list[_Write], error: Exception) -> None:
        for write in batch:
            if not write.future.done():
                write.future.set_exception(error)

    async def close(self) -> None:
        self._closing = True
        await self._ordered.drain()
        await self._appends.drain()
        await self._background.drain()
        if self._query_threads is not None:
            for raw in list(self._querying):  # a long read must not hold the stop up
                raw.interrupt()
            self._query_threads.shutdown(wait=True)
        if self._sqlite_writer is not None:
            self._sqlite_writer.close()
        if self._reader is not None:
            # Its engine is disposed on its own loop; joining waits for that, off this loop.
            await asyncio.get_running_loop().run_in_executor(None, self._reader.stop)
        await self.engine.dispose()


class _SQLiteWriter:
    """Runs SQLite transactions and queries in the event loop's own thread.

    SQLite works in the calling process, so a query costs CPU wherever it runs. Run in a worker
    thread (as aiosqlite does) it competes with the busy event loop for the GIL at every step:
    under load a batch of writes waited for thread switches far longer than it took, and a
    one-row read took a second. Run here, a batch of a few thousand rows blocks the loop for a
    few milliseconds and a read for microseconds, and nothing waits needlessly.

    Writes go through one connection. A lock held by another process is never waited for while
    blocking: the batch is retried after an asynchronous pause, for up to `lock_wait` seconds,
    then fails (the charge point gets InternalError and retries). Reads use a pool of their own
    connections; in WAL mode they never wait for the writer."""

    def __init__(self, url: str, lock_wait: float = 5.0) -> None:
        sync_url = url.replace("+aiosqlite", "", 1)
        self.engine = sa.create_engine(sync_url, poolclass=sa.pool.StaticPool)
        self.reader = sa.create_engine(sync_url, pool_size=5, max_overflow=20)
        path = sa.engine.make_url(sync_url).database or ""
        in_memory = not path or path == ":memory:" or path.startswith("file::memory:")
        # Operators' reads, in threads (Store.query): a pool of their own, used from any thread.
        self.queries = None if in_memory else sa.create_engine(sync_url, pool_size=4, max_overflow=4)
        self.lock_wait = lock_wait
        _sqlite_pragmas_on_connect(self.engine, busy_timeout_ms=0, autocheckpoint=False)
        _sqlite_pragmas_on_connect(self.reader, busy_timeout_ms=100)
        if self.queries is not None:
            _sqlite_pragmas_on_connect(self.queries, busy_timeout_ms=100)
        self._checkpointer = _Checkpointer(path)

    async def run(self, apply: Callable[[Any], Awaitable[list[Any]]], lock_wait: float | None = None) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.lock_wait if lock_wait is None else lock_wait)
        while True:
            try:
                with self.engine.connect() as conn:
                    with conn.begin():
                        results = await apply(_InlineConnection(conn))
                    if self._checkpointer.rewind_wanted:
                        self._checkpointer.rewind(conn)
                    return results
            except sa.exc.OperationalError as error:
                if "locked" not in str(error.orig) or loop.time() >= deadline:
                    raise
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self._checkpointer.stop()
        self.engine.dispose()
        self.reader.dispose()
        if self.queries is not None:
            self.queries.dispose()


class _Checkpointer:
    """Copies the WAL back into the database file from a thread of its own.

    SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, here in the
    event loop's thread, and ends in an fsync: every charge point waited while the disk did. A
    passive checkpoint never blocks the writer or readers, and SQLite releases the GIL while it
    copies and syncs, so the loop keeps serving. A commit's durability does not depend on it:
    committed data is in the WAL either way.

    Under steady writes the thread never sees the WAL idle, so SQLite never starts it over and
    it would grow without end. Once it is past `rewind_frames`, the writer is asked to finish
    the job between two transactions (`rewind_wanted`): what the thread has not copied yet is
    little, and with every frame copied the next transaction starts the WAL over. (A RESTART
    checkpoint from this thread did the same but held every write back for tens of
    milliseconds while it waited for the writer and the readers.)"""

    def __init__(self, path: str, interval: float = 0.5, rewind_frames: int = 16384) -> None:
        self._path = path
        self.rewind_frames = rewind_frames
        self.rewind_wanted = False
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if path and path != ":memory:" and not path.startswith("file::memory:"):
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stopping.wait(self._interval):
            try:
                if conn is None:
                    conn = sqlite3.connect(self._path, check_same_thread=False)
                    conn.execute("PRAGMA busy_timeout=1000")
                _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames > self.rewind_frames:
                    self.rewind_wanted = True
            except sqlite3.Error as error:
                log.warning("WAL checkpoint failed: %s", error)
        if conn is not None:
            conn.close()

    def rewind(self, writer: sa.Connection) -> None:
        """On the writer's connection, between transactions: copy the rest of the WAL."""
        self.rewind_wanted = False
        try:
            writer.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sa.exc.SQLAlchemyError as error:  # the transaction is committed: only log it
            log.warning("WAL checkpoint failed: %s", error)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _InlineConnection:
    """The AsyncConnection methods that write functions use, over a synchronous connection:
    each `await` completes at once, so a whole batch runs without yielding to the loop."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> sa.Dialect:
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.scalar(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self._conn.exec_driver_sql(statement, parameters)

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(self._conn, *args)




class _ThreadedConnection:
    """The AsyncConnection methods that reads use, over a synchronous SQLite connection whose
    statements run (rows fetched and all) in a worker thread, the event loop free meanwhile.

    A statement past `limit` seconds is stopped by sqlite3's interrupt(), called from the loop
    at the deadline: unlike a progress handler, it costs the stepping thread nothing (a handler
    takes the GIL back every few thousand steps, each time competing with the busy loop). An
    interrupt that comes after the statement ended is a no-op (SQLite: no running statement)."""

    __slots__ = ("_conn", "_threads", "_limit", "_running")

    def __init__(self, conn: sa.Connection, threads: ThreadPoolExecutor, limit: float, running: set[Any]) -> None:
        self._conn, self._threads, self._limit, self._running = conn, threads, limit, running

    @property
    def dialect(self) -> sa.Dialect:
        return self._conn.dialect

    def _step(self, run: Callable[[sa.Connection], Any]) -> Any:
        result = run(self._conn)
        if isinstance(result, sa.CursorResult):
            # Every row fetched here, in the thread: fetching steps the statement too.
            return result.freeze() if result.returns_rows else None
        return result

    async def _call(self, run: Callable[[sa.Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        raw = self._conn.connection.driver_connection
        stopping = loop.call_later(self._limit, raw.interrupt)  # type: ignore[union-attr]
        self._running.add(raw)
        running = loop.run_in_executor(self._threads, self._step, run)
        try:
            result = await asyncio.shield(running)
        except asyncio.CancelledError:
            # The asker went away: stop the statement, and let the thread give the connection
            # up before it is closed.
            raw.interrupt()  # type: ignore[union-attr]
            await asyncio.wait([running])
            raise
        except sa.exc.OperationalError as error:
            if "interrupted" in str(error.orig):
                raise query_timeout(self._limit) from error
            raise
        finally:
            stopping.cancel()
            self._running.discard(raw)
        return result() if isinstance(result, sa.engine.FrozenResult) else result

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self._call(lambda conn: conn.execute(statement, parameters))

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self._call(lambda conn: conn.scalar(statement, parameters))

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return await self._call(lambda conn: conn.exec_driver_sql(statement, parameters))

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._call(lambda conn: fn(conn, *args))


class _InsertPlan:
    """How to insert a table's rows at the driver level: a multi-row INSERT (SQLite), or the
    records for a binary COPY (PostgreSQL)."""

    # SQLite allows 32,766 parameters per statement.
    MAX_PARAMETERS = 32_000
    MAX_ROWS = 500

    def __init__(self, table: sa.Table, dialect: sa.Dialect) -> None:
        from voltline.store.tables import UTCDateTime

        self.columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        quote = dialect.identifier_preparer.quote
        self._head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) VALUES "
        self._sql: dict[int, str] = {}
        self.chunk = min(self.MAX_ROWS, self.MAX_PARAMETERS // len(self.columns))
        self.defaults = {
            c.name: c.default.arg for c in table.columns if c.default is not None and not callable(c.default.arg)
        }
        timestamps = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
        self.timestamp_positions = [i for i, name in enumerate(self.columns) if name in timestamps]
        self._pick = operator.itemgetter(*self.columns)

    def _statement(self, count: int) -> str:
        sql = self._sql.get(count)
        if sql is None:
            one = "(" + ", ".join(["?"] * len(self.columns)) + ")"
            sql = self._sql[count] = self._head + ", ".join(one for _ in range(count))
        return sql

    def _values(self, row: Any) -> tuple[Any, ...]:
        """A row given as a dict, or as a tuple already in `columns` order (the hot path's form)."""
        if type(row) is tuple:
            return row
        try:
            return self._pick(row)  # type: ignore[no-any-return]  # C speed when the row names every column
        except KeyError:
            return tuple(row.get(name, self.defaults.get(name)) for name in self.columns)

    def records(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        """The rows as tuples in `columns` order, timestamps as they are (COPY encodes them)."""
        values = self._values
        return [row if type(row) is tuple else values(row) for row in rows]

    def statements(self, rows: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
        """SQLite: multi-row INSERTs of at most `chunk` rows, timestamps as SQLAlchemy's text."""
        values_of, positions = self._values, self.timestamp_positions
        flat: list[Any] = []
        # Rows written together mostly share their timestamp objects (the samples of one meter
        # value, log frames of one millisecond): convert each distinct one once.
        last_stamp: Any = None
        last_text: str | None = None
        for row in rows:
            values = list(values_of(row))
            for i in positions:
                stamp = values[i]
                if stamp is None:
                    continue
                if stamp is not last_stamp:
                    last_stamp, last_text = stamp, _sqlite_timestamp(stamp)
                values[i] = last_text
            flat.extend(values)
        width, chunk = len(self.columns), self.chunk
        result = []
        for start in range(0, len(rows), chunk):
            count = min(chunk, len(rows) - start)
            result.append((self._statement(count), tuple(flat[start * width : (start + count) * width])))
        return result


def _sqlite_timestamp(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for a UTC instant: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value.tzinfo is not UTC and value.utcoffset():  # naive values are UTC already
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]
