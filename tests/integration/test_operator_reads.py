"""Operators' reads never hold up a charge point, end past the time limit with a clear error, and
page by cursor as well as by offset."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import ServerFactory
from tests.readings import VOLTAGE_V, shape_set
from voltline.app import Voltline
from voltline.services.paging import fetch_page
from voltline.store.errors import QueryTimeout

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SAMPLE = "[230]"  # a Voltage of 230 V (tests.readings.VOLTAGE_V)


@pytest.fixture
async def server(start_server: ServerFactory, request: pytest.FixtureRequest) -> Voltline:
    marker = request.node.get_closest_marker("settings")
    return await start_server(**(marker.kwargs if marker else {}))


def _counter(upto: int) -> sa.Select[Any]:
    """A read that takes seconds whatever the tables hold: counting to `upto`, row by row."""
    counter = sa.select(sa.literal(1).label("n")).cte("counter", recursive=True)
    counter = counter.union_all(sa.select(counter.c.n + 1).where(counter.c.n < upto))
    return sa.select(counter.c.n)


async def _generate_readings(server: Voltline, count: int) -> None:
    """`count` meter readings of one Voltage sample each, made by the database itself."""
    columns = "charge_point_id, connector_id, transaction_id, timestamp, shape_set_id, samples"
    voltage = await shape_set(server.store, VOLTAGE_V)
    if server.store.is_sqlite:
        sql = (
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
            f"INSERT INTO meter_readings ({columns}) SELECT 'CP-1', 1, NULL, '2026-11-01 10:00:00.000000', {voltage},"
            f" '{SAMPLE}' FROM n"
        )
    else:
        sql = (
            f"INSERT INTO meter_readings ({columns}) SELECT 'CP-1', 1, NULL, TIMESTAMPTZ '2026-11-01 10:00:00+00', "
            f"{voltage}, '{SAMPLE}' FROM generate_series(1, {count})"
        )
    await server.store.write(lambda conn: conn.execute(sa.text(sql)))


@pytest.mark.settings(query_timeout=1.5)
async def test_a_heavy_read_runs_while_charge_points_are_answered(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    # The read behind every API list (count, then the page), over far more work than the time
    # limit allows on any host (ten million rows took under 1.5 s on a fast one).
    reading = asyncio.create_task(fetch_page(server.store, _counter(2_000_000_000), (sa.column("n"),), 10, 0, tuple))
    await asyncio.sleep(0)  # the read has started (inline on the loop, it would now be over)
    heartbeat = await client.call("Heartbeat", {})
    meter_values = await client.call(
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-01T10:00:00Z", "sampledValue": [{"value": "5"}]}]},
    )
    assert heartbeat[0] == 3 and meter_values == [3, meter_values[1], {}]
    assert not reading.done()  # both answered while the read was still running
    with pytest.raises(QueryTimeout):  # and the read ends at the time limit, not whenever it is done
        async with asyncio.timeout(60):
            await reading


@pytest.mark.settings(query_timeout=0.02)
async def test_a_read_past_the_time_limit_answers_a_clear_error(server, api) -> None:  # type: ignore[no-untyped-def]
    await _generate_readings(server, 200_000)
    answer = await api.get("/api/v1/meter-values", params={"measurand": "Voltage", "offset": 100_000})
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "query_timeout"
    assert "filters" in error["message"]
    # The server goes on serving reads that fit.
    assert (await api.get("/api/v1/charge-points")).status_code == 200


async def _page_all(api: Any, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        answer = await api.get(path, params={**params, "limit": limit, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["total"] >= len(page["items"])
        items += page["items"]
        after = page["next_cursor"]
        if after is None:
            return items
    raise AssertionError("the cursor never ended")


async def _page_by_offset(api: Any, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = (await api.get(path, params={**params, "limit": limit, "offset": len(items)})).json()
        items += page["items"]
        if len(items) >= page["total"] or not page["items"]:
            return items


async def test_cursor_paging_gives_the_items_of_offset_paging(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    # Meter values that share timestamps (the cursor's key is the time and the id), and
    # transactions, and the frames of it all in the message log.
    for minute in range(12):
        stamp = (T0 + timedelta(minutes=minute // 3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sampled = [{"value": str(minute * 10 + i), "measurand": m} for i, m in enumerate(("Voltage", "Current.Import"))]
        answer = await client.call("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": stamp, "sampledValue": sampled}]})
        assert answer[0] == 3
    for n in range(9):
        start = await client.call(
            "StartTransaction", {"connectorId": 1, "idTag": f"T{n}", "meterStart": 0, "timestamp": "2026-11-01T11:00:00Z"}
        )
        stop = await client.call(
            "StopTransaction",
            {"transactionId": start[2]["transactionId"], "meterStop": 10, "timestamp": "2026-11-01T11:05:00Z"},
        )
        assert stop[0] == 3
    flushed = server.services.message_log.flush()  # every frame so far committed
    if flushed is not None:
        await flushed

    for path, params in (
        ("/api/v1/meter-values", {}),
        ("/api/v1/meter-values", {"measurand": "Voltage"}),
        ("/api/v1/transactions", {}),
        ("/api/v1/messages", {}),
        ("/api/v1/messages", {"order": "asc"}),
        ("/api/v1/messages", {"charge_point_id": "CP-1"}),
        ("/api/v1/messages", {"charge_point_id": "CP-1", "order": "asc", "action": "MeterValues"}),
    ):
        by_offset = await _page_by_offset(api, path, params, limit=5)
        by_cursor = await _page_all(api, path, params, limit=5)
        assert len(by_offset) >= 9, (path, params)
        assert [item["id"] for item in by_cursor] == [item["id"] for item in by_offset], (path, params)
        assert by_cursor == by_offset

    # A deep page straight from a cursor: the same items as the offset that lies there.
    first = (await api.get("/api/v1/meter-values", params={"limit": 10})).json()
    deep = (await api.get("/api/v1/meter-values", params={"limit": 7, "after": first["next_cursor"]})).json()
    by_offset = (await api.get("/api/v1/meter-values", params={"limit": 7, "offset": 10})).json()
    assert deep["items"] == by_offset["items"] and deep["total"] == by_offset["total"] == 24
    assert {"items", "total", "limit", "offset", "next_cursor"} <= deep.keys()


async def test_a_cursor_that_is_not_one_is_refused(server, api) -> None:  # type: ignore[no-untyped-def]
    for cursor in ("bm90LWEtY3Vyc29y", "WyJ0eCIsIDFd"):  # "not-a-cursor", a transactions cursor
        answer = await api.get("/api/v1/meter-values", params={"after": cursor})
        assert 400 <= answer.status_code < 500 and answer.json()["error"]["code"] == "invalid_cursor", answer.text


async def test_a_heavy_read_given_up_by_its_asker_stops_and_frees_its_connection(server) -> None:  # type: ignore[no-untyped-def]
    reading = asyncio.create_task(fetch_page(server.store, _counter(2_000_000_000), (sa.column("n"),), 10, 0, tuple))
    await asyncio.sleep(0.2)
    assert not reading.done()
    reading.cancel()  # an operator closed the tab; the statement must not run on to its end
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert await server.store.query_one(sa.select(sa.literal(7))) == (7,)
    sqlite_reads = server.store._sqlite_reads
    assert not (sqlite_reads.running if sqlite_reads is not None else ())  # no statement left stepping


async def test_an_operator_read_runs_and_decodes_off_the_event_loops_thread(server) -> None:  # type: ignore[no-untyped-def]
    """Where a read's statements run, its rows are decoded (asyncpg decodes in the thread of the
    loop its connection belongs to): an operator's read must run in another thread than the
    event loop's, on PostgreSQL as on SQLite."""
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int]] = []

    def where(conn: sa.Connection) -> tuple[int, int]:
        # The thread the statement runs in, and the one the driver's rows are made in.
        rows = conn.execute(sa.select(sa.literal(1))).all()
        return threading.get_ident(), len(rows)

    async with server.store.query() as conn:
        seen.append(await conn.run_sync(where))
        rows = (await conn.execute(_counter(3))).all()
    assert [row.n for row in rows] == [1, 2, 3]
    assert seen and seen[0][1] == 1
    assert seen[0][0] != loop_thread
    # The OCPP path's reads stay where they were: for them a thread hop costs more than the read.
    async with server.store.read() as conn:
        assert await conn.run_sync(lambda sync_conn: threading.get_ident()) == loop_thread


