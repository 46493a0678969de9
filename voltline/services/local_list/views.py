"""The read model of the local authorization lists charge points last accepted."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from voltline.services.errors import NotFound
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store


class LocalListEntry(ReadModel):
    id_tag: str
    status: str
    expiry_date: datetime | None
    parent_id_tag: str | None


class LocalList(ReadModel):
    charge_point_id: str
    version: int | None  # as last reported or accepted; None when never known
    entries: list[LocalListEntry]


class LocalListViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def local_list(self, identity: str) -> LocalList:
        async with self._store.read() as conn:
            version = (
                await conn.execute(sa.select(t.charge_points.c.local_list_version).where(t.charge_points.c.id == identity))
            ).first()
            if version is None:
                raise NotFound(f"no charge point {identity}")
            c = t.local_list_entries.c
            rows = (
                await conn.execute(sa.select(t.local_list_entries).where(c.charge_point_id == identity).order_by(c.id_tag))
            ).all()
        return LocalList(
            charge_point_id=identity, version=version.local_list_version,
            entries=[LocalListEntry.model_validate(row) for row in rows],
        )

