"""Id tags (RFID cards, app tokens) as operators manage them: create, read, change, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.authorization import ID_TAG_STATUSES
from voltline.services.clock import now
from voltline.services.commands import INT32_MAX
from voltline.services.errors import Conflict, Invalid, NotFound
from voltline.services.paging import Page, fetch_page
from voltline.store import tables as t
from voltline.store.database import Store

_EDITABLE = ("status", "expiry_date", "parent_id_tag", "description", "max_active_transactions")


@dataclass(slots=True, frozen=True)
class IdTag:
    id_tag: str
    status: str
    expiry_date: datetime | None
    parent_id_tag: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime
    max_active_transactions: int  # beyond it a StartTransaction gets ConcurrentTx; 0: no limit


class IdTagService:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    async def create(
        self,
        id_tag: str,
        *,
        status: str = "Accepted",
        expiry_date: datetime | None = None,
        parent_id_tag: str | None = None,
        description: str | None = None,
        max_active_transactions: int = 1,
    ) -> IdTag:
        _check_status(status)
        _check_limit(max_active_transactions)
        at = now()
        values = {
            "id_tag": id_tag,
            "status": status,
            "expiry_date": expiry_date,
            "parent_id_tag": parent_id_tag,
            "description": description,
            "created_at": at,
            "updated_at": at,
            "max_active_transactions": max_active_transactions,
        }

        async def insert(conn: AsyncConnection) -> bool:
            if await conn.scalar(sa.select(t.id_tags.c.id_tag).where(t.id_tags.c.id_tag == id_tag)):
                return False
            await conn.execute(t.id_tags.insert().values(values))
            return True

        if not await self._store.write(insert):
            raise Conflict(f"id tag {id_tag} exists", code="id_tag_exists")
        self._bus.publish(Event("id_tag.created", None, {"id_tag": id_tag, "status": status}))
        return IdTag(**values)  # type: ignore[arg-type]

    async def get(self, id_tag: str) -> IdTag:
        row = await self._store.fetch_one(sa.select(t.id_tags).where(t.id_tags.c.id_tag == id_tag))
        if row is None:
            raise NotFound(f"no id tag {id_tag}")
        return _id_tag(row)

    async def list(
        self, *, status: str | None = None, search: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[IdTag]:
        c = t.id_tags.c
        query = sa.select(t.id_tags)
        if status is not None:
            query = query.where(c.status == status)
        if search:
            query = query.where(c.id_tag.contains(search, autoescape=True))
        return await fetch_page(self._store, query, (c.id_tag,), limit, offset, _id_tag)

    async def update(self, id_tag: str, **changes: Any) -> IdTag:
        values = {key: changes[key] for key in _EDITABLE if key in changes}
        if "status" in values:
            _check_status(values["status"])
        if "max_active_transactions" in values:
            _check_limit(values["max_active_transactions"])
        if values:
            values["updated_at"] = now()
            result = await self._store.write(
                lambda conn: conn.execute(t.id_tags.update().where(t.id_tags.c.id_tag == id_tag).values(values))
            )
            if not result.rowcount:
                raise NotFound(f"no id tag {id_tag}")
            self._bus.publish(Event("id_tag.updated", None, {"id_tag": id_tag}))
        return await self.get(id_tag)

    async def delete(self, id_tag: str) -> None:
        result = await self._store.write(
            lambda conn: conn.execute(t.id_tags.delete().where(t.id_tags.c.id_tag == id_tag))
        )
        if not result.rowcount:
            raise NotFound(f"no id tag {id_tag}")
        self._bus.publish(Event("id_tag.deleted", None, {"id_tag": id_tag}))


def _check_status(status: str) -> None:
    if status not in ID_TAG_STATUSES:
        raise Invalid(f"status must be one of {', '.join(ID_TAG_STATUSES)}")


def _check_limit(limit: int) -> None:
    if not 0 <= limit <= INT32_MAX:
        raise Invalid("max_active_transactions must be 0 (no limit) or a positive number")


def _id_tag(row: Any) -> IdTag:
    return IdTag(
        row.id_tag, row.status, row.expiry_date, row.parent_id_tag, row.description, row.created_at, row.updated_at,
        row.max_active_transactions,
    )
