"""One page of the meter values list without unpacking the readings that are not on it.

The `meter_values` view unpacks every reading into its sampled values. Counted and paged through
the view, `?measurand=Voltage&offset=100000` over 10 M sampled values unpacked all 2.5 M readings
twice (the total, then a sort) and ran into the 10-s query time limit (bench scenario 7).

A reading's sampled values are its shape set's shapes, one value per shape, so how many of them
match a measurand follows from its set alone: `meter_shapes` counts them per set. Then

- the total is a sum over the readings of their set's count (no reading unpacked);
- the page is found on the readings in the list's order, (timestamp, id), by the readings' time
  index: a running sum of the counts says which readings hold sampled values
  `offset`..`offset + limit`, and how many of the first one's come before the page;
- only those readings (at most `limit`) are unpacked, through the view, to make the page.

A cursor (`after`: the timestamp and id of the last sampled value of the page before) starts the
readings at its reading; that reading's matching values up to the cursor are skipped as if they
were part of the offset. The answer is the view's, row for row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from voltline.services.paging import Page, encode_cursor
from voltline.store import tables as t
from voltline.store.database import Store

T = TypeVar("T")

_r = t.meter_readings.c
_k = t.meter_shapes.c
_v = t.meter_values.c


@dataclass(slots=True, frozen=True)
class MeterValueFilter:
    charge_point_id: str | None = None
    connector_id: int | None = None
    transaction_id: int | None = None
    measurand: str | None = None
    time_from: datetime | None = None  # at or after
    time_to: datetime | None = None  # before

    def on_readings(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """The conditions that hold of a reading as a whole (all but the measurand)."""
        for column, value in (
            (_r.charge_point_id, self.charge_point_id), (_r.connector_id, self.connector_id),
            (_r.transaction_id, self.transaction_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.time_from is not None:
            query = query.where(_r.timestamp >= self.time_from)
        if self.time_to is not None:
            query = query.where(_r.timestamp < self.time_to)
        return query

    def on_values(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """Every condition, on the view's sampled values."""
        for column, value in (
            (_v.charge_point_id, self.charge_point_id), (_v.connector_id, self.connector_id),
            (_v.transaction_id, self.transaction_id), (_v.measurand, self.measurand),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.time_from is not None:
            query = query.where(_v.timestamp >= self.time_from)
        if self.time_to is not None:
            query = query.where(_v.timestamp < self.time_to)
        return query

    def counts(self) -> sa.Subquery:
        """(set_id, n): how many sampled values of a reading of each set match; sets with none left out."""
        query = sa.select(_k.set_id, sa.func.count().label("n")).group_by(_k.set_id)
        if self.measurand is not None:
            query = query.where(_k.measurand == self.measurand)
        return query.subquery("counts")


async def fetch_meter_page(
    store: Store,
    where: MeterValueFilter,
    limit: int,
    offset: int,
    convert: Callable[[Any], T],
    after: tuple[datetime, int] | None = None,
) -> Page[T]:
    """The page of the view's rows `where` selects, in (timestamp, id) order, from `offset` (past
    `after` when given), with the total of every match."""
    counts = where.counts()
    matching = sa.select().select_from(t.meter_readings.join(counts, counts.c.set_id == _r.shape_set_id))
    total_query = where.on_readings(matching.add_columns(sa.func.coalesce(sa.func.sum(counts.c.n), 0)))
    skip = offset
    readings = where.on_readings(matching)
    async with store.query() as conn:
        total = int(await conn.scalar(total_query) or 0)
        if after is not None:
            at, last = after
            reading = last // t.SAMPLES_PER_READING
            readings = readings.where(sa.or_(_r.timestamp > at, sa.and_(_r.timestamp == at, _r.id >= reading)))
            # The cursor's reading's matching values up to the cursor: passed over like the offset.
            skip += int(await conn.scalar(where.on_values(
                sa.select(sa.func.count()).where(_v.reading_id == reading, _v.timestamp == at, _v.id <= last)
            )) or 0)
        rows: list[Any] = []
        if limit > 0:
            page = await _readings_of_page(conn, readings, counts, skip, limit)
            if page:
                ids = [reading_id for reading_id, _, _ in page]
                values = where.on_values(sa.select(t.meter_values).where(
                    _v.reading_id.in_(ids), _v.timestamp >= page[0][1], _v.timestamp <= page[-1][1],
                ))
                rows = list((await conn.execute(
                    values.order_by(_v.timestamp, _v.id).limit(limit).offset(skip - page[0][2])
                )).all())
    next_cursor = encode_cursor("mv", rows[-1].timestamp, rows[-1].id) if rows and len(rows) == limit else None
    return Page([convert(row) for row in rows], total, limit, offset, next_cursor)


async def _readings_of_page(
    conn: Any, readings: sa.Select[Any], counts: sa.Subquery, skip: int, limit: int
) -> list[tuple[int, datetime, int]]:
    """(id, timestamp, matching values before it) of the first `limit` readings, in the list's
    order, past the first `skip` matching values (the first of them may hold some of those)."""
    upto = sa.func.sum(counts.c.n).over(order_by=(_r.timestamp, _r.id), rows=(None, 0))
    ranked = readings.add_columns(_r.id, _r.timestamp, counts.c.n, upto.label("upto")).subquery("ranked")
    query = sa.select(ranked.c.id, ranked.c.timestamp, ranked.c.n, ranked.c.upto).where(ranked.c.upto > skip)
    # Without an ORDER BY outside the window, SQLite streams the readings in the index's order and
    # stops at the limit (with one, it sorted all 2.5 M first: 2.5 s). The running sums tell
    # whether the rows are the right ones: the first holds value `skip`, each next one follows.
    rows = sorted((await conn.execute(query.limit(limit))).all(), key=lambda row: row.upto)
    if not _consecutive(rows, skip):
        rows = list((await conn.execute(query.order_by(ranked.c.timestamp, ranked.c.id).limit(limit))).all())
    return [(row.id, row.timestamp, int(row.upto - row.n)) for row in rows]


def _consecutive(rows: list[Any], skip: int) -> bool:
    """Whether `rows` (sorted by their running sum) are the readings that follow value `skip` on."""
    if not rows:
        return True  # nothing lies past `skip` (a row there would have been among them)
    return rows[0].upto - rows[0].n <= skip and all(
        later.upto - later.n == earlier.upto for earlier, later in zip(rows, rows[1:])
    )
