"""SQLite's writer: transactions and the OCPP path's reads in the event loop's own thread, and the
thread that copies the WAL back into the database file."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from voltline.store.engine import sqlite_pragmas_on_connect
from voltline.store.sqlite_stats import refresh_statistics

log = logging.getLogger("voltline.store")
# Seconds before a statistics pass that failed is tried again.
STATS_RETRY_S = 30.0


class SQLiteWriter:
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
        sqlite_pragmas_on_connect(self.engine, busy_timeout_ms=0, autocheckpoint=False)
        sqlite_pragmas_on_connect(self.reader, busy_timeout_ms=100)
        if self.queries is not None:
            sqlite_pragmas_on_connect(self.queries, busy_timeout_ms=100)
        # Statistics wait for the schema: analyzing while the server migrates met tables that a
        # migration was replacing ("no such table"). Store.schema_ready lets them start.
        self._checkpointer = Checkpointer(path, statistics=False)

    def schema_ready(self) -> None:
        self._checkpointer.statistics.set()

    async def run(self, apply: Callable[[Any], Awaitable[list[Any]]], lock_wait: float | None = None) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.lock_wait if lock_wait is None else lock_wait)
        while True:
            try:
                with self.engine.connect() as conn:
                    with conn.begin():
                        results = await apply(InlineConnection(conn))
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


class Checkpointer:
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
    milliseconds while it waited for the writer and the readers.)

    The same thread keeps the planner's statistics fresh (sqlite_stats): the tables never
    analyzed at its first turn, every table again each `stats_interval` seconds (sampled, so a
    few tens of milliseconds however big), and PRAGMA optimize as it stops."""

    def __init__(self, path: str, interval: float = 0.5, rewind_frames: int = 16384,
                 stats_interval: float = 3600.0, statistics: bool = True) -> None:
        self._path = path
        # Set: the statistics are kept (cleared until the schema is migrated, see SQLiteWriter).
        self.statistics = threading.Event()
        if statistics:
            self.statistics.set()
        self.rewind_frames = rewind_frames
        self.rewind_wanted = False
        self._interval = interval
        self.stats_interval = stats_interval
        self.statistics_refreshed = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if path and path != ":memory:" and not path.startswith("file::memory:"):
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        stats_due: float | None = None  # monotonic time of the next full refresh
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
            if conn is not None and self.statistics.is_set() and (stats_due is None or time.monotonic() >= stats_due):
                done = self._refresh_statistics(conn, everything=stats_due is not None)
                # A pass that failed (the schema changing under it as the server migrates, a busy
                # writer) is tried again soon, not an hour later.
                stats_due = time.monotonic() + (self.stats_interval if done else STATS_RETRY_S)
        if conn is not None:
            if self.statistics.is_set():
                self._refresh_statistics(conn, everything=False)
            conn.close()

    def _refresh_statistics(self, conn: sqlite3.Connection, everything: bool) -> bool:
        try:
            refresh_statistics(conn, everything)
            self.statistics_refreshed += 1
            return True
        except sqlite3.Error as error:
            log.warning("refreshing SQLite's statistics failed: %s", error)
            if conn.in_transaction:  # no lock may stay held by this thread
                conn.rollback()
            return False

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


class InlineConnection:
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
