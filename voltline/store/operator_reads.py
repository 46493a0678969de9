"""Operators' reads (API lists, dashboard pages, CSV export, log search), never on the event loop's
thread, each statement stopped past a time limit.

On SQLite the statements run in niced threads (SQLiteReaders): sqlite3 releases the GIL while it
steps. On PostgreSQL they run on an event loop of their own in a niced thread (ReaderLoop):
asyncpg decodes every row of an answer where its connection lives. On the server's event loop,
an operator's heavy read (a CSV export of every transaction, a deep page of the message log)
then held up every charge point while its rows were decoded (bench scenario 7: the fleet's p99
rose elevenfold). Here the statements run, and their rows are decoded and made into SQLAlchemy
rows, on a loop in a niced thread (see voltline.priority); the server's loop only receives the
finished rows. The sessions carry a statement_timeout, so the hot path's pool keeps no limit of
the kind."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voltline.priority import yield_to_the_event_loop
from voltline.store.errors import DatabaseUnavailable, QueryTimeout

T = TypeVar("T")

QUERY_THREADS = 4  # SQLite: operators' reads run at once (more wait for one to end)
# PostgreSQL: operators' reads run at once (more wait for one to end). Each is a backend of
# its own, not niced: unbounded, a few deep pages at once took both cores from the OCPP path.
QUERY_CONNECTIONS = 2
# PostgreSQL: each operator read runs in one backend (no parallel workers: a count over the
# readings took all of the host's cores from the charge points' statements for its time) and
# is not compiled (JIT spent 1.7 s compiling a 10-s count over the meter values view).
OPERATOR_READ_SETTINGS = {"max_parallel_workers_per_gather": "0", "jit": "off"}
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout


def query_timeout(limit: float) -> QueryTimeout:
    return QueryTimeout(
        f"the query ran longer than {limit:g} s and was stopped; narrow it with filters (a charge point, a time range) or page with the cursor"
    )


class ReaderLoop:
    """A niced thread running an event loop of its own, with an engine made by `make_engine`
    (called in that thread: asyncpg's connections belong to the loop that opened them).

    Started on first use, so that a command-line run that never reads starts no thread."""

    def __init__(self, make_engine: Callable[[], AsyncEngine], limit: float, at_once: int = QUERY_CONNECTIONS) -> None:
        self._make_engine = make_engine
        self.limit = limit
        self._slots = asyncio.Semaphore(at_once)  # waited for on the asker's loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: AsyncEngine | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._started:
            if self._loop is None:
                ready = threading.Event()
                self._thread = threading.Thread(target=self._main, args=(ready,), name="postgres-query", daemon=True)
                self._thread.start()
                ready.wait()
        assert self._loop is not None
        return self._loop

    def _main(self, ready: threading.Event) -> None:
        yield_to_the_event_loop()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._engine = self._make_engine()
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
            # Stopping: a read still running ends now (its asker gets CancelledError), so that
            # every connection is back in the pool before the pool is closed.
            running = asyncio.all_tasks(loop)
            for task in running:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*running, return_exceptions=True))
            loop.run_until_complete(self._engine.dispose())
        finally:
            loop.close()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """`coroutine`'s result, run on the reader loop. If the caller is cancelled, the
        coroutine is cancelled there and waited for, so that its connection is given back
        before the caller goes on."""
        loop = self._start()
        here = asyncio.get_running_loop()
        outcome: asyncio.Future[T] = here.create_future()
        task: list[asyncio.Task[T]] = []

        def settle(done: asyncio.Task[T]) -> None:
            if outcome.done():
                return
            if done.cancelled():
                outcome.cancel()
            elif (error := done.exception()) is not None:
                outcome.set_exception(error)
            else:
                outcome.set_result(done.result())

        def start() -> None:
            task.append(loop.create_task(coroutine))
            task[0].add_done_callback(lambda done: here.call_soon_threadsafe(settle, done))

        loop.call_soon_threadsafe(start)
        try:
            return await asyncio.shield(outcome)
        except asyncio.CancelledError:
            if not outcome.done():
                loop.call_soon_threadsafe(lambda: task[0].cancel())  # runs after start(): FIFO
                await asyncio.wait([outcome])
                if not outcome.cancelled():
                    outcome.exception()  # retrieved: the caller's cancellation is what counts
            raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the reader loop's pool in autocommit (no BEGIN and ROLLBACK round
        trips; each statement sees committed data only), as an AsyncConnection whose
        statements run on that loop. At most `at_once` are out at a time; more askers queue."""
        async with self._slots:
            conn = await self.run(self._connect())
            try:
                yield _ReaderConnection(conn, self)  # type: ignore[misc]
            except BaseException as error:
                await self._finish(conn.__aexit__(type(error), error, error.__traceback__))
                raise
            await self._finish(conn.close())

    async def _connect(self) -> AsyncConnection:
        assert self._engine is not None
        try:
            return await self._engine.execution_options(isolation_level="AUTOCOMMIT").connect()
        except Exception as error:
            raise DatabaseUnavailable(f"the database cannot be reached: {error}") from error

    async def _finish(self, closing: Awaitable[Any]) -> None:
        """Give a connection back, even if the caller is cancelled meanwhile."""

        async def close() -> None:
            await closing

        done = asyncio.ensure_future(self.run(close()))
        await asyncio.wait([done])
        if not done.cancelled():
            done.exception()  # a failed close is the pool's business (it discards the connection)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class _ReaderConnection:
    """The AsyncConnection methods that reads use, each statement run on the reader loop with its
    rows fetched and processed there (a frozen result is handed back)."""

    __slots__ = ("_conn", "_reader")

    def __init__(self, conn: AsyncConnection, reader: ReaderLoop) -> None:
        self._conn, self._reader = conn, reader

    @property
    def dialect(self) -> sa.Dialect:
        return self._conn.dialect

    async def _call(self, run: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
        async def step() -> Any:
            result = await run(self._conn)
            if isinstance(result, sa.CursorResult):
                return result.freeze() if result.returns_rows else None
            return result

        try:
            result = await self._reader.run(step())
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
                raise query_timeout(self._reader.limit) from error
            raise
        return result() if isinstance(result, sa.engine.FrozenResult) else result

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self._call(lambda conn: conn.execute(statement, parameters))

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self._call(lambda conn: conn.scalar(statement, parameters))

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return await self._call(lambda conn: conn.exec_driver_sql(statement, parameters))

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._call(lambda conn: conn.run_sync(fn, *args))


class SQLiteReaders:
    """Operators' reads on SQLite: connections of `engine` (a pool of its own, usable from any
    thread) used in niced threads, at a lower priority than the loop, since a heavy read shares
    the server's core with it."""

    def __init__(self, engine: sa.Engine, limit: float) -> None:
        self._engine = engine
        self.limit = limit
        self._threads = ThreadPoolExecutor(
            max_workers=QUERY_THREADS, thread_name_prefix="sqlite-query", initializer=yield_to_the_event_loop
        )
        # One read per thread at a time: a statement's time limit then counts from its start,
        # not from when it was queued in the executor.
        self._slots = asyncio.Semaphore(QUERY_THREADS)
        self.running: set[Any] = set()  # connections stepping a statement in a thread

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        loop = asyncio.get_running_loop()
        async with self._slots:
            sync_conn = await loop.run_in_executor(self._threads, self._engine.connect)
            try:
                yield ThreadedConnection(sync_conn, self._threads, self.limit, self.running)  # type: ignore[misc]
            finally:
                await loop.run_in_executor(self._threads, sync_conn.close)

    def stop(self) -> None:
        for raw in list(self.running):  # a long read must not hold the stop up
            raw.interrupt()
        self._threads.shutdown(wait=True)


class ThreadedConnection:
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
