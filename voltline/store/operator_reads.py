"""Operators' reads on PostgreSQL, in a thread of their own: an event loop and an engine there.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voltline.priority import yield_to_the_event_loop
from voltline.store.errors import DatabaseUnavailable, QueryTimeout

T = TypeVar("T")

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout


def query_timeout(limit: float) -> QueryTimeout:
    return QueryTimeout(
        f"the query ran longer than {limit:g} s and was stopped; narrow it with filters (a charge point, a time range) or page with the cursor"
    )


class ReaderLoop:
    """A niced thread running an event loop of its own, with an engine made by `make_engine`
    (called in that thread: asyncpg's connections belong to the loop that opened them).

    Started on first use, so that a command-line run that never reads starts no thread."""

    def __init__(self, make_engine: Callable[[], AsyncEngine], limit: float) -> None:
        self._make_engine = make_engine
        self.limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: AsyncEngine | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self.thread_id: int | None = None

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
        self.thread_id = threading.get_ident()
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
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
        statements run on that loop."""
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
