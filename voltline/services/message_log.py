"""The OCPP message log: every frame in and out, written in the background in batches.

Recording a frame is an append to a list; a flush every fraction of a second hands the rows to
the store's next group commit, so the log never delays an answer to a charge point.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from voltline.services.clock import now
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.message_log")

CHUNK_ROWS = 1000


class MessageLog:
    def __init__(self, store: Store, *, enabled: bool = True, retention_days: int = 30, max_buffer: int = 200_000):
        self._store = store
        self.enabled = enabled
        self.retention = timedelta(days=retention_days)
        # Rows are tuples in the column order of `messages`: the cheapest form for the store.
        self._rows: list[tuple[Any, ...]] = []
        self._retry: list[tuple[Any, ...]] = []  # rows whose commit failed, oldest first
        self._committing: set[asyncio.Future[Any]] = set()  # chunks handed to the store
        self._stamp_ms = 0
        self._stamp = now()
        self._max_buffer = max_buffer
        self.dropped = 0

    def record(
        self,
        identity: str,
        direction: str,
        message_type: int,
        message_id: str | None,
        action: str | None,
        raw: bytes | str,
        error_code: str | None = None,
    ) -> None:
        if not self.enabled:
            return
        if len(self._rows) + len(self._retry) >= self._max_buffer:
            # The database has been away for a long time: keep the newest, count what is lost.
            self.dropped += 1
            return
        self._rows.append(
            (
                identity,
                direction,
                message_type,
                message_id[:64] if message_id else None,
                action[:64] if action else None,
                error_code[:40] if error_code else None,
                raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else raw,
                self._now(),
            )
        )

    def _now(self) -> datetime:
        """Now, to the millisecond: frames of one millisecond share one object, which the store
        then converts once for all of them."""
        at = time.time()
        millisecond = int(at * 1000)
        if millisecond != self._stamp_ms:  # a clock set back is followed, not waited for
            self._stamp_ms = millisecond
            self._stamp = datetime.fromtimestamp(at, UTC)
        return self._stamp

    def flush(self) -> Awaitable[Any] | None:
        """Hand the recorded rows to the store; the result resolves once every row recorded so
        far is committed (or failed and waits for the next flush), earlier flushes' included.

        Rows go in chunks of `CHUNK_ROWS`, each a commit of its own: on SQLite a commit holds the
        event loop, and one of a fifth of a second's log (thousands of rows) held every charge
        point and API request for tens of milliseconds. Since the log's index takes new rows in
        the pages of the newest block (tables.message_block), smaller commits cost little more."""
        rows, self._retry, self._rows = self._retry + self._rows, [], []
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[start:start + CHUNK_ROWS]
            written = self._store.write(inserts=((t.messages, chunk),), background=True)
            written.add_done_callback(lambda done, chunk=chunk: self._written(done, chunk))  # type: ignore[misc]
            self._committing.add(written)
        if not self._committing:
            return None
        return asyncio.gather(*self._committing, return_exceptions=True)

    def _written(self, done: asyncio.Future[Any], rows: list[tuple[Any, ...]]) -> None:
        self._committing.discard(done)
        if done.cancelled() or done.exception() is not None:
            # Not written (the database is away): kept for the next flush, ahead of newer rows
            # (chunks fail in the order they were committed).
            self._retry += rows
            log.warning("message log: %d rows wait for the database", len(rows))

    async def run(self, interval: float = 0.2) -> None:
        """Flush forever; prune past the retention period once an hour."""
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            self.flush()
            if loop.time() - last_prune > 3600:
                last_prune = loop.time()
                try:
                    await self.prune()
                except Exception:
                    log.exception("pruning the message log failed")

    async def prune(self) -> None:
        cutoff = now() - self.retention
        await self._store.write(lambda conn: conn.execute(t.messages.delete().where(t.messages.c.created_at < cutoff)))
