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


async def test_a_charge_points_frames_wait_for_the_hold_and_go_together(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(message_log.time, "monotonic", lambda: clock[0])
    store = _RecordingStore()
    log = MessageLog(store=store, hold=2.0)  # type: ignore[arg-type]
    log.record("CP-1", "in", 2, "a", "Heartbeat", b"[1]")
    clock[0] = 101.0
    log.record("CP-2", "in", 2, "b", "Heartbeat", b"[22]")
    log.record("CP-1", "out", 3, "a", "Heartbeat", b"[333]")
    assert log.flush(log.hold) is None and log.held_frames == 3  # nobody has waited 2 s yet
    clock[0] = 102.5
    await log.flush(log.hold)  # type: ignore[misc]
    [(_, rows)] = store.inserts
    assert [(row[0], row[3]) for row in rows] == [("CP-1", 2)]  # its two frames, one batch
    assert log.held_frames == 1 and log.held_bytes == 4 + message_log.FRAME_BYTES
    log.record("CP-1", "in", 2, "c", "Heartbeat", b"[1]")  # a new wait of its own
    clock[0] = 103.5
    await log.flush(log.hold)  # type: ignore[misc]
    assert [(row[0], row[3]) for row in store.inserts[-1][1]] == [("CP-2", 1)]
    await log.flush()  # type: ignore[misc]  # a stop, or a test: everything
    assert [(row[0], row[3]) for row in store.inserts[-1][1]] == [("CP-1", 1)]
    assert log.held_frames == 0 and log.held_bytes == 0


async def test_a_trained_dictionary_packs_the_next_batches_and_is_named_by_them() -> None:
    store = _RecordingStore()
    log = MessageLog(store=store)  # type: ignore[arg-type]
    stored: list[Any] = []

    async def commit_one(statement: Any) -> list[Any]:
        stored.append(statement.compile().params["content"])
        return [type("Row", (), {"id": 7})()]

    store.commit_one = commit_one  # type: ignore[attr-defined]
    samples = [orjson.dumps([["2026-12-01 00:00:00.000000", "in", 2, str(i), "Heartbeat", None,
                              f'[2,"{i}","Heartbeat",{{}}]']]) for i in range(500)]
    await log.train(samples)
    log.record("CP-1", "in", 2, "42", "Heartbeat", b'[2,"42","Heartbeat",{}]')
    await log.flush()  # type: ignore[misc]
    [(_, [row])] = store.inserts
    assert row[5] == 7  # the dictionary's id
    assert orjson.loads(Unpacker({7: stored[0]}).unpack(row[4], 7))[0][3] == "42"


async def test_a_flush_takes_its_share_of_the_waiting_charge_points_the_longest_waiting_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    monkeypatch.setattr(message_log.time, "monotonic", lambda: clock[0])
    store = _RecordingStore()
    log = MessageLog(store=store, hold=2.0)  # type: ignore[arg-type]
    for n in range(10):  # a fleet that booted together
        log.record(f"CP-{n}", "in", 2, "1", "BootNotification", b"[]")
    clock[0] = 5.0
    await log.flush(log.hold, 0.3)  # type: ignore[misc]
    assert [row[0] for row in store.inserts[-1][1]] == ["CP-0", "CP-1", "CP-2"]
    await log.flush(log.hold, 0.3)  # type: ignore[misc]
    assert [row[0] for row in store.inserts[-1][1]] == ["CP-3", "CP-4"]  # a share of the seven left


async def test_frames_held_back_past_a_quarter_of_the_bound_go_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(message_log.time, "monotonic", lambda: 0.0)
    store = _RecordingStore()
    log = MessageLog(store=store, hold=60.0, max_buffer=40)  # type: ignore[arg-type]
    for n in range(4):
        for _ in range(4):
            log.record(f"CP-{n}", "in", 2, "1", "Heartbeat", b"[]")
    await log.flush(log.hold)  # type: ignore[misc]  # nobody waited a minute, but 16 frames > 40 / 4
    assert [row[0] for row in store.inserts[-1][1]] == ["CP-0", "CP-1"]  # the longest waiting, until 8 are left
    assert log.held_frames == 8 and log.dropped == 0


async def test_one_charge_points_frames_go_on_their_own_when_asked_for() -> None:
    store = _RecordingStore()
    log = MessageLog(store=store, hold=60.0)  # type: ignore[arg-type]
    log.record("CP-1", "in", 2, "a", "Heartbeat", b"[1]")
    log.record("CP-2", "in", 2, "b", "Heartbeat", b"[2]")
    await log.flush(charge_point="CP-2")  # type: ignore[misc]
    assert [row[0] for row in store.inserts[-1][1]] == ["CP-2"]
    assert log.held_frames == 1 and log.flush(charge_point="CP-3") is None
