"""Rollup rows added to: INSERT … ON CONFLICT DO UPDATE SET sum = sum + new, peak = max."""

from __future__ import annotations

from typing import Any

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
