"""SQLite's planner statistics (sqlite_stat1), kept fresh the way SQLite recommends.

Without them SQLite's planner guesses every index alike, and on the big tables it picked the
wrong one (a report walked every transaction by `started_at`). `PRAGMA optimize` with an
`analysis_limit` keeps them up to date at a bounded cost: each index is sampled, not read."""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger("voltline.store")

# Rows of each index ANALYZE looks at (SQLite suggests a few hundred to a thousand): tens of
# milliseconds whatever a table's size.
ANALYSIS_LIMIT = 1000


def _never_analyzed(conn: sqlite3.Connection) -> list[str]:
    """Tables with an index but no statistics. PRAGMA optimize analyzes them only from SQLite
    3.46; before, only the tables whose statistics this connection's own queries used."""
    indexed = [name for (name,) in conn.execute(
        "SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'index' AND tbl_name NOT LIKE 'sqlite_%'"
    )]
    has_stats = conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone() is not None
    analyzed = {name for (name,) in conn.execute("SELECT DISTINCT tbl FROM sqlite_stat1")} if has_stats else set()
    return [name for name in indexed if name not in analyzed]


def refresh_statistics(conn: sqlite3.Connection, everything: bool = False,
                       limit: int = ANALYSIS_LIMIT) -> list[str]:
    """Analyze, sampling `limit` rows of each index, the tables that have no statistics yet (all
    of them if `everything`: after a bulk change, a rebuild or a migration), then `PRAGMA
    optimize` for those whose size changed much since. Returns the tables analyzed here."""
    conn.execute(f"PRAGMA analysis_limit={int(limit)}")
    tables = [name for (name,) in conn.execute(
        "SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'index' AND tbl_name NOT LIKE 'sqlite_%'"
    )] if everything else _never_analyzed(conn)
    for name in tables:
        conn.execute('ANALYZE "{}"'.format(name.replace('"', '""')))
    conn.execute("PRAGMA optimize=0x10002")
    if conn.in_transaction:
        conn.commit()
    return tables


def refresh_statistics_at(path: str, everything: bool = False) -> list[str]:
    """refresh_statistics on a connection of its own to the database file at `path`."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        return refresh_statistics(conn, everything)
    finally:
        conn.close()
