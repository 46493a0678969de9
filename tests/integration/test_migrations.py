"""Migrations carry the data along: an older database upgraded (and downgraded) keeps its rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import BACKENDS, POSTGRES_URL, _postgres_unavailable, postgres_admin
from voltline.store import tables as t
from voltline.store.database import create_engine
from voltline.store.migrate import alembic_config

AT = datetime(2026, 11, 30, 12, 0, 0, 250000, tzinfo=UTC)

# meter_values as a table, the way revisions 0001-0003 had it.
_old = sa.MetaData()
old_meter_values = sa.Table(
    "meter_values",
    _old,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("charge_point_id", sa.String(255), nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.Integer),
    sa.Column("timestamp", t.UTCDateTime, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("unit", sa.String(16)),
    sa.Column("raw_value", sa.Text, nullable=False),
    sa.Column("raw_unit", sa.String(16)),
    sa.Column("measurand", sa.String(40), nullable=False),
    sa.Column("phase", sa.String(8)),
    sa.Column("context", sa.String(24), nullable=False),
    sa.Column("location", sa.String(8), nullable=False),
    sa.Column("format", sa.String(12), nullable=False),
)
OLD_ROWS = [
    {"id": 1, "charge_point_id": "CP-1", "connector_id": 1, "transaction_id": 7, "timestamp": AT, "value": 1500.0,
     "unit": "Wh", "raw_value": "1.5", "raw_unit": "kWh", "measurand": "Energy.Active.Import.Register", "phase": None,
     "context": "Sample.Periodic", "location": "Outlet", "format": "Raw"},
    {"id": 2, "charge_point_id": "CP-1", "connector_id": 1, "transaction_id": None, "timestamp": AT, "value": None,
     "unit": "Wh", "raw_value": "signed:abc", "raw_unit": None, "measurand": "Energy.Active.Import.Register",
     "phase": "L1", "context": "Transaction.End", "location": "Outlet", "format": "SignedData"},
]
FIELDS = [c for c in OLD_ROWS[0] if c != "id"]

# messages as a table, the way revisions 0001-0004 had it.
old_messages = sa.Table(
    "messages",
    _old,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("charge_point_id", sa.String(255), nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("message_type", sa.SmallInteger, nullable=False),
    sa.Column("message_id", sa.String(64)),
    sa.Column("action", sa.String(64)),
    sa.Column("error_code", sa.String(40)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", t.UTCDateTime, nullable=False),
)
OLD_MESSAGES = [
    {"id": 1, "charge_point_id": "CP-1", "direction": "in", "message_type": 2, "message_id": "m1",
     "action": "Heartbeat", "error_code": None, "payload": '[2,"m1","Heartbeat",{}]', "created_at": AT},
    {"id": 2, "charge_point_id": "CP-1", "direction": "out", "message_type": 4, "message_id": "m1",
     "action": "Heartbeat", "error_code": "InternalError", "payload": '[4,"m1","InternalError","ü",{}]',
     "created_at": AT.replace(microsecond=999999)},
    {"id": 3, "charge_point_id": "CP-2", "direction": "in", "message_type": 0, "message_id": None,
     "action": None, "error_code": "FormationViolation", "payload": "not json \" at all", "created_at": AT},
]
MESSAGE_FIELDS = [c for c in OLD_MESSAGES[0] if c != "id"]


@pytest.fixture(params=BACKENDS)
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of this test's own, with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"voltline_migration_{uuid.uuid4().hex[:8]}"
    try:
        await postgres_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL means the same
        _postgres_unavailable(str(exc).splitlines()[0])
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(engine: AsyncEngine, url: str, revision: str, *, down: bool = False) -> None:
    def run(connection: sa.Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_meter_values_and_the_message_log_move_into_their_packed_tables_and_back(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0003")
        async with engine.begin() as conn:
            await conn.execute(old_meter_values.insert(), OLD_ROWS)
            await conn.execute(old_messages.insert(), OLD_MESSAGES)

        await _migrate(engine, empty_database, "head")
        async with engine.connect() as conn:
            readings = (await conn.execute(sa.select(sa.func.count()).select_from(t.meter_readings))).scalar()
            seen = (await conn.execute(sa.select(t.meter_values).order_by(t.meter_values.c.id))).mappings().all()
            frames = (await conn.execute(sa.select(t.messages).order_by(t.messages.c.id))).mappings().all()
        assert [{name: row[name] for name in MESSAGE_FIELDS} for row in frames] == [
            {name: row[name] for name in MESSAGE_FIELDS} for row in OLD_MESSAGES
        ]
        assert readings == 2  # one reading per stored sampled value
        assert [{name: row[name] for name in FIELDS} for row in seen] == [
            {name: row[name] for name in FIELDS} for row in OLD_ROWS
        ]

        await _migrate(engine, empty_database, "0003", down=True)
        async with engine.connect() as conn:
            back = (await conn.execute(sa.select(old_meter_values).order_by(old_meter_values.c.id))).mappings().all()
            logged = (await conn.execute(sa.select(old_messages).order_by(old_messages.c.id))).mappings().all()
        assert [{name: row[name] for name in MESSAGE_FIELDS} for row in logged] == [
            {name: row[name] for name in MESSAGE_FIELDS} for row in OLD_MESSAGES
        ]
        assert [{name: row[name] for name in FIELDS} for row in back] == [
            {name: row[name] for name in FIELDS} for row in OLD_ROWS
        ]
    finally:
        await engine.dispose()
