"""The message log keeps `message_log_retention_days`: a starting server drops the batches whose
every frame is older (and again every hour), and keeps the rest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.conftest import ServerFactory
from tests.logged_frames import store_frames
from voltline.store import tables as t


async def _log(server, identity: str) -> None:  # type: ignore[no-untyped-def]
    log = server.services.message_log
    log.record(identity, "in", 2, f"{identity}-1", "Heartbeat", f'[2,"{identity}-1","Heartbeat",{{}}]')
    flushing = log.flush()
    if flushing is not None:
        await flushing
    await server.store.write()


async def test_a_starting_server_prunes_past_the_retention_and_keeps_the_rest(start_server: ServerFactory) -> None:
    first = await start_server(message_log_retention_days=30)
    await _log(first, "CP-OLD")
    await _log(first, "CP-NEW")
    b = t.message_batches.c
    long_ago = datetime.now(UTC) - timedelta(days=31)
    await first.store.write(
        lambda conn: conn.execute(
            t.message_batches.update().where(b.charge_point_id == "CP-OLD").values(first_at=long_ago, last_at=long_ago)
        )
    )
    await first.store.write()
    await first.stop()

    second = await start_server(message_log_retention_days=30)
    for _ in range(200):  # the pruning pass runs as the server starts
        async with second.store.read() as conn:
            kept = (await conn.execute(sa.select(b.charge_point_id))).scalars().all()
        if "CP-OLD" not in kept:
            break
        await asyncio.sleep(0.05)
    assert sorted(kept) == ["CP-NEW"]
    assert [f.charge_point_id for f in await store_frames(second.store)] == ["CP-NEW"]
