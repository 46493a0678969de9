"""One page of a list, and the query that fetches it with its total.

The big lists (meter values, the message log, transactions) page by keyset as well as by
offset: a page's `next_cursor` names its last item, and the next page is asked `after` it.
The database then seeks to the cursor instead of reading and dropping `offset` rows, so a deep
page costs what the first does. The cursor is opaque to clients: its kind and key, as
URL-safe base64 of JSON.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa

from voltline.services.errors import Invalid
from voltline.store.database import Store

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = None  # the cursor of the last item when more may follow


def encode_cursor(kind: str, *key: int | str | datetime) -> str:
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    return base64.urlsafe_b64encode(orjson.dumps([kind, *values])).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, *types: type) -> tuple[Any, ...]:
    """The key of a cursor of `kind`, each value of its type in `types`; Invalid otherwise."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(decoded, list) or len(decoded) != len(types) + 1 or decoded[0] != kind:
            raise ValueError(cursor)
        key: list[Any] = []
        for value, wanted in zip(decoded[1:], types, strict=True):
            if wanted is datetime:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError(cursor)
            elif type(value) is not wanted:
                raise ValueError(cursor)
            key.append(value)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as error:
        raise Invalid("the cursor is not valid: pass the next_cursor of a page of this list", code="invalid_cursor") from error
    return tuple(key)


async def fetch_page(
    store: Store,
    query: sa.Select[Any],
    order_by: Sequence[Any],
    limit: int,
    offset: int,
    convert: Callable[[Any], T],
    *,
    after: sa.ColumnElement[bool] | None = None,
    cursor_of: Callable[[Any], str] | None = None,
) -> Page[T]:
    """`query` filtered but not ordered: the total counts every match, the items are one page.

    With `after` (the condition that a row lies past a cursor, in `order_by`'s order) the page
    starts there; `cursor_of` makes the cursor of a row, for `next_cursor`."""
    async with store.query() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
        items = query if after is None else query.where(after)
        rows = (await conn.execute(items.order_by(*order_by).limit(limit).offset(offset))).all()
    next_cursor = cursor_of(rows[-1]) if cursor_of is not None and rows and len(rows) == limit else None
    return Page([convert(row) for row in rows], int(total or 0), limit, offset, next_cursor)
