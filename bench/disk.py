"""Bytes on disk of a Voltline database's message log and meter readings, per logged frame and
per reading, indexes included (SQLite: dbstat; PostgreSQL: pg_total_relation_size).

    python bench/disk.py sqlite:////path/voltline.db
    python bench/disk.py postgresql://postgres@127.0.0.1:5432/NAME

Run it on the database of a bench run (`--database-url`, with `--keep-database` on PostgreSQL).
For a compressed log (migration 0018 on) it also splits the log's bytes into the compressed
bodies per frame and the rest (row, indexes, free space) per batch. The meter readings' bytes
include their shape sets (migration 0020 on).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from dataclasses import dataclass


@dataclass
class Sizes:
    log_bytes: int
    frames: int
    batches: int
    body_bytes: int | None  # the compressed bodies alone (None: the log of before 0018)
    meter_bytes: int
    readings: int

    def lines(self) -> list[str]:
        out = [
            f"message log: {self.log_bytes / 1e6:.1f} MB, {self.frames:,} frames in {self.batches:,} batches"
            f" ({self.frames / max(self.batches, 1):.1f} a batch): {self.log_bytes / max(self.frames, 1):.1f} bytes a frame",
            f"meter readings: {self.meter_bytes / 1e6:.1f} MB, {self.readings:,} readings:"
            f" {self.meter_bytes / max(self.readings, 1):.1f} bytes a reading",
        ]
        if self.body_bytes is not None:
            out.insert(1, f"  bodies {self.body_bytes / max(self.frames, 1):.1f} bytes a frame, the rest"
                          f" {(self.log_bytes - self.body_bytes) / max(self.batches, 1):.0f} bytes a batch")
        return out


def sqlite_sizes(path: str) -> Sizes:
    db = sqlite3.connect(path)
    pages = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    one = lambda sql: db.execute(sql).fetchone()[0] or 0  # noqa: E731
    columns = {row[1] for row in db.execute("PRAGMA table_info(message_batches)")}
    return Sizes(
        log_bytes=sum(v for k, v in pages.items() if "message_batches" in k or "message_dictionaries" in k),
        frames=one("SELECT sum(frame_count) FROM message_batches"),
        batches=one("SELECT count(*) FROM message_batches"),
        body_bytes=one("SELECT sum(length(body)) FROM message_batches") if "body" in columns else None,
        meter_bytes=sum(v for k, v in pages.items() if "meter_readings" in k or "meter_shape" in k),
        readings=one("SELECT count(*) FROM meter_readings"),
    )


async def postgres_sizes(url: str) -> Sizes:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        await db.execute("VACUUM ANALYZE message_batches")  # the visibility map and statistics only
        compressed = await db.fetchval("SELECT to_regclass('message_dictionaries') IS NOT NULL")
        log_bytes = await db.fetchval("SELECT pg_total_relation_size('message_batches')")
        if compressed:
            log_bytes += await db.fetchval("SELECT pg_total_relation_size('message_dictionaries')")
        return Sizes(
            log_bytes=log_bytes,
            frames=await db.fetchval("SELECT coalesce(sum(frame_count), 0) FROM message_batches"),
            batches=await db.fetchval("SELECT count(*) FROM message_batches"),
            body_bytes=await db.fetchval("SELECT sum(length(body)) FROM message_batches") if compressed else None,
            meter_bytes=await db.fetchval(
                "SELECT sum(pg_total_relation_size(c))::bigint FROM unnest(ARRAY['meter_readings', 'meter_shapes',"
                " 'meter_shape_sets']) AS c WHERE to_regclass(c) IS NOT NULL"
            ),
            readings=await db.fetchval("SELECT count(*) FROM meter_readings"),
        )
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    url = parser.parse_args().database_url
    if url.startswith("sqlite:"):
        sizes = sqlite_sizes(url.split(":///", 1)[1])
    else:
        sizes = asyncio.run(postgres_sizes(url))
    print("\n".join(sizes.lines()))


if __name__ == "__main__":
    main()
