"""What a connector reports (StatusNotification): stored in the order the charge point saw it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.services.reports.recorder import Rollups
from voltline.services.reports.timeline import Connector, StatusPoint, record_status
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.charge_points")


class ConnectorStatus:
    def __init__(self, store: Store, bus: EventBus, rollups: Rollups) -> None:
        self._store = store
        self._rollups = rollups  # time per status for the utilisation report
        self._bus = bus

    async def status_notification(
        self,
        identity: str,
        *,
        connector_id: int,
        evse_id: int | None = None,
        status: str,
        error_code: str = "NoError",
        info: str | None = None,
        vendor_id: str | None = None,
        vendor_error_code: str | None = None,
        timestamp: datetime | None = None,
    ) -> bool:
        """Store what a connector reports. Charge points queue these while offline and may deliver
        them late: one older (by the charge point's `timestamp`) than the status stored changes
        nothing; one without a timestamp is taken as the newest. Returns whether it was applied.

        `connector_id` and `evse_id` as the charge point numbers them (`evse_id` None on 1.6: see
        voltline.services.location)."""
        at = now()
        values = {
            "charge_point_id": identity,
            "connector_id": connector_id,
            "evse_id": evse_id,
            "status": status,
            "error_code": error_code,
            "info": info,
            "vendor_id": vendor_id,
            "vendor_error_code": vendor_error_code,
            "status_at": timestamp or at,
            "updated_at": at,
        }

        history = {name: values[name] for name in _HISTORY_COLUMNS}
        history["timestamp"], history["received_at"] = values["status_at"], at
        point = StatusPoint(status, error_code, values["status_at"])
        place = Connector(identity, evse_id, connector_id)
        grains = self._rollups.grains if self._rollups.enabled else None

        async def upsert(conn: AsyncConnection) -> bool:
            # Every notification joins the history, the late ones too; only the newest is the
            # connector's status.
            await record_status(conn, grains, place, point, history)
            statement = _STATUS_UPSERT[conn.dialect.name][timestamp is not None]
            return bool((await conn.execute(statement, values)).rowcount)

        if not await self._store.write(upsert):
            log.info("%s: connector %s status %s of %s is older than the one stored; left as it was",
                     identity, connector_id, status, values["status_at"])
            return False
        if self._bus.has_subscribers:
            self._bus.publish(
                Event(
                    "connector.status",
                    identity,
                    {"connector_id": connector_id, "evse_id": evse_id, "status": status, "error_code": error_code,
                     "info": info},
                )
            )
        return True


def _status_upsert(insert: Any, *, ordered: bool) -> sa.Insert:
    """A connector's status inserted or replaced; when `ordered`, not over a newer one."""
    c = t.connectors.c
    statement = insert(t.connectors)
    columns = ("status", "error_code", "info", "vendor_id", "vendor_error_code", "status_at", "updated_at")
    newer = sa.or_(c.status_at.is_(None), c.status_at <= statement.excluded.status_at) if ordered else None
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[c.charge_point_id, t.CONNECTOR_EVSE_KEY, c.connector_id],
        set_={name: statement.excluded[name] for name in columns},
        where=newer,
    )


# Built once, by dialect, then by whether the charge point gave a timestamp to order by.
_STATUS_UPSERT = {
    name: {ordered: _status_upsert(dialect.insert, ordered=ordered) for ordered in (True, False)}
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


_HISTORY_COLUMNS = ("charge_point_id", "connector_id", "evse_id", "status", "error_code", "info", "vendor_id", "vendor_error_code")
