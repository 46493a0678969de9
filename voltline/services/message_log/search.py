"""Finding frames in the message log: batches read in id order, their bodies unpacked, the frames
matched here (the database sees compressed bodies, not frames).

A frame's id is its batch's id × FRAMES_PER_BATCH + its place, so batches in id order give frames
in id order. The whole log is read batch by batch from the newest (or oldest) on; one charge
point's batches a group of blocks at a time, by the block-led index (no index is led by the charge
point: it made every group commit rewrite an index page per connected charge point, see
`tables.message_block`). A time window bounds the batches by their first and last frame times
(the batches' index finds them), then the frames by their own.

Everything here runs in a read's thread (`Store.query`, `run_sync`): unpacking is no work for
the event loop. A read holds one page of batches at a time and the frames it answers with, and
stops past the store's query time limit, as a statement does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from voltline.store import tables as t
from voltline.store.bulk_insert import sqlite_timestamp
from voltline.store.log_bodies import Unpacker
from voltline.store.operator_reads import query_timeout

FIRST_GROUP = 4
LARGEST_GROUP = 1024
BATCHES_PER_READ = 512  # batches fetched by one statement

_b = t.message_batches.c
_META = (_b.id, _b.charge_point_id, _b.first_at, _b.last_at, _b.frame_count, _b.dictionary_id)


@dataclass(frozen=True, slots=True)
class FrameQuery:
    """Which frames: every condition given must hold (a frame without an action or message id
    matches no condition on it, as in SQL)."""

    charge_point_id: str | None = None
    action: str | None = None
    hidden: tuple[str, ...] = ()  # actions left out
    direction: str | None = None
    message_types: tuple[int, ...] | None = None
    message_ids: frozenset[str] | None = None
    unreadable_or_ids: frozenset[str] | None = None  # unreadable frames, or these message ids
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    below: int | None = None  # frame ids below this
    above: int | None = None  # frame ids above this

    @property
    def per_frame(self) -> bool:
        """Whether a batch's frames must be looked at one by one (beyond its time and id range)."""
        return bool(
            self.action or self.hidden or self.direction or self.message_types is not None
            or self.message_ids is not None or self.unreadable_or_ids is not None
        )


@dataclass(slots=True)
class LoggedFrame:
    """One frame as the log shows it (the fields of MessageView)."""

    id: int
    batch_id: int
    charge_point_id: str
    direction: str
    message_type: int
    message_id: str | None
    action: str | None
    error_code: str | None
    payload: str
    created_at: datetime


