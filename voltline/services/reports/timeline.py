"""A connector's status timeline cut into the status and idle rollups, one notification at a time.

Each notification opens a span that the next one (in the charge point's time) closes. Written
inside the very transaction that stores the notification in the history: a late one (older than
the newest) is slotted in where it belongs, taking its part of the span it falls into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.reports.adding import Grains, add_rows, evse_key
from voltline.services.reports.hours import floor_hour, split_seconds
from voltline.store import tables as t

CHARGING = "Charging"
# After charging ended, the car still plugged in: the idle time of a session.
IDLE = frozenset(("SuspendedEV", "SuspendedEVSE", "Finishing"))
# The connector is free (or out of use) again: an idle run ends here.
FREE = frozenset(("Available", "Unavailable", "Faulted"))
IDLE_LOOKBACK = 20  # notifications looked back over for the start of an idle run


@dataclass(slots=True, frozen=True)
class StatusPoint:
    status: str
    error_code: str
    timestamp: datetime


@dataclass(slots=True, frozen=True)
class Connector:
    """A connector as its status history and transactions number it: `evse_id` None on 1.6.
    A 2.0.1 station numbers connectors per EVSE, so the connector alone names one per EVSE."""

    charge_point_id: str
    evse_id: int | None
    connector_id: int

    def key(self) -> dict[str, Any]:
        """Its part of a per-connector rollup row's key."""
        return {"charge_point_id": self.charge_point_id, "evse_id": evse_key(self.evse_id),
                "connector_id": self.connector_id}

    def of(self, columns: Any) -> sa.ColumnElement[bool]:
        """Rows of this connector in a table with charge_point_id, evse_id and connector_id."""
        evse = columns.evse_id.is_(None) if self.evse_id is None else columns.evse_id == self.evse_id
        return sa.and_(columns.charge_point_id == self.charge_point_id, evse, columns.connector_id == self.connector_id)


@dataclass(slots=True, frozen=True)
class IdleRun:
    started_at: datetime
    seconds: float


def status_rows(
    connector: Connector, point: StatusPoint, start: datetime, end: datetime, sign: float = 1.0
) -> list[dict[str, Any]]:
    key = connector.key()
    return [
        {"hour": hour, **key, "status": point.status, "error_code": point.error_code, "seconds": sign * seconds,
         "entries": 0}
        for hour, seconds in split_seconds(start, end)
    ]


def entry_row(connector: Connector, point: StatusPoint) -> dict[str, Any]:
    return {"hour": floor_hour(point.timestamp), **connector.key(), "status": point.status,
            "error_code": point.error_code, "seconds": 0.0, "entries": 1}


def idle_run(before: Sequence[StatusPoint], free: StatusPoint) -> IdleRun | None:
    """The idle run a FREE status ends: the statuses just before it (newest first in `before`)
    that are all IDLE and follow a Charging one. None when there is no such run."""
    if free.status not in FREE:
        return None
    start: datetime | None = None
    for point in before:
        if point.status in IDLE:
            start = point.timestamp
            continue
        if point.status == CHARGING and start is not None:
            return IdleRun(start, max(0.0, (free.timestamp - start).total_seconds()))
        return None
    return None


_h = t.connector_status_history.c
_ORDER_DESC = (_h.timestamp.desc(), _h.id.desc())
_tx = t.transactions.c


def _point(row: Any) -> StatusPoint:
    return StatusPoint(row.status, row.error_code, row.timestamp)


async def session_of(conn: AsyncConnection, connector: Connector, at: datetime) -> Any:
    """The transaction a connector held at `at` (the latest begun by then, not stopped before)."""
    return (await conn.execute(
        sa.select(_tx.id_tag, _tx.started_at)
        .where(connector.of(_tx), _tx.started_at <= at, sa.or_(_tx.stopped_at.is_(None), _tx.stopped_at >= at))
        .order_by(_tx.started_at.desc())
        .limit(1)
    )).first()


def idle_row(connector: Connector, session: Any, run: IdleRun) -> dict[str, Any]:
    return {"hour": floor_hour(session.started_at), **connector.key(), "id_tag": session.id_tag,
            "idle_s": run.seconds, "sessions": 1}


async def record_status(conn: AsyncConnection, grains: Grains | None, connector: Connector,
                        point: StatusPoint, row: dict[str, Any]) -> None:
    """Store `row` in the status history and cut the timeline's change into the rollups
    (`grains` None: the rollups are off)."""
    if grains is None:
        await conn.execute(t.connector_status_history.insert(), row)
        return
    where = connector.of(_h)
    before = [_point(r) for r in (await conn.execute(
        sa.select(_h.status, _h.error_code, _h.timestamp).where(where, _h.timestamp <= point.timestamp)
        .order_by(*_ORDER_DESC).limit(IDLE_LOOKBACK)
    )).all()]
    following = (await conn.execute(
        sa.select(_h.timestamp).where(where, _h.timestamp > point.timestamp)
        .order_by(_h.timestamp, _h.id).limit(1)
    )).first()
    await conn.execute(t.connector_status_history.insert(), row)
    rows = [entry_row(connector, point)]
    if following is not None:
        # Late: the span [point, following) moves from the status before to this one.
        if before:
            rows += status_rows(connector, before[0], point.timestamp, following.timestamp, -1.0)
        rows += status_rows(connector, point, point.timestamp, following.timestamp)
    elif before:
        rows += status_rows(connector, before[0], before[0].timestamp, point.timestamp)
    await add_rows(conn, grains, t.report_status, rows)
    if following is None:
        run = idle_run(before, point)
        if run is not None:
            session = await session_of(conn, connector, run.started_at)
            if session is not None:
                await add_rows(conn, grains, t.report_idle, [idle_row(connector, session, run)])
