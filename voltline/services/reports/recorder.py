"""The rollups kept up to date as data arrives: energy and peak power from meter values, sessions
at their stop, connections, failed starts.

What a MeterValues adds is summed in memory and written every few seconds (flush_interval) as one
batch of upserts through the store's write lanes: the hot path pays a few dict updates, not a
statement, and a charge point's many readings of an hour become one row per flush. (A crash
loses at most those seconds of rollups; `voltline reports rebuild` recomputes them.) Statuses are
rolled up where they are stored (timeline.record_status), in the same transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.reports.adding import Grains, add_rows, evse_key
from voltline.services.reports.hours import (
    DURATION_BUCKETS_S, ENERGY_BUCKETS_WH, bucket, floor_hour, split_seconds,
)
from voltline.services.reports.meters import SessionMeter
from voltline.services.reports.peaks import add_peaks
from voltline.services.transactions import meter_values as mv
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.reports")

ENERGY, POWER = mv.ENERGY_REGISTER, mv.POWER
INVALID, BLOCKED, REMOTE_START_REJECTED = "invalid", "blocked", "remote_start_rejected"
FAILED_START_KINDS = {"Invalid": INVALID, "Blocked": BLOCKED}


def register_readings(samples: Iterable[mv.SampledValue]) -> list[tuple[float, datetime]]:
    """The session's total Energy.Active.Import.Register readings (Wh), as the rollups use them."""
    return [
        (s.value, s.timestamp) for s in samples
        if s.measurand == mv.ENERGY_REGISTER and s.phase is None and s.value is not None
    ]


def power_readings(samples: Iterable[mv.SampledValue]) -> list[tuple[float, datetime]]:
    return [(s.value, s.timestamp) for s in samples if s.measurand == mv.POWER and s.phase is None and s.value is not None]


def session_row(meter: SessionMeter, stopped_at: datetime, estimated: bool) -> dict[str, Any]:
    duration = max(0.0, (stopped_at - meter.started_at).total_seconds())
    return {
        "hour": floor_hour(meter.started_at), "charge_point_id": meter.charge_point_id,
        "evse_id": meter.evse_id, "connector_id": meter.connector_id, "id_tag": meter.id_tag,
        "energy_bucket": bucket(meter.energy_wh, ENERGY_BUCKETS_WH),
        "duration_bucket": bucket(duration, DURATION_BUCKETS_S),
        "sessions": 1, "duration_s": duration, "energy_wh": meter.energy_wh,
        "flagged": int(meter.flagged or estimated),
    }


