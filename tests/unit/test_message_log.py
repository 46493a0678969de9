"""Message log rows: tuples in the table's column order, stamped to the millisecond."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from voltline.services import message_log
from voltline.services.message_log import MessageLog
from voltline.store import tables as t


def test_rows_follow_the_columns_and_the_clock_even_when_it_is_set_back(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([1_000.0001, 1_000.0004, 1_000.0021, 400.0])  # two frames in one ms, then later, then set back
    monkeypatch.setattr(message_log.time, "time", lambda: next(clock))
    log = MessageLog(store=None, enabled=True)  # type: ignore[arg-type]
    for i in range(4):
        log.record("CP-1", "in", 2, f"id-{i}", "Heartbeat", b'[2,"x","Heartbeat",{}]')
    rows: list[Any] = log._rows
    columns = [c.name for c in t.messages.columns if c.name != "id"]
    assert len(rows[0]) == len(columns)
    assert dict(zip(columns, rows[0], strict=True))["payload"] == '[2,"x","Heartbeat",{}]'
    stamps = [row[-1] for row in rows]
    assert stamps[0] is stamps[1]  # one millisecond, one object: converted once by the store
    assert stamps[2] == datetime.fromtimestamp(1_000.0021, UTC)
    assert stamps[3] == datetime.fromtimestamp(400.0, UTC)


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
