"""Pooled PostgreSQL connections: one dropped while idle is replaced before anyone uses it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import postgres_admin
from voltline.store.database import create_engine

pytestmark = pytest.mark.usefixtures("postgres_database")


async def _backend_pid(engine: sa.ext.asyncio.AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT pg_backend_pid()")))


async def test_a_connection_dropped_while_idle_is_replaced(postgres_database: str) -> None:
    engine = create_engine(postgres_database, pool_size=1, ping_idle_after=0.0)
    try:
        before = await _backend_pid(engine)
        await postgres_admin(f"SELECT pg_terminate_backend({before})")
        assert await _backend_pid(engine) != before  # no error: the check found it gone
    finally:
        await engine.dispose()


async def test_a_recently_used_connection_is_not_checked_but_its_failure_heals_the_pool(
    postgres_database: str,
) -> None:
    engine = create_engine(postgres_database, pool_size=1, ping_idle_after=3600.0)
    try:
        before = await _backend_pid(engine)
        await postgres_admin(f"SELECT pg_terminate_backend({before})")
        with pytest.raises(sa.exc.DBAPIError):
            await _backend_pid(engine)  # used moments ago: not checked, so this use fails
        assert await _backend_pid(engine) != before  # and the pool connected afresh
    finally:
        await engine.dispose()
