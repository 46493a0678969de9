"""The read model of id tags, for the REST API and the dashboard alike: one search rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.errors import NotFound
from voltline.services.paging import Page, fetch_page
from voltline.services.provisioning.views import escape_like
from voltline.services.read_model import ReadModel
from voltline.store.tables import DEFAULT_TOKEN_TYPE
from voltline.store import tables as t
from voltline.store.database import Store

_tag = t.id_tags.c
ACCEPTED = "Accepted"


class IdTag(ReadModel):
    id_tag: str
    status: str
    expiry_date: datetime | None
    parent_id_tag: str | None
    description: str | None
    max_active_transactions: int = Field(description="beyond it a StartTransaction gets ConcurrentTx; 0: no limit")
    created_at: datetime
    updated_at: datetime
    token_type: str = Field(DEFAULT_TOKEN_TYPE, description="the kind of token (OCPP 2.0.1 IdTokenEnumType)")


def id_tag_of(row: Any) -> IdTag:
    return IdTag.model_validate(row)


class IdTagViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def id_tags(
        self, *, status: str | None = None, search: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[IdTag]:
        """By id tag; `search` is part of the id tag or its description, in any case."""
        query = sa.select(t.id_tags)
        if status:
            query = query.where(_tag.status == status)
        if search:
            pattern = f"%{escape_like(search.lower())}%"
            query = query.where(
                sa.or_(sa.func.lower(_tag.id_tag).like(pattern, escape="\\"),
                       sa.func.lower(_tag.description).like(pattern, escape="\\"))
            )
        return await fetch_page(self._store, query, (_tag.id_tag,), limit, offset, id_tag_of)

    async def id_tag(self, id_tag: str) -> IdTag:
        row = await self._store.query_one(sa.select(t.id_tags).where(_tag.id_tag == id_tag))
        if row is None:
            raise NotFound(f"no id tag {id_tag}")
        return id_tag_of(row)

    async def find(self, id_tag: str) -> IdTag | None:
        try:
            return await self.id_tag(id_tag)
        except NotFound:
            return None

    async def children(self, id_tag: str, limit: int = 20) -> list[str]:
        """The tags that name `id_tag` as their parent."""
        rows = await self._store.query_all(
            sa.select(_tag.id_tag).where(_tag.parent_id_tag == id_tag).order_by(_tag.id_tag).limit(limit)
        )
        return [row.id_tag for row in rows]

    async def accepted(self, limit: int = 500) -> list[str]:
        """Tags that may start a session now, for a remote start's choice."""
        rows = await self._store.query_all(
            sa.select(_tag.id_tag).where(_tag.status == ACCEPTED).order_by(_tag.id_tag).limit(limit)
        )
        return [row.id_tag for row in rows]
