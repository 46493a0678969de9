"""`voltline reports rebuild`: the energy (and peak power), session, idle and status rollups computed afresh from
the transactions, their meter values and the status history, by the very rules the live
rollups follow (meters.SessionMeter, timeline). Connections and failed Authorize answers have
no other record than their rollups: those are kept as they are.

Run it with the server stopped (or accept that what arrives meanwhile may count twice)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.reports.adding import Grains, add_rows, evse_key
from voltline.services.reports.charging import add_charging_time
from voltline.services.reports.meters import SessionMeter
from voltline.services.reports.peaks import PEAK_TABLES
from voltline.services.reports.recorder import Sums, add_sums, session_row
from voltline.services.reports.timeline import (
    IDLE_LOOKBACK, Connector, StatusPoint, entry_row, idle_row, idle_run, status_rows,
)
from voltline.services.transactions import meter_values as mv
from voltline.services.transactions.shapes import ShapeSet, load_sets
from voltline.store import tables as t
from voltline.store.database import Store
from voltline.store.migrate import refresh_sqlite_statistics

REBUILT = (
    *(table for hourly in (t.report_energy, t.report_sessions, t.report_idle, t.report_status)
      for table in (hourly, *t.COARSER[hourly].values())),
    *(table for network in t.NETWORK.values() for table in (network, *t.NETWORK_COARSER[network].values())),
    *t.BY_TAG_DAY.values(), *t.BY_TAG_MONTH.values(), t.report_session_starts_month, *t.SESSIONS_BY_CP.values(),
    *t.STATUS_CLASSES_BY.values(),
    *PEAK_TABLES,
)
CHUNK = 2000  # transactions per read


@dataclass(slots=True)
class RebuildReport:
    transactions: int = 0
    status_changes: int = 0

    def __str__(self) -> str:
        return f"rebuilt the report rollups from {self.transactions} transactions and {self.status_changes} status changes"


async def rebuild(store: Store, grains: Grains) -> RebuildReport:
    """`grains`: the reports' time zone, whose days and months the coarser rollups follow."""
    report = RebuildReport()

    async def clear(conn: AsyncConnection) -> None:
        for table in REBUILT:
            await conn.execute(table.delete())

    await store.write(clear)
    await _sessions(store, grains, report)
    await _statuses(store, grains, report)
    await _charging(store, grains)
    # Every rollup row was written anew: SQLite's planner statistics are refreshed for them.
    await refresh_sqlite_statistics(store.engine.url)
    return report


async def _charging(store: Store, grains: Grains) -> None:
    """The charging time of the ended sessions told as events (2.0.1), as each end added it."""
    tx = t.transactions.c
    ended = await store.query_all(sa.select(tx.id).where(tx.evse_id.is_not(None), tx.stopped_at.is_not(None)).order_by(tx.id))
    for i in range(0, len(ended), CHUNK):
        ids = [row.id for row in ended[i:i + CHUNK]]

        async def write(conn: AsyncConnection, ids: list[int] = ids) -> None:
            for transaction_id in ids:
                await add_charging_time(conn, grains, transaction_id)

        await store.write(write)


async def _sessions(store: Store, grains: Grains, report: RebuildReport) -> None:
    tx, r = t.transactions.c, t.meter_readings.c
    last = 0
    sets: dict[int, ShapeSet] = {}
    while True:
        rows = await store.query_all(
            sa.select(tx.id, tx.charge_point_id, tx.evse_id, tx.connector_id, tx.id_tag, tx.meter_start, tx.meter_stop,
                      tx.started_at, tx.stopped_at, tx.stop_note)
            .where(tx.id > last).order_by(tx.id).limit(CHUNK)
        )
        if not rows:
            return
        first, last = rows[0].id, rows[-1].id
        readings: dict[int, list[Any]] = {}
        for reading in await store.query_all(
            sa.select(r.transaction_id, r.timestamp, r.shape_set_id, r.samples)
            .where(r.transaction_id >= first, r.transaction_id <= last).order_by(r.transaction_id, r.id)
        ):
            readings.setdefault(reading.transaction_id, []).append(reading)
        sums = Sums()
        for row in rows:
            meter = SessionMeter(row.charge_point_id, row.connector_id, row.id_tag, row.started_at,
                                 float(row.meter_start), row.started_at, evse_key(row.evse_id))
            for reading in readings.get(row.id, ()):
                _read(sums, meter, reading, await _shape_set(store, sets, reading.shape_set_id))
            if row.stopped_at is not None and row.meter_stop is not None:
                sums.add_energy(meter, meter.step(float(row.meter_stop), row.stopped_at))
                sums.sessions.append(session_row(meter, row.stopped_at, row.stop_note is not None))
        report.transactions += len(rows)
        await store.write(lambda conn, sums=sums: add_sums(conn, grains, sums))  # type: ignore[misc]


async def _shape_set(store: Store, sets: dict[int, ShapeSet], set_id: int) -> ShapeSet:
    """A reading's shape set, the stored ones read again when one is new (stored meanwhile)."""
    if set_id not in sets:
        async with store.query() as conn:
            sets.update(await load_sets(conn))
    return sets[set_id]


def _read(sums: Sums, meter: SessionMeter, reading: Any, shapes: ShapeSet) -> None:
    """One stored reading, as the live rollups read its MeterValues (recorder.register_readings)."""
    for value, measurand, phase in mv.values(shapes, reading.samples):
        if value is None or phase is not None:
            continue
        if measurand == mv.ENERGY_REGISTER:
            sums.add_energy(meter, meter.step(float(value), reading.timestamp))
        elif measurand == mv.POWER:
            sums.add_power(meter, float(value), reading.timestamp)


class _Sessions:
    """A connector's transactions, for the session an idle run belongs to (timeline.session_of)."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = sorted(rows, key=lambda row: row.started_at)
        self._starts = [row.started_at for row in self._rows]

    def at(self, when: Any) -> Any:
        for row in reversed(self._rows[: bisect.bisect_right(self._starts, when)]):
            if row.stopped_at is None or row.stopped_at >= when:
                return row
        return None


async def _statuses(store: Store, grains: Grains, report: RebuildReport) -> None:
    h, tx = t.connector_status_history.c, t.transactions.c
    connectors = await store.query_all(sa.select(h.charge_point_id, h.evse_id, h.connector_id).distinct())
    for found in connectors:
        connector = Connector(found.charge_point_id, found.evse_id, found.connector_id)
        points = [
            StatusPoint(row.status, row.error_code, row.timestamp)
            for row in await store.query_all(
                sa.select(h.status, h.error_code, h.timestamp).where(connector.of(h)).order_by(h.timestamp, h.id)
            )
        ]
        sessions = _Sessions(await store.query_all(
            sa.select(tx.id_tag, tx.started_at, tx.stopped_at).where(connector.of(tx))
        ))
        status: list[dict[str, Any]] = []
        idle: list[dict[str, Any]] = []
        for i, point in enumerate(points):
            status.append(entry_row(connector, point))
            if i + 1 < len(points):
                status += status_rows(connector, point, point.timestamp, points[i + 1].timestamp)
            before = points[max(0, i - IDLE_LOOKBACK):i][::-1]
            run = idle_run(before, point)
            if run is not None:
                session = sessions.at(run.started_at)
                if session is not None:
                    idle.append(idle_row(connector, session, run))
        report.status_changes += len(points)

        async def write(conn: AsyncConnection, status: list[dict[str, Any]] = status,
                        idle: list[dict[str, Any]] = idle) -> None:
            await add_rows(conn, grains, t.report_status, status)
            await add_rows(conn, grains, t.report_idle, idle)

        await store.write(write)
