"""The peak power rollups, kept beside the energy rollup they are read from.

An hour's power of a charge point is a sum over its report_energy rows, and the network's a sum
over its charge points, so neither can be added to as energy is: after energy rows are added,
the charge points' hours they touched are computed afresh from report_energy, then the network's
hours from those. An hour's power only grows (energy is only added, a peak only rises), so a
day's or a month's highest hour is kept by a max: the new value wins when higher, or equal and
earlier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.reports.adding import Grains
from voltline.services.reports.hours import HOUR
from voltline.store import tables as t

IN_CHUNK = 500  # values in one IN (...)
PEAK_TABLES = tuple(table for hourly in t.PEAK_COARSER for table in (hourly, *t.PEAK_COARSER[hourly].values()))


def hour_watts(energy: Any) -> sa.ColumnElement[float]:
    """A report_energy row's power: its highest sample, or without samples its average."""
    return sa.case(
        (sa.func.coalesce(energy.peak_power_w, 0.0) > energy.energy_wh, energy.peak_power_w), else_=energy.energy_wh
    ) * (3600.0 / HOUR.total_seconds())


def _key(table: sa.Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _setting(dialect: Any, table: sa.Table) -> sa.Insert:
    statement = dialect.insert(table)
    new = statement.excluded
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=_key(table), set_={"power_w": new.power_w, "at": new.at}
    )


def _maxing(dialect: Any, table: sa.Table) -> sa.Insert:
    statement = dialect.insert(table)
    new, old = statement.excluded, table.c
    wins = sa.or_(new.power_w > old.power_w, sa.and_(new.power_w == old.power_w, new.at < old.at))
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=_key(table),
        set_={"power_w": sa.case((wins, new.power_w), else_=old.power_w), "at": sa.case((wins, new.at), else_=old.at)},
    )


_STATEMENTS = {
    name: {
        "set": {hourly: _setting(dialect, hourly) for hourly in t.PEAK_COARSER},
        "max": {coarse: _maxing(dialect, coarse) for grains in t.PEAK_COARSER.values() for coarse in grains.values()},
    }
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), IN_CHUNK):
        yield values[i:i + IN_CHUNK]


async def _charge_point_hours(conn: AsyncConnection, keys: set[tuple[datetime, str]]) -> list[dict[str, Any]]:
    """The charge points' power in the (hour, charge point) `keys`, from report_energy: read by
    hour when the keys hold fewer hours than charge points (live: a few hours of many), else by
    charge point (a rebuild: many hours of a few)."""
    e = t.report_energy.c
    by_hour: dict[Any, list[Any]] = {}
    by_cp: dict[Any, list[Any]] = {}
    for hour, cp in keys:
        by_hour.setdefault(hour, []).append(cp)
        by_cp.setdefault(cp, []).append(hour)
    groups = (
        [(e.hour, hour, e.charge_point_id, cps) for hour, cps in by_hour.items()] if len(by_hour) <= len(by_cp)
        else [(e.charge_point_id, cp, e.hour, hours) for cp, hours in by_cp.items()]
    )
    found: list[dict[str, Any]] = []
    for fixed, value, varying, values in groups:
        for chunk in _chunks(sorted(values)):
            for row in (await conn.execute(
                sa.select(e.hour, e.charge_point_id, sa.func.sum(hour_watts(e)).label("w"))
                .where(fixed == value, varying.in_(chunk)).group_by(e.hour, e.charge_point_id)
            )).all():
                found.append({"hour": row.hour, "charge_point_id": row.charge_point_id, "power_w": row.w or 0.0,
                              "at": row.hour})
    return found


async def _network_hours(conn: AsyncConnection, hours: Sequence[datetime]) -> list[dict[str, Any]]:
    p = t.report_peak_cp.c
    found: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(hours)):
        for row in (await conn.execute(
            sa.select(p.hour, sa.func.sum(p.power_w).label("w")).where(p.hour.in_(chunk)).group_by(p.hour)
        )).all():
            found.append({"hour": row.hour, "power_w": row.w or 0.0, "at": row.hour})
    return found


def _highest(rows: list[dict[str, Any]], key: tuple[str, ...], start: Any) -> list[dict[str, Any]]:
    """The hourly `rows`' highest (earliest of equal) by `start(hour)` and `key`."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = (start(row["hour"]), *(row[name] for name in key))
        found = best.get(k)
        if found is None or row["power_w"] > found["power_w"] or (
            row["power_w"] == found["power_w"] and row["at"] < found["at"]
        ):
            best[k] = {"hour": k[0], **{name: row[name] for name in key}, "power_w": row["power_w"], "at": row["at"]}
    return list(best.values())


async def add_peaks(conn: AsyncConnection, grains: Grains, energy_rows: list[dict[str, Any]]) -> None:
    """After `energy_rows` were added to report_energy (and its day and month rollups): the peak
    rollups of the hours and charge points they touched."""
    keys = {(row["hour"], row["charge_point_id"]) for row in energy_rows}
    if not keys:
        return
    statements = _STATEMENTS[conn.dialect.name]
    charge_points = await _charge_point_hours(conn, keys)
    if charge_points:
        await conn.execute(statements["set"][t.report_peak_cp], charge_points)
    network = await _network_hours(conn, sorted({hour for hour, _ in keys}))
    if network:
        await conn.execute(statements["set"][t.report_peak], network)
    for hourly, rows, key in ((t.report_peak_cp, charge_points, ("charge_point_id",)), (t.report_peak, network, ())):
        for grain, coarse in t.PEAK_COARSER[hourly].items():
            highest = _highest(rows, key, lambda hour, grain=grain: grains.start(hour, grain))
            if highest:
                await conn.execute(statements["max"][coarse], highest)
