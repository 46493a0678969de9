"""Group-committed writes: the lanes that collect writes into batches, and what a write holds.

Writes that arrive while a commit is in flight are collected and committed together in the next
one (group commit): the durability promise of one transaction per message at a fraction of the
cost. A lane is bounded in rows and bytes, so a slow database costs writers an error, not the
server its memory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.store.errors import StoreBusy

WriteFn = Callable[[AsyncConnection], Awaitable[Any]]


@dataclass(slots=True)
class Write:
    fn: WriteFn | None
    inserts: Sequence[tuple[sa.Table, list[Any]]]
    statement: sa.Executable | None = None  # Store.execute: one statement and its parameters
    parameters: dict[str, Any] | None = None
    future: asyncio.Future[Any] = field(init=False)
    rows: int = field(init=False)  # what it holds while queued, for the lanes' limits
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows, self.size = weight(self.inserts) if self.inserts else (1, WRITE_BYTES)

    @property
    def ordered(self) -> bool:
        """Written in the order made (pure row inserts are not: they depend on no other write)."""
        return self.fn is not None or self.statement is not None


# A write's own cost in a lane, and each inserted row's beside its text (an estimate: the text
# of the message log and of sampled values is what makes a backlog big).
WRITE_BYTES = 256
ROW_BYTES = 64


def weight(inserts: Iterable[tuple[sa.Table, list[Any]]]) -> tuple[int, int]:
    """(rows, bytes) a write holds while it waits: itself as a row, and each row it inserts."""
    rows, size = 1, WRITE_BYTES
    for _, inserted in inserts:
        rows += len(inserted)
        size += ROW_BYTES * len(inserted)
        for row in inserted:
            size += sum([len(value) for value in (row if type(row) is tuple else row.values()) if type(value) is str])
    return rows, size


class Lane:
    """Writes committed in batches by one task, with up to `in_flight` batches committing at
    once. Writes with logic (a `fn`) go first, in the order they were made; pure row inserts
    fill the rest of a batch. An operator's command or a StartTransaction then never waits
    behind a backlog of meter values and log rows.

    What waits to be committed is bounded by `max_rows` and `max_bytes`: past them a write is
    refused at once (StoreBusy), so a slow or locked database costs the writers an error, not
    the server its memory. (One write alone is always taken, whatever its size.)"""

    def __init__(
        self,
        commit: Callable[[list[Write]], Awaitable[None]],
        *,
        batch_max: int,
        in_flight: int,
        max_rows: int,
        max_bytes: int,
        inline: bool = False,
    ) -> None:
        """`commit(batch)` commits a batch and settles its writes' futures (it never raises).
        `inline`: SQLite's writer commits in the loop's thread without yielding (see
        SQLiteWriter), so with one batch in flight a batch is committed right here, with one
        turn of the loop between batches, rather than as a task of its own that costs two more
        turns for every batch."""
        self._commit = commit
        self._batch_max = batch_max
        self._inline = inline and in_flight == 1
        self._closing = False
        self._ordered: list[Write] = []
        self._rows: list[Write] = []
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(in_flight)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.queued_rows = 0  # of the writes waiting for a batch (not those committing)
        self.queued_bytes = 0

    def add(self, write: Write, background: bool = False) -> None:
        """Queue `write`, or raise StoreBusy. Background writes (the message log's, which no one
        waits for) may fill half the lane only: on SQLite they share it with the writes charge
        points wait for, and a backlog of log rows must not refuse a StartTransaction."""
        rows, size = self.queued_rows + write.rows, self.queued_bytes + write.size
        share = 2 if background else 1
        if (rows * share > self.max_rows or size * share > self.max_bytes) and self:
            raise StoreBusy(
                f"{self.queued_rows} rows ({self.queued_bytes} bytes) wait for the database already"
            )
        self.queued_rows, self.queued_bytes = rows, size
        (self._ordered if write.ordered else self._rows).append(write)
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def __len__(self) -> int:
        return len(self._ordered) + len(self._rows)

    async def _run(self) -> None:
        batch_max, inline = self._batch_max, self._inline
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._ordered:
                # Writes with logic (a command, a StartTransaction) are waited for by someone;
                # rows alone can wait a little for company.
                await self._gather(batch_max)
            while self:
                if inline:
                    await self._commit(self._take(batch_max))
                    await asyncio.sleep(0)
                    continue
                await self._slots.acquire()
                batch = self._take(batch_max)
                task = asyncio.get_running_loop().create_task(self._commit(batch))
                self._in_flight.add(task)
                task.add_done_callback(self._done)
            if self._closing and not self:
                return

    def _take(self, batch_max: int, rows_max: int = 1500) -> list[Write]:
        """The next batch: at most `batch_max` writes and about `rows_max` rows. A commit holds
        SQLite's writer (and on SQLite the event loop) for as long as it takes, so an API call or
        a Heartbeat waiting behind it should not wait for ten thousand log rows."""
        batch, self._ordered = self._ordered[:batch_max], self._ordered[batch_max:]
        rows = 0
        count = 0
        for write in self._rows:
            if len(batch) + count >= batch_max or rows >= rows_max:
                break
            count += 1
            for _, inserted in write.inserts:
                rows += len(inserted)
        batch += self._rows[:count]
        self._rows = self._rows[count:]
        for write in batch:
            self.queued_rows -= write.rows
            self.queued_bytes -= write.size
        return batch

    def fail_queued(self, error: Exception) -> None:
        """Fail every write still waiting for a batch (the database is away: each would wait
        for a connection attempt of its own only to fail the same way)."""
        queued, self._ordered, self._rows = self._ordered + self._rows, [], []
        self.queued_rows = self.queued_bytes = 0
        for write in queued:
            if not write.future.done():
                write.future.set_exception(error)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _gather(self, batch_max: int, rounds: int = 4) -> None:
        """Let the event loop run what is ready before committing, so that the writes of
        messages that arrived together share one commit instead of a commit each."""
        for _ in range(rounds):
            queued = len(self)
            await asyncio.sleep(0)
            if len(self) == queued or len(self) >= batch_max:
                return

    async def drain(self) -> None:
        """Commit what is queued and end (the store is closing: nothing more is added)."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
