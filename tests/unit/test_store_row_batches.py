"""Store.write's pure row inserts of one turn of the loop: one write for all, a future for each."""

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from voltline.store.database import Store

rows = sa.Table(
    "rows", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("k", sa.Integer, nullable=False, unique=True), sa.Column("v", sa.Text),
)
others = sa.Table("others", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                  sa.Column("k", sa.Integer, nullable=False))


async def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    await store.write(lambda conn: conn.run_sync(lambda sync: (rows.create(sync), others.create(sync))))
    return store


async def test_the_inserts_of_one_turn_are_one_write_and_each_caller_hears_of_its_own(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        before = store.writes
        futures = [store.write(inserts=((rows, [(k, f"v{k}")]), (others, [(k,)]))) for k in range(50)]
        assert not any(future.done() for future in futures)  # answered once committed, not before
        assert await asyncio.gather(*futures) == [None] * 50
        assert store.writes - before == 1
        stored = await store.fetch_all(sa.select(rows.c.k, rows.c.v).order_by(rows.c.id))
        assert [tuple(row) for row in stored] == [(k, f"v{k}") for k in range(50)]  # in the order made
        assert await store.fetch_one(sa.select(sa.func.count()).select_from(others)) == (50,)
    finally:
        await store.close()


async def test_a_bad_row_fails_its_own_caller_only(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.write(inserts=((rows, [(7, "first")]),))
        results = await asyncio.gather(
            *(store.write(inserts=((rows, [(k, "new")]),)) for k in (1, 7, 2)),  # 7: the unique key's
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], sa.exc.IntegrityError)
        stored = await store.fetch_all(sa.select(rows.c.k, rows.c.v).order_by(rows.c.k))
        assert [tuple(row) for row in stored] == [(1, "new"), (2, "new"), (7, "first")]
    finally:
        await store.close()


async def test_inserts_gathered_when_the_store_closes_are_committed(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    futures = [store.write(inserts=((rows, [(k, None)]),)) for k in range(3)]
    await store.close()
    assert all(future.done() and future.exception() is None for future in futures)
    reopened = Store(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        assert await reopened.fetch_one(sa.select(sa.func.count()).select_from(rows)) == (3,)
    finally:
        await reopened.close()


@pytest.mark.parametrize("count", [300])
async def test_a_burst_larger_than_a_write_takes_is_committed_whole(tmp_path: Path, count: int) -> None:
    store = await _store(tmp_path)
    try:
        futures = [store.write(inserts=((rows, [(k, None)]),)) for k in range(count)]
        await asyncio.gather(*futures)
        assert await store.fetch_one(sa.select(sa.func.count()).select_from(rows)) == (count,)
    finally:
        await store.close()
