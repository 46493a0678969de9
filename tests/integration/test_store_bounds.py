"""The store under a slow, locked or absent database: bounded queues that fail fast, a bad write
that costs a few retries rather than one per write, and a circuit breaker that answers at once
while the database is away and closes by itself when it is back."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import ServerFactory
from tests.integration.test_bad_input import _outage
from voltline.app import Voltline
from voltline.services.clock import now
from voltline.store import tables as t
from voltline.store.database import Store, create_engine
from voltline.store.migrate import ensure_schema
from voltline.store.log_bodies import compressor

T0 = "2026-11-01T10:00:00Z"
SAMPLE = "[1]"  # the value of a reading of one sampled value (the rows here are counted, not read)
SHAPES = 1  # its shape set's id: none is stored, the meter_values view does not show these rows
MAX_ROWS = 40


@pytest.fixture
async def server(start_server: ServerFactory) -> Voltline:
    return await start_server(write_queue_max_rows=MAX_ROWS, message_log_max_frames=50)


@asynccontextmanager
async def _locked(url: str, *tables: str) -> AsyncIterator[None]:
    """Writes to `tables` wait: SQLite locked whole by another process's transaction, PostgreSQL's
    tables locked by another session."""
    if url.startswith("sqlite"):
        lock = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    blocker = create_engine(url)
    try:
        async with blocker.connect() as conn:
            await conn.execute(sa.text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                await conn.rollback()
    finally:
        await blocker.dispose()


def _reading() -> tuple[Any, ...]:
    return ("CP-1", 1, None, now(), SHAPES, SAMPLE)


async def _fill(make_write: Any) -> list[asyncio.Future[Any]]:
    """Writes made until their lane refuses one, a few times over: whatever batches the lane
    has taken meanwhile wait behind the lock, and the lane is then full."""
    made: list[asyncio.Future[Any]] = []
    for _ in range(10):
        for count in range(4 * MAX_ROWS):
            made.append(make_write())
            if made[-1].done():
                break
        if count == 0:  # refused at once: every batch in flight waits, and the queue is full
            return made
        await asyncio.sleep(0.05)
    raise AssertionError("the lane never filled")


async def _metric(api: Any, name: str) -> float:
    text = (await api.get("/metrics")).text
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def test_a_locked_database_fills_the_queues_to_their_bound_then_writes_fail_fast(  # type: ignore[no-untyped-def]
    server, connect, api, database_url
) -> None:
    store = server.store
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    meter_values = {"connectorId": 1, "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "5"}]}]}
    async with _locked(database_url, "meter_readings", "message_batches"):
        # Writes nobody answers yet: more than a lane may hold.
        held = await _fill(lambda: store.write(inserts=((t.meter_readings, [_reading()]),)))
        refused = [future for future in held if future.done()]
        assert refused, "every write was queued"
        lanes = {id(lane): lane for lane in (store._ordered, store._appends, store._background)}.values()
        assert all(lane.queued_rows <= MAX_ROWS for lane in lanes)
        # A charge point whose write finds its queue full hears so at once, while the lock holds.
        answer = await asyncio.wait_for(client.call("MeterValues", meter_values), timeout=4)
        assert answer[0] == 4 and answer[2] == "InternalError", answer
        # The message log keeps its own bound: frames past it are dropped and counted.
        for _ in range(60):
            assert (await client.call("Heartbeat", {}))[0] == 3
        server.services.message_log.flush()
        await asyncio.sleep(0.05)
        assert server.services.message_log.held_frames <= 50
        assert await _metric(api, "voltline_message_log_dropped_frames_total") > 0
        assert await _metric(api, "voltline_store_rejected_writes_total") >= len(refused) + 1
        assert all(lane.queued_rows <= MAX_ROWS for lane in lanes)
    await asyncio.gather(*held, return_exceptions=True)
    # The lock gone, the charge point's retry is stored.
    for _ in range(50):
        answer = await client.call("MeterValues", meter_values)
        if answer[0] == 3:
            break
        await asyncio.sleep(0.2)
    assert answer == [3, answer[1], {}]


async def test_an_api_write_that_finds_its_queue_full_answers_503(server, api, database_url) -> None:  # type: ignore[no-untyped-def]
    store = server.store
    await server.services.charge_points.register("CP-1")
    update = t.id_tags.update().where(t.id_tags.c.id_tag == "none").values(status="Blocked")
    async with _locked(database_url, "id_tags"):
        # Ordered writes (those with logic) held behind the lock, more than the lane takes.
        held = await _fill(lambda: store.write(lambda conn: conn.execute(update)))
        answer = await asyncio.wait_for(api.post("/api/v1/id-tags", json={"id_tag": "NEW"}), timeout=4)
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] in ("store_busy", "database_unavailable")
        assert answer.headers["Retry-After"]
    await asyncio.gather(*held, return_exceptions=True)


async def test_a_backlog_of_log_rows_leaves_room_for_the_writes_charge_points_wait_for(database_url: str) -> None:
    store = Store(database_url, lane_max_rows=MAX_ROWS)
    log_row = ("CP-1", now(), now(), 1, compressor().compress(b'[["2026-12-01 00:00:00.000000","in",2,"1","Heartbeat",null,"[]"]]'), None)
    try:
        await ensure_schema(store.engine)
        async with _locked(database_url, "message_batches", "meter_readings"):
            logged = await _fill(lambda: store.write(inserts=((t.message_batches, [log_row]),), background=True))
            assert store._background.queued_rows <= MAX_ROWS // 2
            # On SQLite the log shares its lane with everything else; it took half at most.
            waited_for = store.write(inserts=((t.meter_readings, [_reading()]),))
            await asyncio.sleep(0)
            assert not waited_for.done()
        await asyncio.gather(waited_for, *logged, return_exceptions=True)
    finally:
        await store.write(lambda conn: conn.execute(t.message_batches.delete()))
        await store.write(lambda conn: conn.execute(t.meter_readings.delete()))
        await store.close()


async def test_a_failed_batch_is_bisected_to_its_bad_write(database_url: str) -> None:
    store = Store(database_url)
    try:
        await ensure_schema(store.engine)
        runs = 0
        run = store._commits.run

        async def counted(batch: list[Any]) -> list[Any]:
            nonlocal runs
            runs += 1
            return await run(batch)

        store._commits.run = counted  # type: ignore[method-assign]
        count, bad = 128, 77
        rows = [("CP-1", 1, None, now(), SHAPES, SAMPLE) for _ in range(count)]
        rows[bad] = ("CP-1", 1, None, None, SHAPES, SAMPLE)  # timestamp NOT NULL
        # All made at once: one batch.
        results = await asyncio.gather(
            *(store.write(lambda conn: asyncio.sleep(0), inserts=((t.meter_readings, [row]),)) for row in rows),
            return_exceptions=True,
        )
        failed = [i for i, result in enumerate(results) if isinstance(result, Exception)]
        assert failed == [bad]
        assert await store.fetch_one(sa.select(sa.func.count()).select_from(t.meter_readings)) == (count - 1,)
        # The batch, then two halves at each of log2(n) levels: not one retry per write.
        assert runs <= 1 + 2 * math.ceil(math.log2(count))
    finally:
        store._commits.run = run  # type: ignore[method-assign]
        await store.write(lambda conn: conn.execute(t.meter_readings.delete()))
        await store.close()


async def test_while_the_database_is_away_calls_get_internal_error_at_once_and_it_recovers(  # type: ignore[no-untyped-def]
    server, connect, database_url
) -> None:
    store = server.store
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    start = {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": T0}
    tries = 0
    run = store._commits.run

    async def counted(batch: list[Any]) -> list[Any]:
        nonlocal tries
        tries += 1
        return await run(batch)

    store._commits.run = counted  # type: ignore[method-assign]
    async with _outage(database_url):
        first = await client.call("StartTransaction", start)
        assert first[0] == 4 and first[2] == "InternalError", first
        assert store.circuit_open  # the failure said the database is away, not that the write was bad
        tries, rejected = 0, store.rejected
        for _ in range(20):
            again = await client.call("StartTransaction", start)
            assert again[0] == 4 and again[2] == "InternalError", again
        # Most were refused without trying the database (or waiting for it): only the probes,
        # a few a second, went to it.
        assert store.rejected > rejected
        assert tries < 20
    for _ in range(50):
        answer = await client.call("StartTransaction", start)
        if answer[0] == 3:
            break
        await asyncio.sleep(0.2)
    assert answer[0] == 3 and isinstance(answer[2]["transactionId"], int)
    assert not store.circuit_open
