"""Rollup rows added to: INSERT … ON CONFLICT DO UPDATE SET sum = sum + new, peak = max."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from voltline.store import tables as t

# table → (key columns, summed columns, maxed columns)
ROLLUPS: dict[sa.Table, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    t.report_energy: (("hour", "charge_point_id", "connector_id", "id_tag"), ("energy_wh",), ("peak_power_w",)),
    t.report_sessions: (
        ("hour", "charge_point_id", "connector_id", "id_tag", "energy_bucket", "duration_bucket"),
        ("sessions", "duration_s", "energy_wh", "flagged"),
        (),
    ),
    t.report_idle: (("hour", "charge_point_id", "connector_id", "id_tag"), ("idle_s", "sessions"), ()),
    t.report_status: (
        ("hour", "charge_point_id", "connector_id", "status", "error_code"), ("seconds", "entries"), (),
    ),
    t.report_connectivity: (("hour", "charge_point_id"), ("connected_s", "connects"), ()),
    t.report_failed_starts: (("hour", "charge_point_id", "kind"), ("count",), ()),
}


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
    for _coarse in _grains.values():
        ROLLUPS[_coarse] = ROLLUPS[_table]

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


async def add_rows(conn: Any, grains: Grains, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Add hourly `rows` to `table` and to its day and month rollups."""
    if not rows:
        return
    adding = ADDING[conn.dialect.name]
    await conn.execute(adding[table], merged(table, rows))
    for grain, coarse in t.COARSER[table].items():
        await conn.execute(adding[coarse], merged(coarse, [{**row, "hour": grains.start(row["hour"], grain)} for row in rows]))
