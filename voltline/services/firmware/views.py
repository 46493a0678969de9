"""The read model of a charge point's firmware, diagnostics, log and security history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.errors import NotFound
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


class CustomerInformation(ReadModel):
    request_id: int
    complete: bool = Field(description="the last part (tbc false) is in, and none before it is missing")
    parts: int
    data: str = Field(description="the parts' data in seqNo order")


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

    async def customer_information(self, identity: str, request_id: int) -> CustomerInformation:
        """What a 2.0.1 station reported for a CustomerInformation request, its parts (NotifyCustomerInformation)
        put together by seqNo; a part the station sent twice counts once."""
        c = t.charge_point_events.c
        rows = await self._store.query_all(
            sa.select(c.detail).where(
                c.charge_point_id == identity, c.kind == "customer_information", c.request_id == request_id
            ).order_by(c.id)
        )
        parts = {row.detail["seq_no"]: row.detail for row in rows if isinstance(row.detail, dict)}
        if not parts:
            raise NotFound(f"{identity} reported nothing for customer information request {request_id}")
        ordered = [parts[seq_no] for seq_no in sorted(parts)]
        complete = not ordered[-1]["tbc"] and sorted(parts) == list(range(len(parts)))
        return CustomerInformation(
            request_id=request_id, complete=complete, parts=len(parts), data="".join(part["data"] for part in ordered)
        )
