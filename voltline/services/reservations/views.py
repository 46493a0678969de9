"""The read model of reservations, for the REST API and the dashboard alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.clock import now
from voltline.services.paging import Page, fetch_page
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store

RESERVED = "Reserved"


class Reservation(ReadModel):
    id: int = Field(description="the OCPP reservationId")
    charge_point_id: str
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry_date: datetime
    status: str = Field(description="Reserved, Used, Expired, Cancelled, or the charge point's refusal")
    transaction_id: int | None
    created_at: datetime
    updated_at: datetime


def reservation_of(row: Any) -> Reservation:
    return Reservation.model_validate(row)


class ReservationViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def reservations(
        self,
        *,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        id_tag: str | None = None,
        status: str | None = None,
        active: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Reservation]:
        """`active`: only those that still hold a connector (Reserved, not past their expiry), or
        only those that no longer do."""
        c = t.reservations.c
        query = sa.select(t.reservations)
        for column, value in ((c.charge_point_id, charge_point_id), (c.connector_id, connector_id), (c.id_tag, id_tag), (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        if active is not None:
            holding = sa.and_(c.status == RESERVED, c.expiry_date > now())
            query = query.where(holding if active else sa.not_(holding))
        return await fetch_page(self._store, query, (c.id.desc(),), limit, offset, reservation_of)

