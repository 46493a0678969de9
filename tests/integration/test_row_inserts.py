"""Store.write's row inserts (meter values, the message log): multi-row INSERTs on SQLite, binary
COPY on PostgreSQL; the same rows come back either way, and a bad row fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.readings import ENERGY_WH, shape_set
from voltline.store import tables as t
from voltline.store.database import Store
from voltline.store.migrate import ensure_schema

AT = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)


def _sample(value: str, set_id: int) -> tuple[object, ...]:
    """A meter_readings row with one sampled value, an energy register in Wh (`set_id`)."""
    return ("CP-1", 1, 7, AT, set_id, f"[{value}]")


async def test_rows_as_tuples_and_dicts_come_back_as_written(database_url: str) -> None:
    store = Store(database_url)
    try:
        await ensure_schema(store.engine)
        energy = await shape_set(store, ENERGY_WH)
        unitless = await shape_set(store, (None, None, "Voltage", None, "Sample.Periodic", "Outlet", "Raw", 1.0, 1.0))
        as_dict = {  # the optional column (transaction_id) left out
            "charge_point_id": "CP-1", "connector_id": 2, "timestamp": AT, "shape_set_id": unitless, "samples": '["5"]',
        }
        rows = [_sample(str(n), energy) for n in range(1200)] + [as_dict]  # more than one statement's worth
        await store.write(inserts=((t.meter_readings, rows),))
        mv = t.meter_values.c
        stored = await store.fetch_all(
            sa.select(mv.raw_value, mv.value, mv.timestamp, mv.unit, mv.connector_id, mv.transaction_id).order_by(mv.id)
        )
        assert [row.raw_value for row in stored] == [str(n) for n in range(1200)] + ["5"]
        assert [row.value for row in stored[:3]] == [0.0, 1.0, 2.0]
        assert {row.timestamp for row in stored} == {AT}
        assert (stored[-1].unit, stored[-1].value, stored[-1].connector_id, stored[-1].transaction_id) == (None, None, 2, None)
    finally:
        await store.close()


async def test_a_bad_row_fails_its_own_write_and_no_other(database_url: str) -> None:
    store = Store(database_url)
    try:
        await ensure_schema(store.engine)
        energy = await shape_set(store, ENERGY_WH)
        bad = list(_sample("1", energy))
        bad[5] = None  # samples is NOT NULL
        results = await asyncio.gather(
            store.write(inserts=((t.meter_readings, [_sample("1", energy)]),)),
            store.write(inserts=((t.meter_readings, [_sample("2", energy), tuple(bad)]),)),
            store.write(inserts=((t.meter_readings, [_sample("3", energy)]),)),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], Exception)
        stored = await store.fetch_all(sa.select(t.meter_values.c.raw_value).order_by(t.meter_values.c.id))
        assert sorted(row.raw_value for row in stored) == ["1", "3"]  # nothing of the bad write
    finally:
        await store.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_rows_go_by_copy(database_url: str) -> None:
    store = Store(database_url)
    try:
        await ensure_schema(store.engine)
        energy = await shape_set(store, ENERGY_WH)
        statements: list[str] = []
        sa.event.listen(store.engine.sync_engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *args: statements.append(statement))
        await store.write(inserts=((t.meter_readings, [_sample("1", energy)] * 10),))
        assert not any("meter_readings" in statement for statement in statements)  # no INSERT through SQLAlchemy
        assert await store.fetch_one(sa.select(sa.func.count()).select_from(t.meter_values)) == (10,)
    finally:
        await store.close()
