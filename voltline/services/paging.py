"""One page of a list, and the query that fetches it with its total."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from voltline.store.database import Store

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


async def fetch_page(
    store: Store,
    query: sa.Select[Any],
    order_by: Sequence[Any],
    limit: int,
    offset: int,
    convert: Callable[[Any], T],
) -> Page[T]:
    """`query` filtered but not ordered: the total counts every match, the items are one page."""
    async with store.query() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
        rows = (await conn.execute(query.order_by(*order_by).limit(limit).offset(offset))).all()
    return Page([convert(row) for row in rows], int(total or 0), limit, offset)
