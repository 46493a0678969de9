"""The read model of charging profiles, for the REST API and the dashboard alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.paging import Page, fetch_page
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store


class ChargingProfile(ReadModel):
    id: int = Field(description="Voltline's id of the stored profile")
    charge_point_id: str
    connector_id: int
    charging_profile_id: int = Field(description="the OCPP chargingProfileId")
    stack_level: int
    purpose: str
    kind: str
    recurrency_kind: str | None
    transaction_id: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    charging_schedule: dict[str, Any]  # as OCPP sends it (camelCase)
    status: str = Field(description="Active, Replaced or Cleared")
    created_at: datetime
    updated_at: datetime


def charging_profile_of(row: Any) -> ChargingProfile:
    return ChargingProfile.model_validate(row)


class ChargingProfileViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def charging_profiles(
        self,
        *,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ChargingProfile]:
        c = t.charging_profiles.c
        query = sa.select(t.charging_profiles)
        for column, value in ((c.charge_point_id, charge_point_id), (c.connector_id, connector_id), (c.purpose, purpose), (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        return await fetch_page(
            self._store, query, (c.charge_point_id, c.connector_id, c.purpose, c.stack_level.desc(), c.id), limit, offset, charging_profile_of
        )

