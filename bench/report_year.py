"""A year of a charging network for the reports: 1,000 charge points, about 3 M sessions.

Written straight into the tables (executemany on SQLite, COPY on PostgreSQL) after `voltline
migrate`, as bench/history.py does for meter values: filling it over OCPP would take days. The
rollups are cut by Voltline's own rules (services.reports: hours, meters, timeline, Grains), so
the reports read what a live server would have written; the sampled values and the status
history themselves are left out (reports never read them).

Each charge point (REPORT-0001, ...) charges on connector 1 about eight sessions a day: a gap of
10 min to 3 h, Preparing 2 min, Charging 20 min to 3 h at 3.7-22 kW, for half of them up to 40
min SuspendedEV after charging, Finishing 2 min, then Available. Every 1,000th session's meter
resets (flagged). Connected all year but for a short reconnect about every three days; every
hundredth charge point is offline for one whole day. 2,000 id tags under 40 parent tags.

    python bench/report_year.py --database-url sqlite:////tmp/year.db
    python bench/report_year.py --database-url postgresql://postgres@127.0.0.1:5432/year
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import history  # noqa: E402  # bench/history.py: migrate, _sqlite_text

from voltline.services.reports.adding import ROLLUPS, Grains  # noqa: E402
from voltline.services.reports.hours import (  # noqa: E402
    DURATION_BUCKETS_S, ENERGY_BUCKETS_WH, bucket, floor_hour, split_seconds, spread,
)
from voltline.store import tables as t  # noqa: E402

MINUTE = timedelta(minutes=1)
NO_EVSE = t.ROLLUP_NO_EVSE  # the rollups' EVSE of a connector numbered as 1.6 numbers it
TAGS, PARENTS = 2000, 40


def identity(cp: int) -> str:
    return f"REPORT-{cp + 1:04d}"


def tag(i: int) -> str:
    return f"TAG-{i:05d}"


class Rollup:
    """One rollup table's rows of a few charge points, summed by key, with their day and month rows."""

    def __init__(self, table: sa.Table, grains: Grains) -> None:
        self.table = table
        self.key, self.summed, self.maxed = ROLLUPS[table]
        self.columns = [c.name for c in table.columns]
        self.grains = grains
        self.rows: dict[tuple[Any, ...], list[Any]] = {}

    def add(self, k: tuple[Any, ...], *values: Any) -> None:
        """Add a row given as its key and its summed then maxed values, in ROLLUPS' order."""
        found = self.rows.get(k)
        if found is None:
            self.rows[k] = list(values)
            return
        n = len(self.summed)
        for i in range(n):
            found[i] += values[i]
        for j in range(n, len(values)):
            if values[j] is not None and (found[j] is None or values[j] > found[j]):
                found[j] = values[j]

    def grain_rows(self) -> dict[sa.Table, list[tuple[Any, ...]]]:
        """This table's rows, and those they add to the day, month, by-tag and time-of-day rollups
        (as services.reports.adding.add_rows does)."""
        names = list(self.key) + list(self.summed) + list(self.maxed)
        targets: list[tuple[sa.Table, Any]] = [(self.table, None)]
        targets += [(coarse, grain) for grain, coarse in t.COARSER[self.table].items()]
        if self.table in t.BY_TAG_MONTH:
            targets.append((t.BY_TAG_MONTH[self.table], "month"))
        out: dict[Any, list[tuple[Any, ...]]] = {}
        for target, grain in targets:
            key, summed, maxed = ROLLUPS[target]
            if grain is None:
                order = [names.index(c.name) for c in target.columns]
                out[target] = [tuple((list(k) + v)[i] for i in order) for k, v in self.rows.items()]
                continue
            key_at = [names.index(name) for name in key[1:]]
            value_at = [names.index(name) for name in summed + maxed]
            rows: dict[tuple[Any, ...], list[Any]] = {}
            for k, v in self.rows.items():
                row = list(k) + v
                ck = (self.grains.start(k[0], grain), *(row[i] for i in key_at))
                values = [row[i] for i in value_at]
                found = rows.get(ck)
                if found is None:
                    rows[ck] = values
                    continue
                for i in range(len(summed)):
                    found[i] += values[i]
                for j in range(len(summed), len(values)):
                    if values[j] is not None and (found[j] is None or values[j] > found[j]):
                        found[j] = values[j]
            merged_names = list(key) + list(summed) + list(maxed)
            order = [merged_names.index(c.name) for c in target.columns]
            out[target] = [tuple((list(ck) + v)[i] for i in order) for ck, v in rows.items()]
        if self.table is t.report_sessions:
            starts: dict[tuple[Any, ...], int] = {}
            for k, v in self.rows.items():
                local = k[0].astimezone(self.grains.zone)
                sk = (self.grains.start(k[0], "month"), local.hour, local.weekday())
                starts[sk] = starts.get(sk, 0) + v[0]
            out[t.report_session_starts_month] = [(*sk, n) for sk, n in starts.items()]
        self.rows = {}
        return out


