"""Store.execute: one-statement writes, consecutive ones of a statement run as one executemany."""

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from voltline.store.database import Store

kv = sa.Table("kv", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True), sa.Column("v", sa.Text, nullable=False))
SET = kv.update().where(kv.c.k == sa.bindparam("b_k")).values(v=sa.bindparam("b_v"))
APPEND = kv.update().where(kv.c.k == sa.bindparam("b_k")).values(v=kv.c.v + sa.bindparam("b_s"))


async def test_runs_of_one_statement_share_an_executemany_and_order_is_kept(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        await store.write(lambda conn: conn.run_sync(lambda sync: kv.create(sync)))
        await store.write(lambda conn: conn.execute(kv.insert(), [{"k": 1, "v": ""}, {"k": 2, "v": ""}]))
        assert store._sqlite_writer is not None
        executions: list[bool] = []
        event.listen(
            store._sqlite_writer.engine, "before_cursor_execute",
            lambda conn, cursor, statement, parameters, context, executemany: executions.append(executemany),
        )
        writes = [
            (SET, {"b_k": 1, "b_v": "a"}), (APPEND, {"b_k": 1, "b_s": "x"}),
            (SET, {"b_k": 1, "b_v": "b"}), (SET, {"b_k": 1, "b_v": "c"}), (SET, {"b_k": 2, "b_v": "z"}),
            (APPEND, {"b_k": 1, "b_s": "y"}),
        ]
        await asyncio.gather(*(store.execute(statement, parameters) for statement, parameters in writes))
        # In the order made: grouping all SETs before all APPENDs would have given "cxy".
        assert await store.fetch_one(sa.select(kv.c.v).where(kv.c.k == 1)) == ("cy",)
        assert await store.fetch_one(sa.select(kv.c.v).where(kv.c.k == 2)) == ("z",)
        assert executions == [False, False, True, False]  # SET, APPEND, SET×3 at once, APPEND
    finally:
        await store.close()


async def test_a_failing_statement_fails_alone(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        await store.write(lambda conn: conn.run_sync(lambda sync: kv.create(sync)))
        await store.write(lambda conn: conn.execute(kv.insert(), [{"k": 1, "v": ""}, {"k": 2, "v": ""}]))
        results = await asyncio.gather(
            store.execute(SET, {"b_k": 1, "b_v": "fine"}),
            store.execute(SET, {"b_k": 2, "b_v": None}),  # NOT NULL
            store.execute(SET, {"b_k": 2, "b_v": "also fine"}),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], sa.exc.IntegrityError)
        rows = await store.fetch_all(sa.select(kv.c.k, kv.c.v).order_by(kv.c.k))
        assert [tuple(row) for row in rows] == [(1, "fine"), (2, "also fine")]
    finally:
        await store.close()


async def test_a_closing_store_takes_no_statement(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    await store.close()
    with pytest.raises(RuntimeError):
        await store.execute(SET, {"b_k": 1, "b_v": "late"})
