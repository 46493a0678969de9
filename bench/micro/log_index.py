"""What an index on the message log costs per inserted row, on SQLite.

(This measures the row-per-frame log that migrations 0001-0004 built; since 0005 the log keeps
a batch of frames per row, `message_batches`, with the block-led index measured here.)

The log takes rows from every connected charge point at once, in group commits. An index led by
the charge point puts each new row at a random place in its B-tree, so every commit dirties
about one index page per charge point in the batch; one led by the row's block of ids
(`id >> 12`, as `voltline.store.tables.message_block`) puts them in the few newest pages.

    python bench/micro/log_index.py              # all variants, 6,000- and 1,000-row commits
    python bench/micro/log_index.py --rows 300000 --charge-points 19800

Prints microseconds per row for each variant and commit size (run it pinned, e.g. taskset -c 0).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "created_at only": [],
    "+ (charge_point_id, id)": ["CREATE INDEX ix_cp ON messages (charge_point_id, id)"],
    "+ (id >> 12, charge_point_id, id)": ["CREATE INDEX ix_block ON messages ((id >> 12), charge_point_id, id)"],
}
PAYLOAD = (
    '[2,"%s","MeterValues",{"connectorId":1,"transactionId":12,"meterValue":[{"timestamp":'
    '"2026-12-01T08:00:00.000Z","sampledValue":[{"value":"1234.5","measurand":'
    '"Energy.Active.Import.Register","unit":"Wh"}]}]}]'
)


def measure(path: Path, indexes: list[str], rows: int, commit_rows: int, charge_points: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "wal_autocheckpoint=0"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, charge_point_id VARCHAR(255) NOT NULL,"
        " direction VARCHAR(3) NOT NULL, message_type SMALLINT NOT NULL, message_id VARCHAR(64),"
        " action VARCHAR(64), error_code VARCHAR(40), payload TEXT NOT NULL, created_at DATETIME NOT NULL)"
    )
    conn.execute("CREATE INDEX ix_created_at ON messages (created_at)")
    for statement in indexes:
        conn.execute(statement)
    per_statement = 100
    insert = (
        "INSERT INTO messages (charge_point_id, direction, message_type, message_id, action, error_code,"
        " payload, created_at) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * per_statement)
    )
    rng = random.Random(1)
    written = 0
    elapsed = 0.0
    while written < rows:
        batch = []
        for n in range(written, written + commit_rows):
            message_id = f"m{n}"
            stamp = f"2026-12-01 08:{n // 60_000 % 60:02d}:{n % 60_000 / 1000:09.6f}"
            identity = f"BENCH-{rng.randrange(charge_points):05d}"
            batch.append((identity, "in", 2, message_id, "MeterValues", None, PAYLOAD % message_id, stamp))
        flat = [value for row in batch for value in row]
        width = 8 * per_statement
        started = time.perf_counter()
        conn.execute("BEGIN")
        for start in range(0, len(flat), width):
            conn.execute(insert, flat[start:start + width])
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - started
        written += commit_rows
        if written % (commit_rows * 20) == 0:
            started = time.perf_counter()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # as the server's checkpoint thread
            elapsed += time.perf_counter() - started
    conn.close()
    return elapsed / written * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=180_000)
    parser.add_argument("--charge-points", type=int, default=1000)
    parser.add_argument("--commit-rows", default="6000,1000", help="comma list of rows per commit")
    args = parser.parse_args()
    for commit_rows in (int(n) for n in args.commit_rows.split(",")):
        for name, indexes in VARIANTS.items():
            with tempfile.TemporaryDirectory() as folder:
                us = measure(Path(folder) / "log.db", indexes, args.rows, commit_rows, args.charge_points)
            print(f"{commit_rows:>6} rows/commit  {name:<36} {us:6.2f} us/row")


if __name__ == "__main__":
    main()
