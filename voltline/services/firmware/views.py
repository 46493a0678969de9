"""The read model of a charge point's firmware, diagnostics, log and security history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.paging import Page, fetch_page
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store


class ChargePointEvent(ReadModel):
    id: int
    charge_point_id: str
    kind: str = Field(
        description="firmware, diagnostics, log, signed_firmware, security, event (2.0.1's NotifyEvent),"
        " customer_information"
    )
    status: str | None
    request_id: int | None
    timestamp: datetime
    detail: Any


class ChargePointEventViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def history(
        self, identity: str, *, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[ChargePointEvent]:
        c = t.charge_point_events.c
        query = sa.select(t.charge_point_events).where(c.charge_point_id == identity)
        if kind is not None:
            query = query.where(c.kind == kind)
        return await fetch_page(self._store, query, (c.timestamp.desc(), c.id.desc()), limit, offset, ChargePointEvent.model_validate)