class Sums:
    """Rollup rows summed by key, to be added to the tables in one go."""

    def __init__(self) -> None:
        self.energy: dict[tuple[Any, ...], list[Any]] = {}
        self.sessions: list[dict[str, Any]] = []
        self.connectivity: dict[tuple[Any, ...], list[float]] = {}
        self.failed: dict[tuple[Any, ...], int] = {}

    def __bool__(self) -> bool:
        return bool(self.energy or self.sessions or self.connectivity or self.failed)

    def _entry(self, meter: SessionMeter, hour: datetime) -> list[Any]:
        """The [energy, peak] being summed for the meter's key in `hour`; the meter keeps the one
        of its current hour at hand (the hot path: a reading a minute, sixty to an hour)."""
        if meter.entry is not None and meter.entry_of is self and meter.hour == hour:
            return meter.entry
        entry = self.energy.setdefault(
            (hour, meter.charge_point_id, meter.evse_id, meter.connector_id, meter.id_tag), [0.0, None]
        )
        if meter.hour == hour:
            meter.entry, meter.entry_of = entry, self
        return entry

    def add_energy(self, meter: SessionMeter, parts: list[tuple[datetime, float]]) -> None:
        for hour, wh in parts:
            self._entry(meter, hour)[0] += wh

    def add_power(self, meter: SessionMeter, watts: float, at: datetime) -> None:
        entry = self._entry(meter, meter.hour_of(at))
        if entry[1] is None or watts > entry[1]:
            entry[1] = watts

    def add_connected(self, charge_point_id: str, start: datetime, end: datetime) -> None:
        for hour, seconds in split_seconds(start, end):
            self.connectivity.setdefault((hour, charge_point_id), [0.0, 0])[0] += seconds

    def add_connect(self, charge_point_id: str, at: datetime) -> None:
        self.connectivity.setdefault((floor_hour(at), charge_point_id), [0.0, 0])[1] += 1

    def add_failed(self, charge_point_id: str, kind: str, at: datetime) -> None:
        key = (floor_hour(at), charge_point_id, kind)
        self.failed[key] = self.failed.get(key, 0) + 1

    def tables(self) -> list[tuple[sa.Table, list[dict[str, Any]]]]:
        return [
            (t.report_energy, [
                {"hour": k[0], "charge_point_id": k[1], "evse_id": k[2], "connector_id": k[3], "id_tag": k[4],
                 "energy_wh": v[0], "peak_power_w": v[1]} for k, v in self.energy.items()
            ]),
            (t.report_sessions, self.sessions),
            (t.report_connectivity, [
                {"hour": k[0], "charge_point_id": k[1], "connected_s": v[0], "connects": v[1]}
                for k, v in self.connectivity.items()
            ]),
            (t.report_failed_starts, [
                {"hour": k[0], "charge_point_id": k[1], "kind": k[2], "count": v} for k, v in self.failed.items()
            ]),
        ]


async def add_sums(conn: AsyncConnection, grains: Grains, sums: Sums) -> None:
    for table, rows in sums.tables():
        await add_rows(conn, grains, table, rows)
        if table is t.report_energy:
            await add_peaks(conn, grains, rows)


