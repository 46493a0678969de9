"""A connector's status history as the charge point reported it: newest first, paged by cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from voltline.services.errors import NotFound
from voltline.services.read_model import ReadModel
from voltline.services.paging import Page, decode_cursor, encode_cursor, fetch_page
from voltline.store import tables as t
from voltline.store.database import Store


class StatusChange(ReadModel):
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    timestamp: datetime  # the charge point's (ours when it gave none)
    received_at: datetime
    evse_id: int | None = None  # null on 1.6, as for connectors


_h = t.connector_status_history.c


def _change(row: Any) -> StatusChange:
    return StatusChange.model_validate(row)


async def status_history(
    store: Store,
    charge_point_id: str,
    *,
    connector_id: int | None = None,
    evse_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
) -> Page[StatusChange]:
    if await store.query_one(sa.select(t.charge_points.c.id).where(t.charge_points.c.id == charge_point_id)) is None:
        raise NotFound(f"no charge point {charge_point_id}")
    query = sa.select(t.connector_status_history).where(_h.charge_point_id == charge_point_id)
    if connector_id is not None:
        query = query.where(_h.connector_id == connector_id)
    if evse_id is not None:
        query = query.where(_h.evse_id == evse_id)
    if start is not None:
        query = query.where(_h.timestamp >= start)
    if end is not None:
        query = query.where(_h.timestamp < end)
    past = None
    if after is not None:
        at, last = decode_cursor(after, "status", datetime, int)
        past = sa.or_(_h.timestamp < at, sa.and_(_h.timestamp == at, _h.id < last))
    return await fetch_page(
        store, query, (_h.timestamp.desc(), _h.id.desc()), limit, offset, _change,
        after=past, cursor_of=lambda row: encode_cursor("status", row.timestamp, row.id),
    )
