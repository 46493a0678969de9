"""The SQLite WAL is copied back into the database file by a thread, not inside commits."""

import sqlite3
import time
from pathlib import Path

from voltline.store.database import _Checkpointer


def _wal_frames(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_wal_is_checkpointed_and_started_over_while_writes_go_on(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the server's writer: never in a commit
    writer.execute("CREATE TABLE t (x TEXT)")
    size_before = path.stat().st_size
    checkpointer = _Checkpointer(str(path), interval=0.02, restart_frames=50)
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size <= size_before * 4 and time.monotonic() < deadline:
            writer.execute("INSERT INTO t VALUES (?)", ("x" * 4000,))
        assert path.stat().st_size > size_before * 4, "the WAL never reached the database file"
        # Writes keep coming in bursts, as group commits do, yet the WAL is started over instead
        # of growing without end: it ends far shorter than all that was written through it.
        for _ in range(40):
            for _ in range(50):
                writer.execute("INSERT INTO t VALUES (?)", ("y" * 4000,))
            time.sleep(0.01)
        assert _wal_frames(path) < 2000
    finally:
        checkpointer.stop()
        writer.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone()[0] >= 2000


def test_no_thread_for_an_in_memory_database() -> None:
    checkpointer = _Checkpointer(":memory:")
    assert checkpointer._thread is None
    checkpointer.stop()


async def test_the_servers_writer_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    from voltline.store.database import Store

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
