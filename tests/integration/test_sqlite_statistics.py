"""SQLite's planner statistics (sqlite_stat1) are kept by the server and refreshed after a
migration and a rollups rebuild: without them SQLite's planner picks indexes blindly on the big
tables."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from voltline.app import Voltline
from voltline.config import Settings


def _voltline(database: Path, *args: str) -> None:
    env = {**os.environ, "VOLTLINE_DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run([str(Path(sys.executable).parent / "voltline"), *args],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _with_tags(database: Path, count: int = 500) -> None:
    _voltline(database, "migrate")
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "INSERT INTO id_tags (id_tag, status, parent_id_tag, created_at, updated_at, max_active_transactions)"
            " VALUES (?, 'Accepted', ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)",
            [(f"TAG-{i:04d}", f"PARENT-{i % 10}") for i in range(count)],
        )


def _statistics(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as conn:
        if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone() is None:
            return {}
        return {f"{tbl}.{idx}": stat for tbl, idx, stat in conn.execute("SELECT tbl, idx, stat FROM sqlite_stat1")}


async def test_the_server_analyzes_the_tables_it_finds_without_statistics(tmp_path: Path) -> None:
    database = tmp_path / "v.db"
    await asyncio.to_thread(_with_tags, database)
    assert not any(key.startswith("id_tags.") for key in _statistics(database))
    server = Voltline(Settings(database_url=f"sqlite:///{database}", host="127.0.0.1", port=0,
                               ocpp_host="127.0.0.1", ocpp_port=0, node_id=f"test-{uuid.uuid4().hex[:6]}"))
    await server.start()
    try:
        deadline = time.monotonic() + 20
        while not any(key.startswith("id_tags.") for key in _statistics(database)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await server.stop()
    stats = {key: stat for key, stat in _statistics(database).items() if key.startswith("id_tags.")}
    assert stats, "the server never analyzed id_tags"
    # The table's rows, as ANALYZE counted them (sampled: about 500).
    assert all(int(stat.split()[0]) > 100 for stat in stats.values()), stats


async def test_a_rebuild_of_the_rollups_refreshes_the_statistics(tmp_path: Path) -> None:
    database = tmp_path / "v.db"
    await asyncio.to_thread(_with_tags, database)
    assert not any(key.startswith("id_tags.") for key in _statistics(database))
    await asyncio.to_thread(_voltline, database, "reports", "rebuild")
    stats = _statistics(database)
    assert any(key.startswith("id_tags.") and int(stat.split()[0]) > 100 for key, stat in stats.items()), stats
