"""The reads behind the dashboard's pages: SQLAlchemy Core against the store's tables.

One function per question a page asks. Live facts that the services keep in memory (who is
connected right now, the newest power reading) are merged in by the pages, not here. Every read
goes through `Store.query`: off the event loop, stopped past the statement time limit, so a
page over a big table never holds up a charge point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from voltline.services.message_log import search as message_search
from voltline.services.transactions.meter_values import ENERGY_REGISTER, POWER
from voltline.services.queries import natural_order
from voltline.store import tables as t
from voltline.store.database import Store

PAGE_SIZE = 50

tx = t.transactions.c
cp = t.charge_points.c
msg = t.messages.c


# -- overview -----------------------------------------------------------------------------


async def charge_point_counts(store: Store) -> tuple[int, int]:
    row = await store.query_one(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((cp.connected, 1), else_=0)), 0))
    )
    assert row is not None
    return int(row[0]), int(row[1])


OFFLINE = "Offline"


async def connector_status_counts(store: Store) -> dict[str, int]:
    """Connectors by status; those of an offline charge point count as Offline, whatever they last
    reported: nobody can start charging there now."""
    status = sa.case((cp.connected, t.connectors.c.status), else_=sa.literal(OFFLINE)).label("status")
    rows = await store.query_all(
        sa.select(status, sa.func.count())
        .select_from(t.connectors.join(t.charge_points, cp.id == t.connectors.c.charge_point_id))
        .where(t.connectors.c.connector_id > 0)
        .group_by(status)
    )
    return {row[0]: int(row[1]) for row in rows}


async def connected_among(store: Store, charge_point_ids: set[str]) -> set[str]:
    if not charge_point_ids:
        return set()
    rows = await store.query_all(sa.select(cp.id).where(cp.id.in_(charge_point_ids), cp.connected.is_(True)))
    return {row.id for row in rows}


async def active_session_count(store: Store) -> int:
    return int(await _scalar(store, sa.select(sa.func.count()).where(tx.stopped_at.is_(None))) or 0)


async def energy_finished_since(store: Store, since: datetime) -> float:
    """Wh of the sessions that finished at or after `since`."""
    value = await _scalar(
        store,
        sa.select(sa.func.coalesce(sa.func.sum(tx.meter_stop - tx.meter_start), 0)).where(
            tx.stopped_at >= since, tx.meter_stop.is_not(None)
        ),
    )
    return float(value or 0)


async def active_sessions(store: Store) -> list[sa.Row[Any]]:
    return await store.query_all(sa.select(t.transactions).where(tx.stopped_at.is_(None)).order_by(tx.started_at))


async def recent_calls(store: Store, limit: int = 20) -> list[Exchange]:
    """The newest requests in either direction, with their answers: the seed of the overview's feed."""
    return await exchanges(store, MessageFilter(calls_only=True, hide=("MeterValues", "Heartbeat")), limit=limit)


# -- charge points ------------------------------------------------------------------------


async def charge_points(store: Store, *, q: str = "", connected: bool | None = None) -> list[sa.Row[Any]]:
    statement = sa.select(t.charge_points).order_by(*natural_order(cp.id))
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        statement = statement.where(
            sa.or_(
                *(sa.func.lower(c).like(pattern, escape="\\") for c in (cp.id, cp.description, cp.vendor, cp.model,
                                                                         cp.serial_number, cp.charge_box_serial_number))
            )
        )
    if connected is not None:
        statement = statement.where(cp.connected.is_(connected))
    return await store.query_all(statement)


async def connectors(store: Store, charge_point_ids: list[str] | None = None) -> dict[str, list[sa.Row[Any]]]:
    statement = sa.select(t.connectors).order_by(t.connectors.c.charge_point_id, t.connectors.c.connector_id)
    if charge_point_ids is not None:
        statement = statement.where(t.connectors.c.charge_point_id.in_(charge_point_ids))
    grouped: dict[str, list[sa.Row[Any]]] = {}
    for row in await store.query_all(statement):
        grouped.setdefault(row.charge_point_id, []).append(row)
    return grouped


async def charge_point(store: Store, charge_point_id: str) -> sa.Row[Any] | None:
    return await store.query_one(sa.select(t.charge_points).where(cp.id == charge_point_id))


async def active_sessions_of(store: Store, charge_point_id: str) -> dict[int, sa.Row[Any]]:
    rows = await store.query_all(
        sa.select(t.transactions).where(tx.charge_point_id == charge_point_id, tx.stopped_at.is_(None))
    )
    return {row.connector_id: row for row in rows}


async def configuration(store: Store, charge_point_id: str) -> list[sa.Row[Any]]:
    c = t.configuration.c
    return await store.query_all(sa.select(t.configuration).where(c.charge_point_id == charge_point_id).order_by(c.key))


