"""Rollup rows added to: INSERT … ON CONFLICT DO UPDATE SET sum = sum + new, peak = max."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from voltline.services.reports.classes import status_class
from voltline.store import tables as t

# table → (key columns, summed columns, maxed columns)
ROLLUPS: dict[sa.Table, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    t.report_energy: (("hour", "charge_point_id", "evse_id", "connector_id", "id_tag"), ("energy_wh",), ("peak_power_w",)),
    t.report_sessions: (
        ("hour", "charge_point_id", "evse_id", "connector_id", "id_tag", "energy_bucket", "duration_bucket"),
        ("sessions", "duration_s", "energy_wh", "flagged"),
        (),
    ),
    t.report_idle: (("hour", "charge_point_id", "evse_id", "connector_id", "id_tag"), ("idle_s", "sessions"), ()),
    t.report_status: (
        ("hour", "charge_point_id", "evse_id", "connector_id", "status", "error_code"), ("seconds", "entries"), (),
    ),
    t.report_connectivity: (("hour", "charge_point_id"), ("connected_s", "connects"), ()),
    t.report_failed_starts: (("hour", "charge_point_id", "kind"), ("count",), ()),
}


def evse_key(evse_id: int | None) -> int:
    """A connector's EVSE as the per-connector rollups key it: 1.6's no EVSE is ROLLUP_NO_EVSE."""
    return t.ROLLUP_NO_EVSE if evse_id is None else evse_id


def _adding(dialect: Any, table: sa.Table) -> sa.Insert:
    key, summed, maxed = ROLLUPS[table]
    statement = dialect.insert(table)
    new = statement.excluded
    values: dict[str, Any] = {name: table.c[name] + new[name] for name in summed}
    for name in maxed:
        # A null (no sample) never wins; the first value does.
        values[name] = sa.case(
            (new[name] > sa.func.coalesce(table.c[name], new[name] - 1), new[name]), else_=table.c[name]
        )
    return statement.on_conflict_do_update(index_elements=list(key), set_=values)  # type: ignore[no-any-return]


for _table, _grains in t.COARSER.items():
    _key, _summed, _maxed = ROLLUPS[_table]
    _dropped = t.COARSE_DROPS.get(_table.name, ())
    for _coarse in _grains.values():
        ROLLUPS[_coarse] = (tuple(k for k in _key if k not in _dropped), _summed, _maxed)
for _grain in (t.BY_TAG_DAY, t.BY_TAG_MONTH):
    ROLLUPS[_grain[t.report_energy]] = (("hour", "id_tag"), ("energy_wh",), ("peak_power_w",))
    ROLLUPS[_grain[t.report_sessions]] = (("hour", "id_tag"), ("sessions", "flagged"), ())
for _table, _network in t.NETWORK.items():
    _key, _summed, _maxed = ROLLUPS[_table]
    for _target in (_network, *t.NETWORK_COARSER[_network].values()):
        ROLLUPS[_target] = (tuple(k for k in _key if k not in t.NETWORK_DROPS), _summed,
                            tuple(m for m in _maxed if m not in t.NETWORK_DROPS))
ROLLUPS[t.report_session_starts_month] = (("hour", "hour_of_day", "day_of_week"), ("sessions",), ())
for _coarse in t.SESSIONS_BY_CP.values():
    ROLLUPS[_coarse] = (("hour", "charge_point_id"), ("sessions",), ())
for _coarse in t.STATUS_CLASSES_BY.values():
    ROLLUPS[_coarse] = (("hour", "charge_point_id", "evse_id", "connector_id"), t.STATUS_CLASS_SECONDS, ())

ADDING = {
    name: {table: _adding(dialect, table) for table in ROLLUPS}
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
"""By dialect name, then table: the statement that adds a row (a dict of every column) to its rollup."""


def merged(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one key summed into one: a multi-row INSERT may not touch a row twice."""
    key, summed, maxed = ROLLUPS[table]
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[name] for name in key)
        found = by_key.get(k)
        if found is None:
            by_key[k] = dict(row)
            continue
        for name in summed:
            found[name] += row[name]
        for name in maxed:
            if row[name] is not None and (found[name] is None or row[name] > found[name]):
                found[name] = row[name]
    return list(by_key.values())


