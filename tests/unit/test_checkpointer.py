"""The SQLite WAL is copied back into the database file by a thread, not inside commits."""

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from voltline.store.database import Store
from voltline.store.sqlite_writer import Checkpointer


def _wal_frames(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


async def test_wal_is_checkpointed_and_started_over_while_writes_go_on(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    store = Store(f"sqlite:///{path}")
    writer = store._sqlite_writer
    assert writer is not None
    checkpointer = writer._checkpointer
    checkpointer._interval, checkpointer.rewind_frames = 0.02, 50
    rewinds = 0
    rewind = checkpointer.rewind

    def counted(conn: Any) -> None:
        nonlocal rewinds
        rewinds += 1
        rewind(conn)

    checkpointer.rewind = counted  # type: ignore[method-assign]

    async def insert(rows: int, text: str) -> None:
        await store.write(lambda conn: conn.exec_driver_sql(
            "INSERT INTO t VALUES " + ",".join(["(?)"] * rows), tuple([text] * rows)
        ))

    try:
        await store.write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x TEXT)"))
        size_before = path.stat().st_size
        deadline = time.monotonic() + 10
        while path.stat().st_size <= size_before * 4 and time.monotonic() < deadline:
            await insert(10, "x" * 4000)
            await asyncio.sleep(0.001)
        assert path.stat().st_size > size_before * 4, "the WAL never reached the database file"
        # Writes keep coming in bursts, as group commits do, yet the WAL is started over instead
        # of growing without end: it ends far shorter than all that was written through it.
        for _ in range(40):
            await insert(50, "y" * 4000)
            await asyncio.sleep(0.01)
        assert rewinds > 0
        assert _wal_frames(path) < 1000
    finally:
        await store.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone()[0] >= 2000


def test_no_thread_for_an_in_memory_database() -> None:
    checkpointer = Checkpointer(":memory:")
    assert checkpointer._thread is None
    checkpointer.stop()


async def test_the_servers_writer_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        writer = store._sqlite_writer
        assert writer is not None and writer._checkpointer._thread is not None
        with writer.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        with writer.reader.connect() as conn:  # readers keep SQLite's default; they never write
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        await store.close()


def test_a_statistics_pass_that_failed_is_tried_again_soon(tmp_path: Path, monkeypatch: Any) -> None:
    """The first pass can meet a schema that a migration is changing; it is not put off an hour."""
    import voltline.store.sqlite_writer as sqlite_writer

    path = tmp_path / "s.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("CREATE INDEX ix_t ON t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(100)])
    failures = iter([sqlite3.OperationalError("no such table: messages")])
    real = sqlite_writer.refresh_statistics

    def once_failing(conn: sqlite3.Connection, everything: bool = False) -> list[str]:
        for error in failures:
            raise error
        return real(conn, everything)

    monkeypatch.setattr(sqlite_writer, "refresh_statistics", once_failing)
    monkeypatch.setattr(sqlite_writer, "STATS_RETRY_S", 0.05)
    checkpointer = Checkpointer(str(path), interval=0.02)
    try:
        deadline = time.monotonic() + 10
        while checkpointer.statistics_refreshed == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpointer.statistics_refreshed >= 1
    finally:
        checkpointer.stop()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 't'").fetchone()[0] == 1


async def test_a_stores_statistics_wait_until_its_schema_is_ready(tmp_path: Path) -> None:
    """While the server migrates, a migration may be replacing the tables a pass would analyze:
    the store's checkpointer keeps no statistics until it is told the schema is ready."""
    path = tmp_path / "r.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("CREATE INDEX ix_t ON t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(100)])
    store = Store(f"sqlite:///{path}")
    writer = store._sqlite_writer
    assert writer is not None
    checkpointer = writer._checkpointer
    checkpointer._interval = 0.02
    try:
        await asyncio.sleep(0.3)  # many of its turns
        assert checkpointer.statistics_refreshed == 0
        store.schema_ready()
        deadline = time.monotonic() + 10
        while checkpointer.statistics_refreshed == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert checkpointer.statistics_refreshed >= 1
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 't'").fetchone()[0] == 1