async def test_operator_reads_asked_at_once_queue_beyond_their_bound(server) -> None:  # type: ignore[no-untyped-def]
    """Operators' reads share the host's cores with the OCPP path: asked many at once, only a few
    run (each a PostgreSQL backend, or a SQLite thread), the others wait for one to end."""
    from voltline.store.operator_reads import QUERY_CONNECTIONS, QUERY_THREADS

    bound = QUERY_THREADS if server.store.is_sqlite else QUERY_CONNECTIONS
    running = 0
    most = 0
    # Each read holds its connection until the test lets go (a slow read whatever the host's
    # speed): a thread waiting on SQLite's side, a backend waiting on a lock on PostgreSQL's.
    gate = threading.Event()
    lock_holder = None
    if not server.store.is_sqlite:
        lock_holder = await server.store.engine.connect()
        await lock_holder.execute(sa.text("SELECT pg_advisory_lock(4217)"))

    async def hold(conn: Any) -> None:
        if server.store.is_sqlite:
            await conn.run_sync(lambda _: gate.wait(60))
        else:
            await conn.execute(sa.text("SELECT pg_advisory_lock_shared(4217), pg_advisory_unlock_shared(4217)"))

    async def read() -> int:
        nonlocal running, most
        async with server.store.query() as conn:
            running += 1
            most = max(most, running)
            try:
                await hold(conn)
                return len((await conn.execute(_counter(3))).all())
            finally:
                running -= 1

    reads = asyncio.gather(*(read() for _ in range(bound + 4)))
    for _ in range(3000):  # up to a minute for the first reads to start
        if running == bound:
            break
        await asyncio.sleep(0.02)
    for _ in range(20):  # the others had every chance to start too
        await asyncio.sleep(0.01)
    assert running == bound
    gate.set()
    if lock_holder is not None:
        await lock_holder.execute(sa.text("SELECT pg_advisory_unlock(4217)"))
        await lock_holder.close()
    assert await reads == [3] * (bound + 4)  # every read answered in the end
    assert most == bound
