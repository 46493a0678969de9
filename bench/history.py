"""A Voltline database with a long history: 10 M sampled values, their transactions, a message log.

The heavy-read scenario needs the tables an operator's big reads grow with; filling them through
OCPP would take hours, so the rows are written directly (executemany on SQLite, COPY on
PostgreSQL) in today's schema, which `voltline migrate` creates first:

    python bench/history.py --database-url sqlite:////tmp/history.db
    python bench/history.py --database-url postgresql://postgres@127.0.0.1:5432/test

`run.py` keeps the result, keyed by the schema's migrations and this file's parameters: a SQLite
file under bench/.cache/ (copied for each run), a PostgreSQL template database (each run's
database is created from it). Either is rebuilt when the schema changes or the history would be
older than the message log's retention.

The history: `--charge-points` charge points (the generator's identities, BENCH-00001, ...),
each on connector 1 charging in sessions of `--readings-per-session` readings a minute apart
(each reading the four sampled values of the generator's MeterValues: energy, power, current,
voltage) with as long a pause between sessions, all charge points at once, ending an hour ago;
and the last `--frames` frames of the message log (Heartbeat and MeterValues with their answers,
in batches of `--frames-per-batch` frames of one charge point).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import zstandard

BENCH = Path(__file__).resolve().parent
FORMAT = 3  # bump when the rows written here change, so cached histories are rebuilt
MAX_AGE = timedelta(days=20)  # the log's retention is 30 days: older batches would be pruned
PREFIX = "BENCH-"  # the load generator's identities
ID_TAG = "BENCHTAG"
SAMPLES_PER_READING = 4

# A reading as services.meter_values.readings stores the generator's first four sampled values
# (tests/unit/test_bench_history.py holds it to that): their shape set, stored first with id
# SHAPE_SET_ID, and their values, %d the energy register in Wh.
_PERIODIC = ("Sample.Periodic", "Outlet", "Raw", 1.0, 1.0)
SHAPES = (
    ("Wh", "Wh", "Energy.Active.Import.Register", None, *_PERIODIC),
    ("W", "W", "Power.Active.Import", None, *_PERIODIC),
    ("A", "A", "Current.Import", "L1", *_PERIODIC),
    ("V", "V", "Voltage", "L1-N", *_PERIODIC),
)
SHAPE_FIELDS = ("set_id", "position", "unit", "raw_unit", "measurand", "phase", "context", "location", "format",
                "multiplier", "factor")
SHAPE_SET_ID = 1
_READING = "[%d,7360,32.0,230.0]"
# The same MeterValues as the generator sends it (the message log keeps frames verbatim).
_METER_VALUES = (
    '{"connectorId":1,"transactionId":%d,"meterValue":[{"timestamp":"%s","sampledValue":['
    '{"value":"%d","measurand":"Energy.Active.Import.Register","unit":"Wh","context":"Sample.Periodic","location":"Outlet"},'
    '{"value":"7360","measurand":"Power.Active.Import","unit":"W","context":"Sample.Periodic","location":"Outlet"},'
    '{"value":"32.0","measurand":"Current.Import","unit":"A","phase":"L1","context":"Sample.Periodic","location":"Outlet"},'
    '{"value":"230.0","measurand":"Voltage","unit":"V","phase":"L1-N","context":"Sample.Periodic","location":"Outlet"}]}]}'
)
WH_PER_MINUTE = 7360 // 60


class Plan:
    """What to write, derived from the options; `key` names one history."""

    def __init__(self, sampled_values: int, charge_points: int, readings_per_session: int, frames: int,
                 frames_per_batch: int, end: datetime | None = None) -> None:
        self.sampled_values = sampled_values
        self.charge_points = charge_points
        self.readings_per_session = readings_per_session
        self.frames = frames
        self.frames_per_batch = frames_per_batch
        self.readings = sampled_values // SAMPLES_PER_READING
        per_cp = -(-self.readings // charge_points)
        # A session, then a pause as long, staggered over the charge points.
        self.minutes = 2 * per_cp + 2 * readings_per_session
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.end = end or now - timedelta(hours=1)
        self.start = self.end - timedelta(minutes=self.minutes)

    @property
    def key(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(migrations().glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        digest.update(repr((FORMAT, self.sampled_values, self.charge_points, self.readings_per_session,
                            self.frames, self.frames_per_batch)).encode())
        return digest.hexdigest()[:12]

    def identity(self, cp: int) -> str:
        return f"{PREFIX}{cp + 1:05d}"


def migrations() -> Path:
    """The migrations of the voltline the benchmark's server runs (the installed one, imported
    from a neutral directory as the server is, not necessarily this checkout's)."""
    out = subprocess.run(
        [sys.executable, "-c", "import pathlib, voltline; print(pathlib.Path(voltline.__file__).parent)"],
        cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    return Path(out) / "store" / "migrations" / "versions"


def _sqlite_text(at: datetime) -> str:
    """SQLAlchemy's DATETIME text on SQLite (tables.UTCDateTime): 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return at.isoformat(" ", "microseconds")[:26]


def sessions_and_readings(plan: Plan) -> tuple[list[tuple], Iterator[tuple]]:
    """(transactions, readings): transactions as (id, charge point, started, stopped, meter start,
    meter stop) with datetimes; readings as meter_readings rows (charge point, connector,
    transaction, timestamp text, shape set id, values JSON) in time order, as the server writes them."""
    n, length = plan.charge_points, plan.readings_per_session
    period = 2 * length
    transactions: list[tuple] = []
    open_tx: dict[int, list] = {}  # cp → [id, started, meter start]
    meter = [1000 * (cp + 1) for cp in range(n)]

    def readings() -> Iterator[tuple]:
        written = 0
        for minute in range(plan.minutes):
            at = plan.start + timedelta(minutes=minute)
            text = _sqlite_text(at)
            for cp in range(n):
                phase = (minute + cp * period // n) % period
                if phase == 0 and written < plan.readings:
                    tx_id = len(transactions) + len(open_tx) + 1
                    open_tx[cp] = [tx_id, at, meter[cp]]
                if cp not in open_tx:
                    continue
                tx = open_tx[cp]
                if phase >= length or written >= plan.readings:
                    transactions.append((tx[0], plan.identity(cp), tx[1], at, tx[2], meter[cp]))
                    del open_tx[cp]
                    continue
                meter[cp] += WH_PER_MINUTE
                written += 1
                yield plan.identity(cp), 1, tx[0], text, SHAPE_SET_ID, _READING % meter[cp]
        at = plan.start + timedelta(minutes=plan.minutes)
        for cp, tx in sorted(open_tx.items()):
            transactions.append((tx[0], plan.identity(cp), tx[1], at, tx[2], meter[cp]))
        open_tx.clear()
        transactions.sort()

    return transactions, readings()


def message_batches(plan: Plan) -> Iterator[tuple]:
    """message_batches rows (charge point, first at, last at, frame count, body, dictionary id),
    the frames in the order of tables.FRAME_FIELDS as JSON compressed without a dictionary (the
    server trains its own on what it logs), over the last minutes of the history."""
    pack = zstandard.ZstdCompressor(level=3, write_checksum=False, write_content_size=True).compress
    per_batch = plan.frames_per_batch - plan.frames_per_batch % 4 or 4
    batches = -(-plan.frames // per_batch)
    seq = 0
    for b in range(batches):
        cp = b % plan.charge_points
        # Batches spread evenly over the last `batches / charge points` minutes, oldest first.
        first = plan.end - timedelta(minutes=(batches - b) / plan.charge_points)
        frames = []
        for k in range(per_batch // 4):
            at = first + timedelta(milliseconds=4 * k)
            text, iso = _sqlite_text(at), at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            seq += 2
            hb, mv = str(seq - 1), str(seq)
            energy = 1000 * (cp + 1) + seq
            frames += [
                (text, "in", 2, hb, "Heartbeat", None, f'[2,"{hb}","Heartbeat",{{}}]'),
                (text, "out", 3, hb, "Heartbeat", None, f'[3,"{hb}",{{"currentTime":"{iso}"}}]'),
                (text, "in", 2, mv, "MeterValues", None,
                 f'[2,"{mv}","MeterValues",{_METER_VALUES % (b + 1, iso, energy)}]'),
                (text, "out", 3, mv, "MeterValues", None, f'[3,"{mv}",{{}}]'),
            ]
        last = first + timedelta(milliseconds=4 * (per_batch // 4 - 1))
        yield plan.identity(cp), first, last, len(frames), pack(orjson.dumps(frames)), None


# ------------------------------------------------------------------ writing


def migrate(database_url: str) -> None:
    exe = Path(sys.executable).parent / "voltline"
    env = dict(os.environ, VOLTLINE_DATABASE_URL=database_url)
    subprocess.run([str(exe), "migrate"], env=env, check=True, capture_output=True, timeout=600)


def fill_sqlite(path: Path, plan: Plan, say=print) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrate(f"sqlite:///{path}")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    # Indexes built once at the end, as the migrations defined them, instead of row by row.
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        " AND tbl_name IN ('meter_readings','message_batches','transactions')"
    ).fetchall()
    db.execute("BEGIN")
    for name, _ in indexes:
        db.execute(f'DROP INDEX "{name}"')
    now = _sqlite_text(datetime.now(UTC))
    db.executemany(
        "INSERT INTO charge_points (id, registration_status, vendor, model, lenient_actions, connected,"
        " created_at, updated_at) VALUES (?, 'Accepted', 'Voltline', 'BenchCP', '[]', 0, ?, ?)",
        [(plan.identity(cp), now, now) for cp in range(plan.charge_points)],
    )
    transactions, readings = sessions_and_readings(plan)
    t0 = time.monotonic()
    db.execute("INSERT INTO meter_shape_sets (id, digest, definition) VALUES (?, ?, ?)",
               (SHAPE_SET_ID, hashlib.sha256(orjson.dumps(SHAPES)).hexdigest(), orjson.dumps(SHAPES).decode()))
    db.executemany(f"INSERT INTO meter_shapes ({', '.join(SHAPE_FIELDS)}) VALUES ({', '.join('?' * len(SHAPE_FIELDS))})",
                   [(SHAPE_SET_ID, i, *shape) for i, shape in enumerate(SHAPES)])
    db.executemany(
        "INSERT INTO meter_readings (charge_point_id, connector_id, transaction_id, timestamp, shape_set_id, samples)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        readings,
    )
    say(f"  meter readings: {plan.readings:,} ({plan.readings * SAMPLES_PER_READING:,} sampled values)"
        f" in {time.monotonic() - t0:.0f} s")
    db.executemany(
        "INSERT INTO transactions (id, charge_point_id, connector_id, id_tag, id_tag_status, meter_start,"
        " meter_stop, started_at, stopped_at, stop_reason, stop_id_tag, created_at)"
        " VALUES (?, ?, 1, ?, 'Accepted', ?, ?, ?, ?, 'Local', ?, ?)",
        [(i, cp, ID_TAG, m0, m1, _sqlite_text(a), _sqlite_text(b), ID_TAG, _sqlite_text(a))
         for i, cp, a, b, m0, m1 in transactions],
    )
    say(f"  transactions: {len(transactions):,}")
    db.executemany(
        "INSERT INTO message_batches (charge_point_id, first_at, last_at, frame_count, body, dictionary_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        ((cp, _sqlite_text(a), _sqlite_text(b), n, body, d) for cp, a, b, n, body, d in message_batches(plan)),
    )
    say(f"  message log: {plan.frames:,} frames")
    t0 = time.monotonic()
    for _, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    say(f"  indexes in {time.monotonic() - t0:.0f} s")
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode=WAL")  # what the server sets; the file stays one file when closed
    db.close()


def _copy_text(rows: Iterator[tuple], timestamps: tuple[int, ...]) -> Iterator[bytes]:
    """Rows as COPY text lines; no value here holds a tab, newline or backslash."""
    chunk: list[str] = []
    for row in rows:
        values = list(row)
        for i in timestamps:
            values[i] = f"{values[i]}+00"
        chunk.append("\t".join("\\N" if v is None else str(v) for v in values))
        if len(chunk) >= 20_000:
            yield ("\n".join(chunk) + "\n").encode()
            chunk = []
    if chunk:
        yield ("\n".join(chunk) + "\n").encode()


async def _fill_postgres(url: str, plan: Plan, say) -> None:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        indexes = await db.fetch(
            # Not the indexes of constraints (primary and unique keys): those stay.
            "SELECT i.indexname, i.indexdef FROM pg_indexes AS i WHERE i.schemaname = current_schema()"
            " AND i.tablename IN ('meter_readings','message_batches','transactions')"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c"
            " WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"
        )
        for row in indexes:
            await db.execute(f'DROP INDEX "{row["indexname"]}"')
        now = datetime.now(UTC)
        await db.executemany(
            "INSERT INTO charge_points (id, registration_status, vendor, model, lenient_actions, connected,"
            " created_at, updated_at) VALUES ($1, 'Accepted', 'Voltline', 'BenchCP', '[]', false, $2, $2)",
            [(plan.identity(cp), now) for cp in range(plan.charge_points)],
        )
        transactions, readings = sessions_and_readings(plan)
        t0 = time.monotonic()

        async def source() -> AsyncIterator[bytes]:
            for block in _copy_text(readings, (3,)):
                yield block

        await db.execute("INSERT INTO meter_shape_sets (id, digest, definition) VALUES ($1, $2, $3)",
                         SHAPE_SET_ID, hashlib.sha256(orjson.dumps(SHAPES)).hexdigest(), orjson.dumps(SHAPES).decode())
        await db.execute("SELECT setval(pg_get_serial_sequence('meter_shape_sets', 'id'), $1)", SHAPE_SET_ID)
        await db.copy_records_to_table("meter_shapes", records=[(SHAPE_SET_ID, i, *shape) for i, shape in enumerate(SHAPES)],
                                       columns=list(SHAPE_FIELDS))
        await db.copy_to_table(
            "meter_readings", source=source(),
            columns=["charge_point_id", "connector_id", "transaction_id", "timestamp", "shape_set_id", "samples"],
        )
        say(f"  meter readings: {plan.readings:,} ({plan.readings * SAMPLES_PER_READING:,} sampled values)"
            f" in {time.monotonic() - t0:.0f} s")
        await db.copy_records_to_table(
            "transactions",
            records=[(i, cp, 1, ID_TAG, "Accepted", m0, m1, a, b, "Local", ID_TAG, a)
                     for i, cp, a, b, m0, m1 in transactions],
            columns=["id", "charge_point_id", "connector_id", "id_tag", "id_tag_status", "meter_start",
                     "meter_stop", "started_at", "stopped_at", "stop_reason", "stop_id_tag", "created_at"],
        )
        await db.execute(
            "SELECT setval(pg_get_serial_sequence('transactions', 'id'), (SELECT max(id) FROM transactions))"
        )
        say(f"  transactions: {len(transactions):,}")
        await db.copy_records_to_table(
            "message_batches", records=list(message_batches(plan)),
            columns=["charge_point_id", "first_at", "last_at", "frame_count", "body", "dictionary_id"],
        )
        say(f"  message log: {plan.frames:,} frames")
        t0 = time.monotonic()
        for row in indexes:
            await db.execute(row["indexdef"])
        await db.execute("VACUUM ANALYZE")
        say(f"  indexes and VACUUM ANALYZE in {time.monotonic() - t0:.0f} s")
    finally:
        await db.close()


def fill_postgres(url: str, plan: Plan, say=print) -> None:
    migrate(url)
    asyncio.run(_fill_postgres(url, plan, say))


# ------------------------------------------------------------------ the cache run.py uses


def cached_sqlite(plan: Plan, cache: Path, say=print) -> Path:
    """The SQLite file of this history, built once (older ones of other keys are removed)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"history-{plan.key}.db"
    if path.exists() and datetime.now(UTC) - datetime.fromtimestamp(path.stat().st_mtime, UTC) < MAX_AGE:
        return path
    for old in cache.glob("history-*.db"):
        old.unlink()
    building = cache / f"history-{plan.key}.building.db"
    say(f"building the history database {path.name} (once per schema) ...")
    t0 = time.monotonic()
    fill_sqlite(building, plan, say)
    building.rename(path)
    say(f"  done in {time.monotonic() - t0:.0f} s, {path.stat().st_size / 2**20:,.0f} MiB")
    return path


def _admin(url: str, statements: list[str]) -> list:
    import asyncpg

    async def run() -> list:
        conn = await asyncpg.connect(url)
        try:
            out = []
            for statement in statements:
                out.append(await conn.fetch(statement))
            return out
        finally:
            await conn.close()

    return asyncio.run(run())


def with_database(url: str, name: str) -> str:
    base, _, rest = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{rest}" if rest else "")


def cached_postgres(plan: Plan, admin_url: str, say=print) -> str:
    """The name of this history's template database on the server of `admin_url`, built once."""
    name = f"voltline_bench_history_{plan.key}"
    building = f"{name}_building"
    [rows] = _admin(admin_url, [
        "SELECT datname FROM pg_database WHERE datname LIKE 'voltline\\_bench\\_history\\_%'"
    ])
    names = {r["datname"] for r in rows}
    if name in names:
        return name
    stale = [n for n in names if n != name]
    _admin(admin_url, [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in stale])
    say(f"building the history database {name} (once per schema) ...")
    t0 = time.monotonic()
    _admin(admin_url, [f'CREATE DATABASE "{building}"'])
    try:
        fill_postgres(with_database(admin_url, building), plan, say)
    except BaseException:
        _admin(admin_url, [f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'])
        raise
    _admin(admin_url, [f'ALTER DATABASE "{building}" RENAME TO "{name}"'])
    say(f"  done in {time.monotonic() - t0:.0f} s")
    return name


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history-sampled-values", type=int, default=10_000_000, metavar="N",
                   help="heavy-read: sampled values in the history database")
    p.add_argument("--history-charge-points", type=int, default=1000, metavar="N")
    p.add_argument("--history-readings-per-session", type=int, default=60, metavar="N",
                   help="readings (a minute apart) per transaction")
    p.add_argument("--history-frames", type=int, default=1_000_000, metavar="N", help="message log frames")
    p.add_argument("--history-frames-per-batch", type=int, default=20, metavar="N")


def plan_of(a: argparse.Namespace) -> Plan:
    return Plan(a.history_sampled_values, a.history_charge_points, a.history_readings_per_session,
                a.history_frames, a.history_frames_per_batch)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True,
                   help="sqlite:///PATH (made afresh) or postgresql://... (an empty database)")
    add_options(p)
    a = p.parse_args()
    plan = plan_of(a)
    t0 = time.monotonic()
    if a.database_url.startswith("sqlite:///"):
        fill_sqlite(Path(a.database_url.removeprefix("sqlite:///")), plan)
    else:
        fill_postgres(a.database_url, plan)
    print(f"done in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
