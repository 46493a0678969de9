"""The read model of remote starts: each request, and the transaction it led to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.paging import Page, fetch_page
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store


class RemoteStart(ReadModel):
    id: int
    charge_point_id: str
    connector_id: int | None
    id_tag: str
    status: str = Field(description="Requested, Accepted, Started, Rejected or Failed")
    transaction_id: int | None
    requested_at: datetime
    ocpp_remote_start_id: int | None = Field(
        None, description="the remoteStartId it went out with (OCPP 2.0.1): its own id when Voltline numbered it, "
        "the operator's in a RequestStartTransaction sent through commands/; null on 1.6")


def remote_start_select() -> sa.Select[Any]:
    rs = t.remote_starts.c
    # The connector is the transaction's when the charge point chose it.
    return sa.select(
        rs.id,
        rs.charge_point_id,
        sa.func.coalesce(rs.connector_id, t.transactions.c.connector_id).label("connector_id"),
        rs.id_tag,
        rs.status,
        rs.transaction_id,
        rs.requested_at,
        rs.ocpp_remote_start_id,
    ).select_from(t.remote_starts.outerjoin(t.transactions, t.transactions.c.id == rs.transaction_id))


class RemoteStartViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def remote_starts(
        self,
        *,
        charge_point_id: str | None = None,
        id_tag: str | None = None,
        status: str | None = None,
        ocpp_remote_start_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[RemoteStart]:
        c = t.remote_starts.c
        query = remote_start_select()
        if charge_point_id is not None:
            query = query.where(c.charge_point_id == charge_point_id)
        if id_tag is not None:
            query = query.where(c.id_tag == id_tag)
        if status is not None:
            query = query.where(c.status == status)
        if ocpp_remote_start_id is not None:
            query = query.where(c.ocpp_remote_start_id == ocpp_remote_start_id)
        return await fetch_page(self._store, query, (c.id.desc(),), limit, offset, RemoteStart.model_validate)

