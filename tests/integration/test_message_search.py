"""A charge point's message log, read block by block (no index is led by the charge point)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa

from voltline.services.message_log import search as message_search
from voltline.store import tables as t
from voltline.store.log_bodies import compressor
from voltline.services.message_log.views import ExchangeFilter

BLOCK = 1 << t.MESSAGE_BLOCK_BITS
START = datetime(2026, 12, 1, tzinfo=UTC)


def _batch(batch_id: int, cp: str, frames: int) -> tuple[dict[str, object], list[int]]:
    """A message_batches row of `frames` Heartbeat CALLs, and the ids the view gives them."""
    at = START + timedelta(milliseconds=batch_id)
    stamp = at.isoformat(" ", "microseconds")[:26]
    listed = [[stamp, "in", 2, f"m{batch_id}-{k}", "Heartbeat", None, f'[2,"m{batch_id}-{k}","Heartbeat",{{}}]']
              for k in range(frames)]
    row = {"id": batch_id, "charge_point_id": cp, "first_at": at, "last_at": at, "frame_count": frames,
           "body": compressor().compress(orjson.dumps(listed)), "dictionary_id": None}
    return row, [batch_id * t.FRAMES_PER_BATCH + k for k in range(frames)]


async def _fill(store) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """CP-BUSY (two frames a batch) in every block; CP-QUIET once long ago and once recently, 40
    blocks apart. Returns the frame ids of each charge point."""
    ids: dict[str, list[int]] = {"CP-BUSY": [], "CP-QUIET": [], "CP-OTHER": []}
    rows = []
    for block in range(40):
        base = 1 + block * BLOCK
        for offset, cp, frames in ((0, "CP-BUSY", 2), (7, "CP-BUSY", 2), (BLOCK - 3, "CP-OTHER", 1)):
            row, frame_ids = _batch(base + offset, cp, frames)
            rows.append(row)
            ids[cp] += frame_ids
    for batch_id in (5, 39 * BLOCK + 11):
        row, frame_ids = _batch(batch_id, "CP-QUIET", 1)
        rows.append(row)
        ids["CP-QUIET"] += frame_ids
    await store.write(lambda conn: conn.execute(t.message_batches.insert(), rows))
    return {cp: sorted(found) for cp, found in ids.items()}


async def test_pages_of_one_charge_point_match_a_plain_scan(server) -> None:  # type: ignore[no-untyped-def]
    ids = await _fill(server.store)
    queries = server.services.views.messages
    for cp, expected in ids.items():
        newest = list(reversed(expected))
        page = await queries.messages(charge_point_id=cp, limit=7, offset=3)
        assert [m.id for m in page.items] == newest[3:10]
        assert page.total == len(expected)
        oldest = await queries.messages(charge_point_id=cp, newest_first=False, limit=5, offset=0)
        assert [m.id for m in oldest.items] == expected[:5]
    everything = await queries.messages(charge_point_id="CP-BUSY", limit=1000)
    assert [m.id for m in everything.items] == list(reversed(ids["CP-BUSY"]))
    assert (await queries.messages(charge_point_id="CP-NONE")).total == 0
    # Filters still apply inside the walk.
    later = await queries.messages(charge_point_id="CP-QUIET", time_from=START + timedelta(milliseconds=100))
    assert [m.id for m in later.items] == [ids["CP-QUIET"][1]]


async def test_pages_of_the_whole_log_match_a_plain_sort(server) -> None:  # type: ignore[no-untyped-def]
    ids = await _fill(server.store)
    everything = sorted(i for found in ids.values() for i in found)
    queries = server.services.views.messages
    for offset, limit in ((0, 1), (0, 5), (3, 4), (100, 50), (len(everything) - 2, 10)):
        newest = await queries.messages(limit=limit, offset=offset)
        assert [m.id for m in newest.items] == list(reversed(everything))[offset:offset + limit]
        assert newest.total == len(everything)
        oldest = await queries.messages(newest_first=False, limit=limit, offset=offset)
        assert [m.id for m in oldest.items] == everything[offset:offset + limit]
    window = await queries.messages(time_from=START + timedelta(milliseconds=8), time_to=START + timedelta(milliseconds=BLOCK + 8))
    assert [m.id for m in window.items] == list(reversed([i for i in everything if 8 <= i // t.FRAMES_PER_BATCH < BLOCK + 8]))


async def test_dashboard_exchanges_of_one_charge_point_page_by_id(server) -> None:  # type: ignore[no-untyped-def]
    ids = await _fill(server.store)
    exchanges = server.services.views.messages.exchanges
    where = ExchangeFilter(charge_point_id="CP-BUSY")
    # A page of 10 asks for one more: is there a next page.
    first = await exchanges(where, limit=11)
    newest = list(reversed(ids["CP-BUSY"]))
    assert [e.id for e in first] == newest[:11]  # one more than the page: is there a next page
    second = await exchanges(where, before=newest[9], limit=11)
    assert [e.id for e in second] == newest[10:21]
    quiet = await exchanges(ExchangeFilter(charge_point_id="CP-QUIET"), limit=11)
    assert [e.id for e in quiet] == list(reversed(ids["CP-QUIET"]))


async def test_the_block_index_serves_the_walk(server) -> None:  # type: ignore[no-untyped-def]
    await _fill(server.store)
    batches = t.message_batches.c
    statement = (
        sa.select(batches.id)
        .where(batches.charge_point_id == "CP-BUSY", t.message_block.in_([3, 2, 1]))
        .order_by(batches.id.desc())
    )
    async with server.store.read() as conn:
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        if conn.dialect.name == "sqlite":
            plan = (await conn.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
        else:
            await conn.execute(sa.text("SET enable_seqscan = off"))  # a tiny table would be scanned
            plan = (await conn.execute(sa.text(f"EXPLAIN {compiled}"))).all()
        assert any("ix_message_batches_block_cp" in str(step) for step in plan), plan


@pytest.mark.parametrize(("low", "high", "newest_first", "expected"), [
    (0, 0, True, [[0]]),
    (0, 9, True, [[9, 8, 7, 6], [5, 4, 3, 2, 1, 0]]),
    (2, 30, False, [[2, 3, 4, 5], list(range(6, 22)), list(range(22, 31))]),
])
def test_block_groups_cover_the_range_once(low: int, high: int, newest_first: bool, expected: list[list[int]]) -> None:
    assert list(message_search._groups(low, high, newest_first)) == expected