async def reservations(store: Store, charge_point_id: str) -> list[sa.Row[Any]]:
    r = t.reservations.c
    return await store.query_all(
        sa.select(t.reservations).where(r.charge_point_id == charge_point_id).order_by(r.id.desc()).limit(20)
    )


async def charging_profiles(store: Store, charge_point_id: str) -> list[sa.Row[Any]]:
    p = t.charging_profiles.c
    return await store.query_all(
        sa.select(t.charging_profiles)
        .where(p.charge_point_id == charge_point_id)
        .order_by(p.connector_id, p.stack_level.desc(), p.id.desc())
        .limit(50)
    )


async def charge_point_events(store: Store, charge_point_id: str, limit: int = 10) -> list[sa.Row[Any]]:
    e = t.charge_point_events.c
    return await store.query_all(
        sa.select(t.charge_point_events).where(e.charge_point_id == charge_point_id).order_by(e.id.desc()).limit(limit)
    )


async def id_tag_choices(store: Store) -> list[str]:
    rows = await store.query_all(
        sa.select(t.id_tags.c.id_tag).where(t.id_tags.c.status == "Accepted").order_by(t.id_tags.c.id_tag).limit(500)
    )
    return [row.id_tag for row in rows]


# -- sessions -----------------------------------------------------------------------------


@dataclass(slots=True)
class SessionFilter:
    charge_point_id: str = ""
    id_tag: str = ""
    state: str = ""  # "" | "active" | "finished"
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        if self.charge_point_id:
            statement = statement.where(tx.charge_point_id == self.charge_point_id)
        if self.id_tag:
            statement = statement.where(tx.id_tag == self.id_tag)
        if self.state == "active":
            statement = statement.where(tx.stopped_at.is_(None))
        elif self.state == "finished":
            statement = statement.where(tx.stopped_at.is_not(None))
        if self.since is not None:
            statement = statement.where(tx.started_at >= self.since)
        if self.until is not None:
            statement = statement.where(tx.started_at < self.until)
        return statement


async def sessions(store: Store, where: SessionFilter, *, page: int = 1, limit: int | None = PAGE_SIZE) -> list[sa.Row[Any]]:
    statement = where.apply(sa.select(t.transactions)).order_by(tx.id.desc())
    if limit is not None:
        statement = statement.limit(limit + 1).offset((page - 1) * limit)
    return await store.query_all(statement)


async def session(store: Store, transaction_id: int) -> sa.Row[Any] | None:
    return await store.query_one(sa.select(t.transactions).where(tx.id == transaction_id))


async def meter_values(store: Store, transaction_id: int, limit: int = 5000) -> list[sa.Row[Any]]:
    m = t.meter_values.c
    return await store.query_all(
        sa.select(t.meter_values).where(m.transaction_id == transaction_id).order_by(m.timestamp, m.id).limit(limit)
    )


def series(rows: list[sa.Row[Any]], session: sa.Row[Any]) -> dict[str, list[list[Any]]]:
    """Energy (Wh delivered since the start) and power (W) over time, for the session chart.

    Energy starts at zero when the session starts and ends at meterStop when it has stopped."""
    meter_start = session.meter_start
    energy: list[list[Any]] = [[session.started_at.astimezone(UTC).isoformat(), 0]]
    power: list[list[Any]] = []
    for row in rows:
        if row.value is None or row.phase is not None:
            continue
        at = row.timestamp.astimezone(UTC).isoformat()
        if row.measurand == ENERGY_REGISTER:
            energy.append([at, row.value - (meter_start or 0)])
        elif row.measurand == POWER:
            power.append([at, row.value])
    if session.stopped_at is not None and session.meter_stop is not None:
        energy.append([session.stopped_at.astimezone(UTC).isoformat(), session.meter_stop - meter_start])
    energy.sort(key=lambda point: datetime.fromisoformat(point[0]))
    return {"energy": energy, "power": power}


# -- id tags ------------------------------------------------------------------------------


async def id_tags(store: Store, *, q: str = "", status: str = "") -> list[sa.Row[Any]]:
    c = t.id_tags.c
    statement = sa.select(t.id_tags).order_by(c.id_tag)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        statement = statement.where(
            sa.or_(sa.func.lower(c.id_tag).like(pattern, escape="\\"), sa.func.lower(c.description).like(pattern, escape="\\"))
        )
    if status:
        statement = statement.where(c.status == status)
    return await store.query_all(statement.limit(1000))


async def id_tag(store: Store, tag: str) -> sa.Row[Any] | None:
    return await store.query_one(sa.select(t.id_tags).where(t.id_tags.c.id_tag == tag))


async def id_tag_children(store: Store, tag: str) -> list[str]:
    """The tags that name `tag` as their parent."""
    c = t.id_tags.c
    rows = await store.query_all(sa.select(c.id_tag).where(c.parent_id_tag == tag).order_by(c.id_tag).limit(20))
    return [row.id_tag for row in rows]


# -- message log --------------------------------------------------------------------------


