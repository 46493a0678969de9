"""The charging time of sessions told as events (OCPP 2.0.1), for the status rollups.

1.6 tells a connector's charging time by its status: StatusNotification Charging. 2.0.1's
connector statuses have no Charging (a connector in use is Occupied); the TransactionEvents say
it instead, by `chargingState` (Charging, EVConnected, SuspendedEV, SuspendedEVSE, Idle), sent
when it changes. A session's spans in Charging move from its connector's Occupied time to its
Charging time in report_status, once the session has ended (its events then all known); the
utilisation report adds those of a session still running as it adds a status still in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.reports.adding import Grains, add_rows
from voltline.services.reports.timeline import CHARGING, Connector, StatusPoint, status_rows
from voltline.store import tables as t

OCCUPIED = "Occupied"  # 2.0.1's status of a connector in use, which charging time is part of
NO_ERROR = "NoError"

Span = tuple[datetime, datetime]

_ev, _tx = t.transaction_events.c, t.transactions.c
_STATES = (
    sa.select(_ev.timestamp, _ev.charging_state)
    .where(_ev.transaction_id == sa.bindparam("transaction_id"), _ev.charging_state.is_not(None))
    .order_by(_ev.timestamp, _ev.seq_no)
)


def charging_spans(states: Iterable[tuple[datetime, str]], end: datetime) -> list[Span]:
    """The spans in Charging of a session whose chargingState changed as `states` say (in the
    station's time order), the last running until `end` (its stop, or now)."""
    spans: list[Span] = []
    since: datetime | None = None
    for at, state in states:
        if at >= end:
            break
        if state == CHARGING and since is None:
            since = at
        elif state != CHARGING and since is not None:
            spans.append((since, at))
            since = None
    if since is not None and end > since:
        spans.append((since, end))
    return spans


def charging_rows(connector: Connector, spans: Sequence[Span]) -> list[dict[str, Any]]:
    """report_status rows moving `spans` from the connector's Occupied time to its Charging time."""
    rows: list[dict[str, Any]] = []
    for start, end in spans:
        rows += status_rows(connector, StatusPoint(CHARGING, NO_ERROR, start), start, end)
        rows += status_rows(connector, StatusPoint(OCCUPIED, NO_ERROR, start), start, end, -1.0)
    return rows


async def states_of(conn: AsyncConnection, transaction_id: int) -> list[tuple[datetime, str]]:
    return [(row.timestamp, row.charging_state) for row in (await conn.execute(_STATES, {"transaction_id": transaction_id}))]


async def add_charging_time(conn: AsyncConnection, grains: Grains, transaction_id: int) -> None:
    """The session ended: its charging time into the status rollups (inside the transaction
    that stores its end, as a status is rolled up where it is stored)."""
    row = (await conn.execute(
        sa.select(_tx.charge_point_id, _tx.evse_id, _tx.connector_id, _tx.stopped_at).where(_tx.id == transaction_id)
    )).first()
    if row is None or row.stopped_at is None or row.evse_id is None:
        return  # 1.6's charging time comes from its statuses
    spans = charging_spans(await states_of(conn, transaction_id), row.stopped_at)
    if spans:
        await add_rows(conn, grains, t.report_status,
                       charging_rows(Connector(row.charge_point_id, row.evse_id, row.connector_id), spans))