class Search:
    """One read over one connection (sync: in the read's thread)."""

    def __init__(self, conn: sa.Connection, unpacker: Unpacker, limit: float) -> None:
        self._conn = conn
        self._unpacker = unpacker
        self._deadline = time.monotonic() + limit
        self._limit = limit

    # -- answers -------------------------------------------------------------------------

    def total_frames(self) -> int:
        """Every frame of the log, counted by batch (the batches' time index holds the counts)."""
        return int(self._conn.execute(sa.select(sa.func.sum(_b.frame_count))).scalar() or 0)

    def page(
        self, query: FrameQuery, *, offset: int, limit: int, newest_first: bool = True, count: bool = False
    ) -> tuple[list[LoggedFrame], int]:
        """Frames `offset`..`offset + limit` matching `query`, in id order; with `count`, also how
        many match in all (else the count is of those passed over and returned).

        A batch that matches whole (nothing to look at frame by frame, and inside the time and
        id range) is counted and passed over by its frame count, without being unpacked."""
        rows: list[LoggedFrame] = []
        total = 0
        skip = offset
        per_frame = query.per_frame
        for page in self._pages(query, newest_first):
            bodies: dict[int, Any] | None = None
            for batch in page:
                whole = not per_frame and self._wholly_inside(batch, query)
                if whole and (skip >= batch.frame_count or len(rows) >= limit):
                    total += batch.frame_count
                    skip -= min(skip, batch.frame_count)
                    continue
                if bodies is None:
                    bodies = self._bodies(page)
                for frame in self._matching(batch, bodies[batch.id], query, newest_first):
                    total += 1
                    if skip:
                        skip -= 1
                    elif len(rows) < limit:
                        rows.append(frame)
                    elif not count:
                        break
                if not count and len(rows) >= limit:
                    break
            if not count and len(rows) >= limit:
                break
        return rows, total

    def frames(self, query: FrameQuery, *, newest_first: bool = True) -> Iterator[LoggedFrame]:
        """Every frame matching `query`, in id order, read as they are taken."""
        for page in self._pages(query, newest_first):
            bodies = self._bodies(page)
            for batch in page:
                yield from self._matching(batch, bodies[batch.id], query, newest_first)

    # -- batches -------------------------------------------------------------------------

    def _pages(self, query: FrameQuery, newest_first: bool) -> Iterator[list[sa.Row[Any]]]:
        """The batches that may hold matching frames, in id order, a statement's worth at a time."""
        statement = sa.select(*_META)
        if query.since is not None:
            statement = statement.where(_b.last_at >= query.since)
        if query.until is not None:
            statement = statement.where(_b.first_at < query.until)
        low, high = self._id_range(query)
        if low is None or high is None or low > high:
            return
        if query.charge_point_id is None:
            yield from self._walk(statement, low, high, newest_first)
            return
        statement = statement.where(_b.charge_point_id == query.charge_point_id)
        for group in _groups(low >> t.MESSAGE_BLOCK_BITS, high >> t.MESSAGE_BLOCK_BITS, newest_first):
            yield from self._walk(statement.where(t.message_block.in_(group)), low, high, newest_first)

    def _id_range(self, query: FrameQuery) -> tuple[int | None, int | None]:
        """The first and last batch id that may hold matching frames."""
        low, high = self._conn.execute(sa.select(sa.func.min(_b.id), sa.func.max(_b.id))).one()
        if low is None:
            return None, None
        if query.below is not None:
            high = min(high, (query.below - 1) // t.FRAMES_PER_BATCH)
        if query.above is not None:
            low = max(low, (query.above + 1) // t.FRAMES_PER_BATCH)
        return low, high

    def _walk(self, statement: sa.Select[Any], low: int, high: int, newest_first: bool) -> Iterator[list[sa.Row[Any]]]:
        order = _b.id.desc() if newest_first else _b.id.asc()
        while low <= high:
            self._in_time()
            page = self._conn.execute(
                statement.where(_b.id >= low, _b.id <= high).order_by(order).limit(BATCHES_PER_READ)
            ).all()
            if not page:
                return
            yield page
            if len(page) < BATCHES_PER_READ:
                return
            if newest_first:
                high = page[-1].id - 1
            else:
                low = page[-1].id + 1

    def _bodies(self, page: list[sa.Row[Any]]) -> dict[int, Any]:
        self._unpacker.load(self._conn, {batch.dictionary_id for batch in page})
        ids = [batch.id for batch in page]
        return {row.id: row.body for row in self._conn.execute(sa.select(_b.id, _b.body).where(_b.id.in_(ids)))}

    def _in_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise query_timeout(self._limit)

    # -- frames --------------------------------------------------------------------------

    @staticmethod
    def _wholly_inside(batch: sa.Row[Any], query: FrameQuery) -> bool:
        first_id = batch.id * t.FRAMES_PER_BATCH
        return (
            (query.since is None or batch.first_at >= query.since)
            and (query.until is None or batch.last_at < query.until)
            and (query.below is None or first_id + batch.frame_count <= query.below)
            and (query.above is None or first_id > query.above)
        )

    def _matching(self, batch: sa.Row[Any], body: bytes, query: FrameQuery, newest_first: bool) -> Iterator[LoggedFrame]:
        text = self._unpacker.unpack(bytes(body), batch.dictionary_id)
        if query.action and f'"{query.action}"'.encode() not in text:
            return  # the action's name is nowhere in the batch (a JSON string cannot hide it)
        frames = orjson.loads(text)
        since = None if query.since is None else sqlite_timestamp(query.since)
        until = None if query.until is None else sqlite_timestamp(query.until)
        first_id = batch.id * t.FRAMES_PER_BATCH
        places = range(len(frames) - 1, -1, -1) if newest_first else range(len(frames))
        for place in places:
            created, direction, message_type, message_id, action, error_code, payload = frames[place]
            frame_id = first_id + place
            if (
                (since is not None and created < since)
                or (until is not None and created >= until)
                or (query.below is not None and frame_id >= query.below)
                or (query.above is not None and frame_id <= query.above)
                or (query.direction is not None and direction != query.direction)
                or (query.message_types is not None and message_type not in query.message_types)
                or (query.action is not None and action != query.action)
                or (query.hidden and (action is None or action in query.hidden))
                or (query.message_ids is not None and message_id not in query.message_ids)
                or (query.unreadable_or_ids is not None and message_type != 0
                    and message_id not in query.unreadable_or_ids)
            ):
                continue
            yield LoggedFrame(
                frame_id, batch.id, batch.charge_point_id, direction, message_type, message_id, action,
                error_code, payload, datetime.fromisoformat(created).replace(tzinfo=UTC),
            )


def _groups(low: int, high: int, newest_first: bool, first: int = FIRST_GROUP) -> Iterator[list[int]]:
    """The blocks low..high in groups that grow fourfold (a busy charge point's page is found in
    the first few), newest or oldest group first."""
    blocks = range(high, low - 1, -1) if newest_first else range(low, high + 1)
    start, size = 0, first
    while start < len(blocks):
        yield list(blocks[start:start + size])
        start += size
        size = min(size * 4, LARGEST_GROUP)
