"""Row inserts made in one turn of the event loop, queued as one write.

A MeterValues (1.6) or an Updated event applied in place (2.0.1) is a pure row insert: a write
of its own, with its future, its weight and its place in the lane, taken, merged, committed and
settled one by one. The frames of a burst are handled in one turn of the loop, so their inserts
are gathered here and handed to the lane as one write at the end of the turn; each caller still
waits on a future of its own, settled once the rows are committed.

Should that write fail, each part is queued again on its own, as it would have been without
this: a bad row (a repeated seqNo meeting its twin at the unique key) then fails its own caller
only, and the lane's bisection commits its neighbours."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from voltline.store.lanes import Write

Inserts = Sequence[tuple[sa.Table, list[Any]]]

MAX_PARTS = 256
"""Parts in one write at most: a batch of the lane stays splittable into several commits (the
lane takes about 1,500 rows a commit) and a failed write costs few retries."""


class RowBatch:
    """The pure row inserts of this turn, as one write queued by `submit` at the end of it."""

    def __init__(self, submit: Callable[[Write], asyncio.Future[Any]], refused: Callable[[int], None]) -> None:
        """`submit` queues a write on its lane (Store._submit); `refused(n)` counts n writes more
        refused at once (the lane full, the database away), as each part would have been."""
        self._submit = submit
        self._refused = refused
        self._tables: dict[sa.Table, list[Any]] = {}
        self._parts: list[tuple[Inserts, asyncio.Future[Any]]] = []
        self.rows = 0  # inserted rows gathered (and parts: each a row of its own in a lane's bounds)

    def add(self, inserts: Inserts, count: int) -> asyncio.Future[Any]:
        """A future of these `count` rows, resolved (None) once committed; queued at the end of the turn."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._parts:
            loop.call_soon(self.flush)
        tables = self._tables
        for table, rows in inserts:
            if rows:
                found = tables.get(table)
                if found is None:
                    tables[table] = list(rows)
                else:
                    found.extend(rows)
        self._parts.append((inserts, future))
        self.rows += count + 1
        if len(self._parts) >= MAX_PARTS:
            self.flush()
        return future

    def flush(self) -> None:
        """Queue what was gathered as one write (nothing if flushed already this turn)."""
        parts = self._parts
        if not parts:
            return
        tables, self._tables, self._parts, self.rows = self._tables, {}, [], 0
        if len(parts) == 1:
            self._chain(parts[0][0], parts[0][1])
            return
        try:
            whole = self._submit(Write(None, list(tables.items())))
        except Exception as error:  # the store is closing
            for _, future in parts:
                if not future.done():
                    future.set_exception(error)
            return
        if whole.done() and whole.exception() is not None:
            # Refused at once: so would each part have been, and said so as soon.
            error = whole.exception()
            self._refused(len(parts) - 1)
            for _, future in parts:
                if not future.done():
                    future.set_exception(error)  # type: ignore[arg-type]
            return
        whole.add_done_callback(lambda done: self._settle(done, parts))

    def _settle(self, done: asyncio.Future[Any], parts: list[tuple[Inserts, asyncio.Future[Any]]]) -> None:
        if not done.cancelled() and done.exception() is None:
            for _, future in parts:
                if not future.done():
                    future.set_result(None)
            return
        # Each part on its own again: its own error, or its commit.
        for inserts, future in parts:
            self._chain(inserts, future)

    def _chain(self, inserts: Inserts, future: asyncio.Future[Any]) -> None:
        """Queue `inserts` as a write of their own, its outcome `future`'s."""
        try:
            own = self._submit(Write(None, inserts))
        except Exception as error:
            if not future.done():
                future.set_exception(error)
            return
        own.add_done_callback(lambda done: _copy(done, future))


def _copy(done: asyncio.Future[Any], future: asyncio.Future[Any]) -> None:
    if future.done():
        return
    if done.cancelled():
        future.cancel()
    elif done.exception() is not None:
        future.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        future.set_result(done.result())