class Rollups:
    def __init__(self, store: Store, flush_interval: float = 5.0, enabled: bool = True,
                 time_zone: str = "UTC") -> None:
        self._store = store
        self.grains = Grains(ZoneInfo(time_zone))
        self.enabled = enabled
        self.flush_interval = flush_interval
        self._sums = Sums()
        self._meters: dict[int, SessionMeter] = {}
        self._connected_at: dict[str, datetime] = {}

    # -- sessions ---------------------------------------------------------------------------

    def started(self, transaction_id: int, charge_point_id: str, connector_id: int, id_tag: str,
                meter_start: int, at: datetime, id_tag_status: str, evse_id: int | None = None) -> None:
        """`connector_id` and `evse_id` as the transaction's row keeps them (`evse_id` None on 1.6)."""
        if not self.enabled:
            return
        self._meters[transaction_id] = SessionMeter(
            charge_point_id, connector_id, id_tag, at, float(meter_start), at, evse_key(evse_id)
        )
        kind = FAILED_START_KINDS.get(id_tag_status)
        if kind is not None:
            self._sums.add_failed(charge_point_id, kind, at)

    def identified(self, transaction_id: int, charge_point_id: str, id_tag: str, id_tag_status: str,
                   at: datetime) -> None:
        """The session's id tag named after its start (OCPP 2.0.1 authorizes a session begun on
        plugging in later): the session counts for that tag, a refused one as a failed start."""
        if not self.enabled:
            return
        meter = self._meters.get(transaction_id)
        if meter is not None:
            meter.id_tag = id_tag
        kind = FAILED_START_KINDS.get(id_tag_status)
        if kind is not None:
            self._sums.add_failed(charge_point_id, kind, at)

    def located(self, transaction_id: int, evse_id: int, connector_id: int) -> None:
        """A 2.0.1 transaction's connector, named once the station knows it (an event's evse
        may come after the start): what it adds from now on is that connector's."""
        meter = self._meters.get(transaction_id)
        if meter is not None and (meter.evse_id, meter.connector_id) != (evse_id, connector_id):
            meter.evse_id, meter.connector_id, meter.entry = evse_id, connector_id, None

    def meter_values(self, transaction_id: int | None, samples: list[mv.SampledValue]) -> None:
        if transaction_id is None or not self.enabled:
            return
        meter = self._meters.get(transaction_id)
        if meter is None:
            return  # begun on another node, or before a restart and finished since
        self._read(meter, samples)

    def _read(self, meter: SessionMeter, samples: list[mv.SampledValue]) -> None:
        """As register_readings and power_readings select them, in one pass (the hot path)."""
        sums = self._sums
        for sample in samples:
            value = sample.value
            if value is None or sample.phase is not None:
                continue
            if sample.measurand == ENERGY:
                sums.add_energy(meter, meter.step(value, sample.timestamp))
                meter.hour_of(sample.timestamp)
            elif sample.measurand == POWER:
                sums.add_power(meter, value, sample.timestamp)

    def stopped(self, transaction_id: int, meter_stop: int, at: datetime,
                samples: list[mv.SampledValue] | None = None, *, estimated: bool = False) -> None:
        """The session ended: its last step to `meter_stop`, and its row in the sessions rollup.
        `estimated`: Voltline closed it without a StopTransaction (flagged)."""
        if not self.enabled:
            return
        meter = self._meters.pop(transaction_id, None)
        if meter is None:
            return
        if samples:
            self._read(meter, samples)
        self._sums.add_energy(meter, meter.step(float(meter_stop), at))
        self._sums.sessions.append(session_row(meter, at, estimated))

    # -- connections and failed starts ------------------------------------------------------

    def connected(self, charge_point_id: str, at: datetime) -> None:
        if not self.enabled:
            return
        previous = self._connected_at.pop(charge_point_id, None)
        if previous is not None:  # a new connection replaced the old one without a close
            self._sums.add_connected(charge_point_id, previous, at)
        self._connected_at[charge_point_id] = at
        self._sums.add_connect(charge_point_id, at)

    def disconnected(self, charge_point_id: str, at: datetime) -> None:
        since = self._connected_at.pop(charge_point_id, None)
        if since is not None and self.enabled:
            self._sums.add_connected(charge_point_id, since, at)

    def all_disconnected(self, at: datetime) -> None:
        for charge_point_id in list(self._connected_at):
            self.disconnected(charge_point_id, at)

    def failed_start(self, charge_point_id: str, id_tag_status: str, at: datetime) -> None:
        kind = FAILED_START_KINDS.get(id_tag_status)
        if kind is not None and self.enabled:
            self._sums.add_failed(charge_point_id, kind, at)

    # -- writing ----------------------------------------------------------------------------

    async def restore(self) -> None:
        """After a restart: the open sessions' meters, from their last stored register reading."""
        tx = t.transactions.c
        rows = await self._store.fetch_all(
            sa.select(tx.id, tx.charge_point_id, tx.evse_id, tx.connector_id, tx.id_tag, tx.meter_start, tx.started_at)
            .where(tx.stopped_at.is_(None))
        )
        m = t.meter_values.c
        last = (
            sa.select(m.value, m.timestamp)
            .where(m.transaction_id == sa.bindparam("tid"), m.measurand == mv.ENERGY_REGISTER,
                   m.phase.is_(None), m.value.is_not(None))
            .order_by(m.reading_id.desc()).limit(1)
        )
        for row in rows:
            reading = await self._store.fetch_one(last.params(tid=row.id))
            value, at = (reading.value, reading.timestamp) if reading is not None else (row.meter_start, row.started_at)
            self._meters[row.id] = SessionMeter(
                row.charge_point_id, row.connector_id, row.id_tag, row.started_at, float(value), at, evse_key(row.evse_id)
            )

    async def flush(self) -> None:
        if not self._sums:
            return
        sums, self._sums = self._sums, Sums()
        await self._store.write(lambda conn: add_sums(conn, self.grains, sums))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except Exception:
                # Those seconds' sums are lost (the database is away): a rebuild restores them.
                log.exception("could not write the report rollups")
