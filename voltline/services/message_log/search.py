"""Pages of the message log: one charge point's frames found block by block, and the whole
log's read batch by batch (`log_rows`).

The log has no index led by the charge point (it made every group commit rewrite an index page
per connected charge point, see `tables.message_block`); its index is led by the batch's block of
4,096 batch ids, then the charge point. A charge point's frames are therefore read a group of
blocks at a time, newest (or oldest) first: a few blocks for a busy charge point's latest page,
more for a quiet one, and each block costs one index lookup, not a scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.store import tables as t

msg = t.messages.c
FIRST_GROUP = 4
LARGEST_GROUP = 1024


async def charge_point_rows(
    conn: AsyncConnection,
    statement: sa.Select[Any],
    charge_point_id: str,
    *,
    limit: int,
    offset: int = 0,
    newest_first: bool = True,
    before: int | None = None,
) -> list[sa.Row[Any]]:
    """Rows `offset`..`offset + limit` of `statement` (a filtered, unordered select of the
    `messages` view) for one charge point, in id order; with `before`, only ids below it."""
    blocks = await _blocks(conn, before)
    if blocks is None or limit <= 0:
        return []
    statement = statement.where(msg.charge_point_id == charge_point_id)
    if before is not None:
        statement = statement.where(msg.id < before)
    order = msg.id.desc() if newest_first else msg.id.asc()
    wanted = offset + limit
    rows: list[sa.Row[Any]] = []
    for group in _groups(*blocks, newest_first):
        rows += (await conn.execute(
            statement.where(t.message_view_block.in_(group)).order_by(order).limit(wanted - len(rows))
        )).all()
        if len(rows) >= wanted:
            break
    return rows[offset:wanted]


async def count_charge_point_rows(conn: AsyncConnection, statement: sa.Select[Any], charge_point_id: str) -> int:
    """How many rows of `statement` belong to one charge point."""
    blocks = await _blocks(conn, None)
    if blocks is None:
        return 0
    statement = statement.where(msg.charge_point_id == charge_point_id)
    total = 0
    for group in _groups(*blocks, True, first=LARGEST_GROUP):
        counted = statement.where(t.message_view_block.in_(group)).order_by(None).subquery()
        total += int(await conn.scalar(sa.select(sa.func.count()).select_from(counted)) or 0)
    return total


async def _blocks(conn: AsyncConnection, before: int | None) -> tuple[int, int] | None:
    """The first and last block that hold batches (with frames below `before`)."""
    batch = t.message_batches.c
    low, high = (await conn.execute(sa.select(sa.func.min(batch.id), sa.func.max(batch.id)))).one()
    if low is None:
        return None
    if before is not None:
        high = min(high, (before - 1) // t.FRAMES_PER_BATCH)
        if high < low:
            return None
    return low >> t.MESSAGE_BLOCK_BITS, high >> t.MESSAGE_BLOCK_BITS


def _groups(low: int, high: int, newest_first: bool, first: int = FIRST_GROUP) -> Iterator[list[int]]:
    """The blocks low..high in groups that grow fourfold (a busy charge point's page is found in
    the first few), newest or oldest group first."""
    blocks = range(high, low - 1, -1) if newest_first else range(low, high + 1)
    start, size = 0, first
    while start < len(blocks):
        yield list(blocks[start:start + size])
        start += size
        size = min(size * 4, LARGEST_GROUP)


async def log_rows(
    conn: AsyncConnection,
    statement: sa.Select[Any],
    *,
    limit: int,
    offset: int = 0,
    newest_first: bool = True,
) -> list[sa.Row[Any]]:
    """Rows `offset`..`offset + limit` of `statement` (a filtered, unordered select of the
    `messages` view) across all charge points, in id order.

    Ordered by batch alone, the database reads the batches newest (or oldest) first and stops at
    the limit; ordered by frame id too, it would unpack and sort the whole log. So the batch
    that holds the page's last row is found first, and only batches up to it are sorted."""
    if limit <= 0:
        return []
    batch = msg.batch_id
    edge = await conn.scalar(
        statement.with_only_columns(batch)
        .order_by(batch.desc() if newest_first else batch.asc())
        .offset(offset + limit - 1)
        .limit(1)
    )
    if edge is not None:
        statement = statement.where(batch >= edge if newest_first else batch <= edge)
    order = (batch.desc(), msg.id.desc()) if newest_first else (batch.asc(), msg.id.asc())
    return list((await conn.execute(statement.order_by(*order).offset(offset).limit(limit))).all())
