"""The read model of charge points' configuration, as last read with GetConfiguration."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store


class ConfigurationKey(ReadModel):
    key: str
    value: str | None
    readonly: bool
    updated_at: datetime


class ConfigurationViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def keys(self, identity: str) -> list[ConfigurationKey]:
        c = t.configuration.c
        rows = await self._store.fetch_all(
            sa.select(t.configuration).where(c.charge_point_id == identity).order_by(c.key)
        )
        return [ConfigurationKey.model_validate(row) for row in rows]

