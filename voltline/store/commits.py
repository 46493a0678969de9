"""Committing a lane's batch of writes in one transaction.

A batch that fails for one bad write is split in halves and retried, down to that write, so its
neighbours are committed; a failure that says the database is away opens the circuit breaker
instead, and what waits in the lanes fails with it at once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voltline.store.breaker import Breaker, is_unavailability
from voltline.store.bulk_insert import InsertPlan
from voltline.store.engine import connection
from voltline.store.errors import DatabaseUnavailable
from voltline.store.lanes import Write
from voltline.store.sqlite_writer import SQLiteWriter


class BatchCommitter:
    """Commits batches on `engine` (in autocommit: PostgreSQL's batches run in the driver's own
    transaction), or through `sqlite_writer` on SQLite. `fail_queued` fails every write still
    waiting in the lanes (the database is away)."""

    def __init__(
        self,
        engine: AsyncEngine,
        sqlite_writer: SQLiteWriter | None,
        fail_queued: Callable[[DatabaseUnavailable], None],
    ) -> None:
        self._engine = engine
        self._sqlite_writer = sqlite_writer
        self._fail_queued = fail_queued
        self.breaker = Breaker()
        self._insert_plans: dict[sa.Table, InsertPlan] = {}
        self.commits = 0
        self.writes = 0

    def trip(self, error: BaseException) -> DatabaseUnavailable:
        """The database is away: open the circuit, and fail what waits in the lanes with it."""
        self.breaker.trip(asyncio.get_running_loop().time())
        unavailable = (
            error if isinstance(error, DatabaseUnavailable)
            else DatabaseUnavailable(f"the database is unavailable: {error}")
        )
        if unavailable is not error:
            unavailable.__cause__ = error
        self._fail_queued(unavailable)
        return unavailable

    async def commit(self, batch: list[Write]) -> None:
        """Commit `batch` and settle each write's future; never raises."""
        breaker = self.breaker
        if breaker.open_until and asyncio.get_running_loop().time() < breaker.open_until:
            # Found away while this batch waited (or while its other half was committed).
            self._fail(batch, DatabaseUnavailable("the database is unavailable; try again shortly"))
            return
        try:
            results = await self.run(batch)
        except Exception as error:
            if is_unavailability(error):
                # Not the writes' fault: splitting would only try the database 2n times more.
                self._fail(batch, self.trip(error))
                return
            if len(batch) == 1:
                self._fail(batch, error)
                return
            # One bad write must not fail its neighbours: commit each half on its own, the
            # earlier half first (order is kept), so a bad write costs 2·log2(n) commits more,
            # not n, each of which may wait for a lock.
            half = len(batch) // 2
            await self.commit(batch[:half])
            await self.commit(batch[half:])
            return
        if breaker.open_until:
            breaker.reset()  # the probe went through: the database is back
        self._succeed(batch, results)

    async def run(self, batch: list[Write]) -> list[Any]:
        """One transaction for `batch`: the writes' results, or the error that undid it."""
        if self._sqlite_writer is not None:
            # A probe after a lock (another process's) waits for it briefly: the charge points
            # whose writes queued meanwhile should hear soon, not after a whole lock wait.
            results = await self._sqlite_writer.run(
                lambda conn: self._apply(conn, batch), lock_wait=0.1 if self.breaker.open_until else None
            )
        else:
            # The driver's own transaction, with SQLAlchemy's connection in autocommit inside it:
            # the same BEGIN and COMMIT round trips as conn.begin(), and row inserts can then go
            # by the driver's COPY (see _bulk_insert) within the very same transaction.
            async with connection(self._engine) as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                try:
                    async with driver.transaction():
                        results = await self._apply(conn, batch, driver)
                except Exception as error:
                    if driver.is_closed() or is_unavailability(error):
                        # Lost under the driver, where SQLAlchemy did not see it: the pool must
                        # not hand this connection out again.
                        await conn.invalidate()
                    raise
        self.commits += 1
        self.writes += len(batch)
        return results

    async def _apply(self, conn: AsyncConnection, batch: list[Write], driver: Any = None) -> list[Any]:
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
            plan = self._insert_plans[table] = InsertPlan(table, self._engine.dialect)
        if driver is not None:
            await driver.copy_records_to_table(table.name, records=plan.records(rows), columns=plan.columns)
            return
        for sql, parameters in plan.statements(rows):
            await conn.exec_driver_sql(sql, parameters)

    @staticmethod
    def _succeed(batch: list[Write], results: list[Any]) -> None:
        for write, result in zip(batch, results, strict=True):
            if not write.future.done():
                write.future.set_result(result)

    @staticmethod
    def _fail(batch: list[Write], error: Exception) -> None:
        for write in batch:
            if not write.future.done():
                write.future.set_exception(error)