class Grains:
    """Where an hour falls in the reports' time zone: the UTC instants its local day and month begin."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._day: dict[datetime, datetime] = {}
        self._month: dict[datetime, datetime] = {}

    def start(self, hour: datetime, grain: str) -> datetime:
        cache = self._day if grain == "day" else self._month
        found = cache.get(hour)
        if found is None:
            local = hour.astimezone(self.zone)
            day = 1 if grain == "month" else local.day
            found = cache[hour] = datetime(local.year, local.month, day, tzinfo=self.zone).astimezone(UTC)
            if len(cache) > 100_000:
                cache.clear()
        return found


def _projected(table: sa.Table, rows: list[dict[str, Any]], hour: Any) -> list[dict[str, Any]]:
    names = [c.name for c in table.columns if c.name != "hour"]
    return merged(table, [{"hour": hour(row["hour"]), **{name: row[name] for name in names}} for row in rows])


async def add_rows(conn: Any, grains: Grains, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Add hourly `rows` to `table`, to its day and month rollups, to the network's hourly, daily
    and monthly ones, to the daily and monthly ones by id tag, to those by time of day and (for
    sessions) to those by charge point."""
    if not rows:
        return
    adding = ADDING[conn.dialect.name]
    await conn.execute(adding[table], merged(table, rows))
    for grain, coarse in t.COARSER[table].items():
        await conn.execute(adding[coarse], _projected(coarse, rows, lambda hour, grain=grain: grains.start(hour, grain)))
    network = t.NETWORK.get(table)
    if network is not None:
        # The network's hours are few (one per hour and bucket): its days and months from them.
        hours = _projected(network, rows, lambda hour: hour)
        await conn.execute(adding[network], hours)
        for grain, coarse in t.NETWORK_COARSER[network].items():
            await conn.execute(adding[coarse], _projected(coarse, hours, lambda hour, grain=grain: grains.start(hour, grain)))
    month = lambda hour: grains.start(hour, "month")  # noqa: E731
    if table in t.BY_TAG_MONTH:
        day = lambda hour: grains.start(hour, "day")  # noqa: E731
        await conn.execute(adding[t.BY_TAG_DAY[table]], _projected(t.BY_TAG_DAY[table], rows, day))
        await conn.execute(adding[t.BY_TAG_MONTH[table]], _projected(t.BY_TAG_MONTH[table], rows, month))
    if table is t.report_status:
        await _add_classes(conn, grains, rows)
    if table is t.report_sessions:
        for grain, coarse in t.SESSIONS_BY_CP.items():
            await conn.execute(adding[coarse], _projected(coarse, rows, lambda hour, grain=grain: grains.start(hour, grain)))
        starts = []
        for row in rows:
            local = row["hour"].astimezone(grains.zone)
            starts.append({"hour": month(row["hour"]), "hour_of_day": local.hour, "day_of_week": local.weekday(),
                           "sessions": row["sessions"]})
        await conn.execute(adding[t.report_session_starts_month], merged(t.report_session_starts_month, starts))


async def _add_classes(conn: Any, grains: Grains, rows: list[dict[str, Any]]) -> None:
    """Status rows' seconds by class, to the day and month rollups by class (a row's entries
    alone, no seconds, add nothing: utilisation reads seconds only)."""
    timed = [row for row in rows if row["seconds"]]
    if not timed:
        return
    adding = ADDING[conn.dialect.name]
    classed = []
    for row in timed:  # each row's class once, for both grains
        values = dict.fromkeys(t.STATUS_CLASS_SECONDS, 0.0)
        values[f"{status_class(row['status'])}_s"] = row["seconds"]
        classed.append((row, {"charge_point_id": row["charge_point_id"], "evse_id": row["evse_id"],
                              "connector_id": row["connector_id"], **values}))
    for grain, coarse in t.STATUS_CLASSES_BY.items():
        by_class = [{"hour": grains.start(row["hour"], grain), **values} for row, values in classed]
        await conn.execute(adding[coarse], merged(coarse, by_class))
