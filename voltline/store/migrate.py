"""Apply the Alembic migrations that ship inside the package (`voltline migrate`, and `serve` on start)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from voltline.store.sqlite_stats import refresh_statistics_at

_MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutdated(RuntimeError):
    pass


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest schema."""

    def run(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(run)
    await refresh_sqlite_statistics(engine.url)


async def refresh_sqlite_statistics(url: sa.URL) -> None:
    """On a SQLite file, analyze every table (sampled: sqlite_stats) after a bulk change (a
    migration that filled tables, a rollups rebuild), in a thread. PostgreSQL's autovacuum
    analyzes changed tables by itself."""
    path = url.database or ""
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file::memory:"):
        return
    await asyncio.to_thread(refresh_statistics_at, path, True)


async def ensure_schema(engine: AsyncEngine) -> str:
    """On an empty database create the schema; on an outdated one refuse, because migrating a
    production database is an operator's decision (`voltline migrate`)."""

    def current(connection: Connection) -> tuple[str | None, bool]:
        revision = MigrationContext.configure(connection).get_current_revision()
        has_tables = bool(sa.inspect(connection).get_table_names())
        return revision, has_tables

    async with engine.connect() as connection:
        revision, has_tables = await connection.run_sync(current)
    head = _head()
    if revision == head:
        return "current"
    if revision is None and not has_tables:
        await upgrade(engine)
        return "created"
    raise SchemaOutdated(
        f"the database schema is at {revision or 'an unknown version'}, this Voltline needs {head}: "
        "run `voltline migrate` first"
    )
