"""Message log rows: tuples in the table's column order, stamped to the millisecond."""

import asyncio
from typing import Any

import orjson
import pytest

from voltline.services.message_log import recorder as message_log
from voltline.services.message_log.recorder import MessageLog
from voltline.store import tables as t
from voltline.store.log_bodies import Unpacker


def test_frames_follow_the_fields_and_the_clock_even_when_it_is_set_back(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([1_000.0001, 1_000.0004, 1_000.0021, 400.0])  # two frames in one ms, then later, then set back
    monkeypatch.setattr(message_log.time, "time", lambda: next(clock))
    log = MessageLog(store=None, enabled=True)  # type: ignore[arg-type]
    for i in range(4):
        log.record("CP-1", "in", 2, f"id-{i}", "Heartbeat", b'[2,"x","Heartbeat",{}]')
    frames: list[Any] = log._frames["CP-1"]
    assert len(frames[0]) == len(t.FRAME_FIELDS)
    first = dict(zip(t.FRAME_FIELDS, frames[0], strict=True))
    assert first["payload"] == '[2,"x","Heartbeat",{}]' and first["message_id"] == "id-0"
    stamps = [frame[0] for frame in frames]
    assert stamps[0] is stamps[1]  # one millisecond, formatted once
    assert stamps[2] == "1970-01-01 00:16:40.002100"
    assert stamps[3] == "1970-01-01 00:06:40.000000"


class _RecordingStore:
    def __init__(self) -> None:
        self.inserts: list[Any] = []

    def write(self, inserts: Any = (), background: bool = False) -> asyncio.Future[Any]:
        self.inserts += inserts
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_flush_writes_one_batch_per_charge_point_in_recorded_order() -> None:
    store = _RecordingStore()
    log = MessageLog(store=store)  # type: ignore[arg-type]
    for i in range(3):
        log.record("CP-1", "in", 2, f"a{i}", "Heartbeat", b"[]")
        log.record("CP-2", "out", 3, f"a{i}", "Heartbeat", "[3]")
    await log.flush()  # type: ignore[misc]
    [(table, rows)] = store.inserts
    assert table is t.message_batches
    assert [row[0] for row in rows] == ["CP-1", "CP-2"]
    assert [row[3] for row in rows] == [3, 3]  # frame counts
    cp1 = orjson.loads(Unpacker({}).unpack(rows[0][4], rows[0][5]))  # compressed, no dictionary yet
    assert [frame[3] for frame in cp1] == ["a0", "a1", "a2"]
    assert rows[0][1] <= rows[0][2]  # first_at, last_at
    assert log.flush() is None  # nothing left


class _SlowStore:
    """A store whose commits finish only when the test says so."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[Any]] = []

    def write(self, inserts: Any = (), background: bool = False) -> asyncio.Future[Any]:
        self.pending.append(asyncio.get_running_loop().create_future())
        return self.pending[-1]


async def test_a_flush_waits_for_what_an_earlier_flush_is_still_committing() -> None:
    store = _SlowStore()
    log = MessageLog(store=store)  # type: ignore[arg-type]
    log.record("CP-1", "in", 2, "1", "Heartbeat", b"[]")
    assert log.flush() is not None  # the periodic flush, say: its chunk is now committing
    assert log.flush() is not None  # nothing new, but the first chunk is not committed yet
    later = log.flush()
    assert later is not None
    await asyncio.sleep(0)
    assert not later.done()  # type: ignore[attr-defined]
    store.pending[0].set_result(None)
    await later
    assert log.flush() is None  # all committed


async def test_frames_handed_to_the_store_count_against_the_bound_until_committed() -> None:
    """A slow database: what the store has not committed yet stays within the log's bounds."""
    store = _SlowStore()
    log = MessageLog(store=store, max_buffer=10)  # type: ignore[arg-type]
    for i in range(8):
        log.record("CP-1", "in", 2, str(i), "Heartbeat", b"[]")
    log.flush()  # all 8 committing, none committed
    for i in range(5):
        log.record("CP-1", "in", 2, str(i), "Heartbeat", b"[]")
    assert log.held_frames == 10 and log.dropped == 3
    store.pending[0].set_result(None)
    await asyncio.sleep(0)
    log.record("CP-1", "in", 2, "x", "Heartbeat", b"[]")
    assert log.held_frames == 3 and log.dropped == 3


async def test_the_bound_in_bytes_drops_big_frames_and_a_failed_commit_keeps_them_counted() -> None:
    store = _SlowStore()
    log = MessageLog(store=store, max_bytes=10_000)  # type: ignore[arg-type]
    big = b"[" + b"0" * 3000 + b"]"
    for i in range(5):
        log.record("CP-1", "in", 2, str(i), "DataTransfer", big)
    assert log.held_frames == 4 and log.dropped == 1  # the fourth took it past 10,000 bytes
    log.flush()
    store.pending[0].set_exception(ConnectionError("the database is away"))
    await asyncio.sleep(0)
    assert log.held_frames == 4 and log.held_bytes > 10_000  # kept for the next flush
    log.record("CP-1", "in", 2, "late", "DataTransfer", big)
    assert log.dropped == 2