@dataclass(slots=True)
class MessageFilter:
    charge_point_id: str = ""
    action: str = ""
    direction: str = ""  # "" | "in" | "out"
    errors: bool = False
    since: datetime | None = None  # UTC, from the operator's local time
    until: datetime | None = None
    calls_only: bool = False  # without the frames that could not be read
    hide: tuple[str, ...] = ()  # actions left out (the feed's MeterValues and Heartbeats)


@dataclass(slots=True)
class Exchange:
    """A CALL and its answer (when one came), or a frame that answers nothing we have."""

    request: sa.Row[Any]
    answer: sa.Row[Any] | None

    @property
    def id(self) -> int:
        return int(self.request.id)


async def exchanges(store: Store, where: MessageFilter, *, before: int | None = None,
                    limit: int = PAGE_SIZE) -> list[Exchange]:
    """The newest CALLs (and unreadable frames) with their answers, newest first."""
    statement = sa.select(t.messages).where(msg.message_type.in_((2,) if where.calls_only else (0, 2)))
    if where.hide:
        statement = statement.where(msg.action.not_in(where.hide))
    if where.action:
        statement = statement.where(msg.action == where.action)
    if where.direction in ("in", "out"):
        statement = statement.where(msg.direction == where.direction)
    # Each time bound twice, as the API does: on the frame, and on its batch (the batches' index).
    if where.since is not None:
        statement = statement.where(msg.created_at >= where.since, msg.batch_last_at >= where.since)
    if where.until is not None:
        statement = statement.where(msg.created_at < where.until, msg.batch_first_at < where.until)
    if where.errors:
        failed = (
            sa.select(msg.message_id)
            .where(msg.message_type == 4)
            .where(msg.charge_point_id == where.charge_point_id if where.charge_point_id else sa.true())
        )
        statement = statement.where(sa.or_(msg.message_type == 0, msg.message_id.in_(failed)))
    if where.charge_point_id:
        async with store.query() as conn:
            requests = await message_search.charge_point_rows(
                conn, statement, where.charge_point_id, limit=limit + 1, before=before
            )
    else:
        if before is not None:
            statement = statement.where(msg.id < before, msg.batch_id <= (before - 1) // t.FRAMES_PER_BATCH)
        async with store.query() as conn:
            requests = await message_search.log_rows(conn, statement, limit=limit + 1)
    ids = {row.message_id for row in requests if row.message_id}
    answers: dict[tuple[str, str, str], sa.Row[Any]] = {}
    if ids:
        # An answer is logged after its CALL: the batch ids bound the search to recent batches.
        oldest = min(row.id for row in requests)
        for row in await store.query_all(
            sa.select(t.messages)
            .where(msg.batch_id >= oldest // t.FRAMES_PER_BATCH, msg.id > oldest)
            .where(msg.message_type.in_((3, 4)), msg.message_id.in_(ids))
            .order_by(msg.batch_id, msg.id)
        ):
            answers.setdefault((row.charge_point_id, row.message_id, row.direction), row)
    result = []
    for row in requests:
        answer_direction = "out" if row.direction == "in" else "in"
        result.append(Exchange(row, answers.get((row.charge_point_id, row.message_id or "", answer_direction))))
    return result


# Every OCPP 1.6 action, for the message log's filter: a fixed list costs no scan of the log.
OCPP16_ACTIONS = sorted([
    "Authorize", "BootNotification", "CancelReservation", "CertificateSigned", "ChangeAvailability",
    "ChangeConfiguration", "ClearCache", "ClearChargingProfile", "DataTransfer", "DeleteCertificate",
    "DiagnosticsStatusNotification", "ExtendedTriggerMessage", "FirmwareStatusNotification",
    "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetInstalledCertificateIds",
    "GetLocalListVersion", "GetLog", "Heartbeat", "InstallCertificate", "LogStatusNotification", "MeterValues",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SecurityEventNotification",
    "SendLocalList", "SetChargingProfile", "SignCertificate", "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware", "StartTransaction", "StatusNotification", "StopTransaction", "TriggerMessage",
    "UnlockConnector", "UpdateFirmware",
])


def pretty(raw: str) -> str:
    """A frame's payload, indented; the frame verbatim when it is not JSON."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(frame, list) and frame:
        payload = {2: 3, 3: 2, 4: 3}.get(frame[0]) if isinstance(frame[0], int) else None
        if payload is not None and len(frame) > payload:
            body = frame[payload] if frame[0] != 4 else {"errorCode": frame[2], "errorDescription": frame[3],
                                                           "errorDetails": frame[4] if len(frame) > 4 else {}}
            return json.dumps(body, indent=2, ensure_ascii=False)
    return json.dumps(frame, indent=2, ensure_ascii=False)


# -- helpers ------------------------------------------------------------------------------


async def _scalar(store: Store, statement: sa.Select[Any]) -> Any:
    async with store.query() as conn:
        return await conn.scalar(statement)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
