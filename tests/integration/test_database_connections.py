"""PostgreSQL connections and commits: dropped connections are replaced, and background rows give way."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from tests.conftest import postgres_admin
from voltline.services.clock import now
from voltline.store.database import Store, create_engine
from voltline.store.log_bodies import compressor

pytestmark = pytest.mark.usefixtures("postgres_database")


async def _backend_pid(engine: sa.ext.asyncio.AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT pg_backend_pid()")))


async def test_a_connection_dropped_while_idle_is_replaced(postgres_database: str) -> None:
    engine = create_engine(postgres_database, pool_size=1, ping_idle_after=0.0)
    try:
        before = await _backend_pid(engine)
        await postgres_admin(f"SELECT pg_terminate_backend({before})")
        assert await _backend_pid(engine) != before  # no error: the check found it gone
    finally:
        await engine.dispose()


async def test_a_recently_used_connection_is_not_checked_but_its_failure_heals_the_pool(
    postgres_database: str,
) -> None:
    engine = create_engine(postgres_database, pool_size=1, ping_idle_after=3600.0)
    try:
        before = await _backend_pid(engine)
        await postgres_admin(f"SELECT pg_terminate_backend({before})")
        with pytest.raises(sa.exc.DBAPIError):
            await _backend_pid(engine)  # used moments ago: not checked, so this use fails
        assert await _backend_pid(engine) != before  # and the pool connected afresh
    finally:
        await engine.dispose()


async def test_a_read_cancelled_midway_gives_its_connection_back(postgres_database: str) -> None:
    store = Store(postgres_database, pool_size=1)
    try:
        async def slow_read() -> None:
            async with store.read() as conn:
                await conn.execute(sa.text("SELECT pg_sleep(5)"))

        reading = asyncio.create_task(slow_read())
        await asyncio.sleep(0.2)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert store.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert (await store.fetch_one(sa.select(sa.literal(7)))) == (7,)
    finally:
        await store.close()


async def test_a_finished_read_is_given_back_without_extra_turns_of_the_loop(postgres_database: str) -> None:
    """SQLAlchemy's own context manager closes in a task of its own (three turns of the loop,
    each long on a loaded server); Store.read closes in place when all went well."""
    store = Store(postgres_database)
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    counter = asyncio.create_task(count_turns())
    try:
        async with store.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
            before = turns
        assert turns == before
    finally:
        counter.cancel()
        await store.close()


async def test_message_log_rows_held_up_never_hold_back_a_meter_value(postgres_database: str) -> None:
    """The log's rows commit beside the writes charge points wait for, never in front of them."""
    from voltline.store import tables as t
    from voltline.store.migrate import ensure_schema

    store = Store(postgres_database, pool_size=4)
    blocker = create_engine(postgres_database)
    try:
        await ensure_schema(store.engine)
        log_row = ("CP-1", now(), now(), 1, compressor().compress(b'[["2026-12-01 00:00:00.000000","in",2,"1","Heartbeat",null,"[]"]]'), None)
        sample = ("CP-1", 1, None, now(), 1, "[1]")  # a reading of one value (set 1, not read back)
        async with blocker.connect() as lock:
            await lock.execute(sa.text("LOCK TABLE message_batches IN ACCESS EXCLUSIVE MODE"))
            # More chunks of log rows than there are commits in flight, all stuck behind the lock.
            held = [store.write(inserts=((t.message_batches, [log_row] * 1000),), background=True) for _ in range(8)]
            await asyncio.sleep(0.2)
            await asyncio.wait_for(store.write(inserts=((t.meter_readings, [sample]),)), timeout=5)
            assert not any(future.done() for future in held)
            await lock.rollback()
        await asyncio.wait_for(asyncio.gather(*held), timeout=10)
        assert await store.fetch_one(sa.select(sa.func.count()).select_from(t.message_batches)) == (8000,)
    finally:
        # The session's database is shared: leave it as empty as found.
        await store.write(lambda conn: conn.execute(sa.text("TRUNCATE message_batches, meter_readings")))
        await blocker.dispose()
        await store.close()