def charge_point_year(cp: int, start: datetime, days: int, rollups: dict[str, Rollup],
                      transactions: list[tuple[Any, ...]], next_id: int) -> int:
    rng = random.Random(cp)
    cp_id, end = identity(cp), start + timedelta(days=days)
    energy, sessions, idle, status = rollups["energy"], rollups["sessions"], rollups["idle"], rollups["status"]

    def span(name: str, a: datetime, b: datetime) -> None:
        status.add((floor_hour(a), cp_id, NO_EVSE, 1, name, "NoError"), 0.0, 1)
        for hour, seconds in split_seconds(a, b):
            status.add((hour, cp_id, NO_EVSE, 1, name, "NoError"), seconds, 0)

    at, register, n = start, 0, 0
    available_since = start
    while True:
        at = available_since + timedelta(minutes=rng.randint(10, 150))
        charging = timedelta(minutes=rng.randint(20, 180))
        idle_for = timedelta(minutes=rng.randint(1, 40)) if rng.random() < 0.5 else timedelta(0)
        began = at + 2 * MINUTE
        charged_until = began + charging
        stopped = charged_until + idle_for
        free = stopped + 2 * MINUTE
        if free >= end:
            break
        span("Available", available_since, at)
        span("Preparing", at, began)
        span("Charging", began, charged_until)
        if idle_for:
            span("SuspendedEV", charged_until, stopped)
        span("Finishing", stopped, free)
        available_since = free
        watts = rng.choice((3700, 7400, 11000, 22000))
        wh = round(watts * charging.total_seconds() / 3600)
        id_tag = tag(rng.randrange(TAGS))
        n += 1
        flagged = n % 1000 == 0
        meter_start, meter_stop = register, register + wh
        counted = 0.0 if flagged else float(wh)  # a reset: the step backwards counts 0 Wh
        register = 0 if flagged else meter_stop
        for hour, part in spread(counted, began, charged_until):
            energy.add((hour, cp_id, NO_EVSE, 1, id_tag), part, float(watts))
        duration = (stopped - began).total_seconds()
        started_hour = floor_hour(began)
        sessions.add((started_hour, cp_id, NO_EVSE, 1, id_tag, bucket(counted, ENERGY_BUCKETS_WH), bucket(duration, DURATION_BUCKETS_S)),
                     1, duration, counted, int(flagged))
        # As the live rollups count it: from the end of charging until the connector is free again
        # (SuspendedEV, if any, and Finishing).
        idle.add((started_hour, cp_id, NO_EVSE, 1, id_tag), (free - charged_until).total_seconds(), 1)
        transactions.append((next_id, cp_id, 1, id_tag, "Accepted", meter_start, 0 if flagged else meter_stop,
                             began, stopped, "Local", id_tag, began))
        next_id += 1
    span("Available", available_since, end)
    # Connected all year, but for a reconnect every three days or so; every hundredth charge point
    # offline for one whole day in the middle of the year.
    link = rollups["connectivity"]
    offline_day = start + timedelta(days=days // 2) if cp % 100 == 0 else None
    up = start
    while up < end:
        down = min(end, up + timedelta(hours=rng.randint(24, 120)))
        if offline_day is not None and up <= offline_day < down:
            down = offline_day
        for hour, seconds in split_seconds(up, down):
            link.add((hour, cp_id), seconds, 0)
        link.add((floor_hour(up), cp_id), 0.0, 1)
        up = down + (timedelta(days=1) if down == offline_day else timedelta(minutes=rng.randint(1, 10)))
        if down == offline_day:
            offline_day = None
    for _ in range(rng.randint(10, 60)):
        rollups["failed"].add((floor_hour(start + timedelta(seconds=rng.randrange(days * 86400))), cp_id,
                               rng.choice(("invalid", "blocked"))), 1)
    return next_id


def year(charge_points: int, days: int, zone: str, chunk: int = 100) -> Iterator[tuple[dict[Any, list[tuple[Any, ...]]], list[tuple[Any, ...]]]]:
    """Rows table by table, `chunk` charge points at a time, and their transactions. (The
    network-wide monthly rollups, by id tag and by time of day, are keyed without the charge
    point: they are summed over every chunk and come with the last.)"""
    grains = Grains(ZoneInfo(zone))
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    start = end - timedelta(days=days)
    tables = {"energy": t.report_energy, "sessions": t.report_sessions, "idle": t.report_idle,
              "status": t.report_status, "connectivity": t.report_connectivity, "failed": t.report_failed_starts}
    next_id = 1
    network_peaks: dict[Any, float] = {}
    network_wide: dict[sa.Table, dict[tuple[Any, ...], list[Any]]] = {
        table: {} for table in (*t.BY_TAG_MONTH.values(), t.report_session_starts_month)
    }
    for first in range(0, charge_points, chunk):
        rollups = {name: Rollup(table, grains) for name, table in tables.items()}
        transactions: list[tuple[Any, ...]] = []
        for cp in range(first, min(charge_points, first + chunk)):
            next_id = charge_point_year(cp, start, days, rollups, transactions, next_id)
        rows: dict[Any, list[tuple[Any, ...]]] = {}
        for rollup in rollups.values():
            rows.update(rollup.grain_rows())
        for network in network_wide:
            for row in rows.pop(network, []):
                key = row[:len(ROLLUPS[network][0])]
                values = list(row[len(key):])
                found = network_wide[network].get(key)
                summed = len(ROLLUPS[network][1])
                if found is None:
                    network_wide[network][key] = values
                    continue
                for i in range(summed):
                    found[i] += values[i]
                for j in range(summed, len(values)):
                    if values[j] is not None and (found[j] is None or values[j] > found[j]):
                        found[j] = values[j]
        rows.update(charge_point_peaks(rows[t.report_energy], grains, network_peaks))
        if first + chunk >= charge_points:
            for network, summed in network_wide.items():
                rows[network] = [(*key, *values) for key, values in summed.items()]
            rows.update(highest_hours(t.report_peak, [(hour, w, hour) for hour, w in network_peaks.items()], grains))
        yield rows, transactions


def highest_hours(hourly: sa.Table, rows: list[tuple[Any, ...]], grains: Grains) -> dict[sa.Table, list[tuple[Any, ...]]]:
    """`hourly` peak rows (hour, [charge point,] power, at) and their highest hour by day and
    month (the earliest of equal ones), as services.reports.peaks keeps them."""
    out = {hourly: rows}
    for grain, coarse in t.PEAK_COARSER[hourly].items():
        best: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for row in rows:
            k = (grains.start(row[0], grain), *row[1:-2])
            found = best.get(k)
            if found is None or row[-2] > found[-2] or (row[-2] == found[-2] and row[-1] < found[-1]):
                best[k] = (*k, row[-2], row[-1])
        out[coarse] = list(best.values())
    return out


def charge_point_peaks(energy: list[tuple[Any, ...]], grains: Grains,
                       network: dict[Any, float]) -> dict[sa.Table, list[tuple[Any, ...]]]:
    """The charge points' peak rollups from their report_energy rows; their hours added to `network`."""
    names = [c.name for c in t.report_energy.columns]
    hour_at, cp_at, wh_at, w_at = (names.index(n) for n in ("hour", "charge_point_id", "energy_wh", "peak_power_w"))
    by_hour: dict[tuple[Any, str], float] = {}
    for row in energy:
        # As peaks.hour_watts: the highest sample, or without one the hour's average.
        watts = row[w_at] if (row[w_at] or 0.0) > row[wh_at] else row[wh_at]
        k = (row[hour_at], row[cp_at])
        by_hour[k] = by_hour.get(k, 0.0) + watts
    for (hour, _), watts in by_hour.items():
        network[hour] = network.get(hour, 0.0) + watts
    return highest_hours(t.report_peak_cp, [(hour, cp, w, hour) for (hour, cp), w in by_hour.items()], grains)


def copy_statements(copies: int, sqlite: bool) -> list[str]:
    """SQL that adds `copies` - 1 copies of the charge points written (ids suffixed #2, #3, ...),
    with their transactions and rollups, and scales the network-wide rollups to match."""
    if copies <= 1:
        return []
    statements = []
    cp_tables = ["charge_points", "connectors", *(
        table.name for hourly in t.ROLLUP_TABLES for table in (hourly, *t.COARSER[hourly].values())
    ), *(table.name for table in (t.report_peak_cp, *t.PEAK_COARSER[t.report_peak_cp].values()))]
    for copy in range(2, copies + 1):
        suffix = f"'#{copy}'"
        for name in cp_tables:
            columns = [c.name for c in t.metadata.tables[name].columns]
            key = "id" if name == "charge_points" else "charge_point_id"
            chosen = ", ".join(f"{c} || {suffix}" if c == key else c for c in columns)
            statements.append(
                f"INSERT INTO {name} ({', '.join(columns)}) SELECT {chosen} FROM {name} WHERE {key} NOT LIKE '%#%'"
            )
        columns = TX_COLUMNS
        chosen = ", ".join(
            f"id + {copy - 1} * (SELECT max(id) FROM transactions WHERE charge_point_id NOT LIKE '%#%')" if c == "id"
            else f"{c} || {suffix}" if c == "charge_point_id" else c
            for c in columns
        )
        statements.append(f"INSERT INTO transactions ({', '.join(columns)}) SELECT {chosen} FROM transactions"
                          " WHERE charge_point_id NOT LIKE '%#%'")
    statements += [
        f"UPDATE report_energy_tag_month SET energy_wh = energy_wh * {copies}",
        f"UPDATE report_sessions_tag_month SET sessions = sessions * {copies}, flagged = flagged * {copies}",
        f"UPDATE report_session_starts_month SET sessions = sessions * {copies}",
        # Every copy's hours are the same: the network's power is as many times its own.
        *(f"UPDATE {table.name} SET power_w = power_w * {copies}"
          for table in (t.report_peak, *t.PEAK_COARSER[t.report_peak].values())),
    ]
    return statements


def derived_statements() -> list[str]:
    """SQL that fills the network's, the per-id-tag day and the per-charge-point session
    rollups from those written (as migrations 0020 and 0024 fill them for a database that held
    rollups before them)."""
    import importlib.util

    import voltline.store

    statements = []
    versions = Path(voltline.store.__file__).parent / "migrations" / "versions"
    for name in ("0020_network_and_tag_day_rollups", "0024_sessions_by_charge_point"):
        spec = importlib.util.spec_from_file_location(f"_migration_{name[:4]}", versions / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        statements += module.fill_statements()
    return statements


TX_COLUMNS = ["id", "charge_point_id", "connector_id", "id_tag", "id_tag_status", "meter_start", "meter_stop",
              "started_at", "stopped_at", "stop_reason", "stop_id_tag", "created_at"]


def _static_rows(charge_points: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    now = datetime.now(UTC)
    points = [(identity(cp), "Accepted", "Voltline", "ReportCP", "1.6", "[]", False, now - timedelta(days=400), now)
              for cp in range(charge_points)]
    connectors = [(identity(cp), 1, "Available", "NoError", now - timedelta(days=1), now) for cp in range(charge_points)]
    tags = [(f"FLEET-{p:02d}", "Accepted", None, now, now) for p in range(PARENTS)]
    tags += [(tag(i), "Accepted", f"FLEET-{i % PARENTS:02d}", now, now) for i in range(TAGS)]
    return points, connectors, tags


def fill_sqlite(path: Path, charge_points: int, days: int, zone: str, copies: int = 1) -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    history.migrate(f"sqlite:///{path}")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    text = history._sqlite_text
    points, connectors, tags = _static_rows(charge_points)
    db.executemany("INSERT INTO charge_points (id, registration_status, vendor, model, ocpp_version, lenient_actions,"
                   " connected, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                   [(*r[:7], text(r[7]), text(r[8])) for r in points])
    db.executemany("INSERT INTO connectors (charge_point_id, connector_id, status, error_code, status_at, updated_at)"
                   " VALUES (?,?,?,?,?,?)", [(*r[:4], text(r[4]), text(r[5])) for r in connectors])
    db.executemany("INSERT INTO id_tags (id_tag, status, parent_id_tag, created_at, updated_at, max_active_transactions)"
                   " VALUES (?,?,?,?,?,1)", [(*r[:3], text(r[3]), text(r[4])) for r in tags])
    sessions = 0
    for rows, transactions in year(charge_points, days, zone):
        for table, values in rows.items():
            columns = [c.name for c in table.columns]
            stamp = columns.index("hour")
            db.executemany(
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [(*row[:stamp], text(row[stamp]), *row[stamp + 1:]) for row in values],
            )
        db.executemany(
            f"INSERT INTO transactions ({', '.join(TX_COLUMNS)}) VALUES ({', '.join('?' * len(TX_COLUMNS))})",
            [(*r[:7], text(r[7]), text(r[8]), r[9], r[10], text(r[11])) for r in transactions],
        )
        sessions += len(transactions)
    for statement in [*copy_statements(copies, sqlite=True), *derived_statements()]:
        db.execute(statement)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return sessions


async def _fill_postgres(url: str, charge_points: int, days: int, zone: str, copies: int = 1) -> int:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        points, connectors, tags = _static_rows(charge_points)
        await db.copy_records_to_table("charge_points", records=points, columns=[
            "id", "registration_status", "vendor", "model", "ocpp_version", "lenient_actions", "connected",
            "created_at", "updated_at"])
        await db.copy_records_to_table("connectors", records=connectors, columns=[
            "charge_point_id", "connector_id", "status", "error_code", "status_at", "updated_at"])
        await db.copy_records_to_table("id_tags", records=[(*r, 1) for r in tags], columns=[
            "id_tag", "status", "parent_id_tag", "created_at", "updated_at", "max_active_transactions"])
        sessions = 0
        for rows, transactions in year(charge_points, days, zone):
            for table, values in rows.items():
                await db.copy_records_to_table(table.name, records=values, columns=[c.name for c in table.columns])
            await db.copy_records_to_table("transactions", records=transactions, columns=TX_COLUMNS)
            sessions += len(transactions)
        for statement in [*copy_statements(copies, sqlite=False), *derived_statements()]:
            await db.execute(statement)
        await db.execute("SELECT setval(pg_get_serial_sequence('transactions', 'id'), (SELECT max(id) FROM transactions))")
        await db.execute("VACUUM ANALYZE")
        return sessions
    finally:
        await db.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--charge-points", type=int, default=1000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--time-zone", default="UTC", help="the server's reports_time_zone (day and month rollups)")
    p.add_argument("--copies", type=int, default=1,
                   help="copies of the charge points written, under new ids (#2, #3, ...): a large network"
                        " from the CPU time of a small one")
    a = p.parse_args()
    t0 = time.monotonic()
    if a.database_url.startswith("sqlite:///"):
        sessions = fill_sqlite(Path(a.database_url.removeprefix("sqlite:///")), a.charge_points, a.days, a.time_zone,
                               a.copies)
    else:
        history.migrate(a.database_url)
        sessions = asyncio.run(_fill_postgres(a.database_url, a.charge_points, a.days, a.time_zone, a.copies))
    print(f"{a.charge_points} x {a.copies} charge points, {a.days} days, {sessions * a.copies:,} sessions"
          f" in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
