"""Migrations carry the data along: an older database upgraded (and downgraded) keeps its rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import BACKENDS, own_postgres_database
from tests.logged_frames import logged_frames
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
    async with own_postgres_database("voltline_migration") as url:
        yield url


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
            frames = await logged_frames(conn)  # unpacked from their compressed batches (0018)
        assert [{name: getattr(row, name) for name in MESSAGE_FIELDS} for row in frames] == [
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


def _insert(conn: sa.Connection, table: str, rows: list[dict[str, object]]) -> None:
    """Rows as revision 0005 had them, in plain SQL (the tables module describes the newest schema)."""
    columns = list(rows[0])
    conn.execute(
        sa.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
        [{c: (t.UTCDateTime().process_bind_param(v, conn.dialect) if isinstance(v, datetime) else v)
          for c, v in row.items()} for row in rows],
    )


START = {"charge_point_id": "CP-1", "connector_id": 1, "id_tag": "TAG", "id_tag_status": "Accepted", "meter_start": 500,
         "started_at": AT, "created_at": AT}


async def test_0006_merges_repeated_starts_and_never_hands_an_id_out_again(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0005")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [{"id": "CP-1", "lenient_actions": "[]", "connected": False,
                                              "created_at": AT, "updated_at": AT}])
                _insert(c, "id_tags", [{"id_tag": "TAG", "status": "Accepted", "created_at": AT, "updated_at": AT}])
                # One StartTransaction stored three times (two nodes at once), the last one stopped;
                # and a transaction of its own, whose id was the highest.
                _insert(c, "transactions", [{"id": i, **START} for i in (1, 2, 3)] + [
                    {"id": 9, **START, "connector_id": 2}])
                c.execute(sa.text("UPDATE transactions SET stopped_at = started_at, meter_stop = 900,"
                                  " stop_reason = 'Local' WHERE id = 3"))
                c.execute(sa.text("DELETE FROM transactions WHERE id = 9"))
                _insert(c, "meter_readings", [{"charge_point_id": "CP-1", "connector_id": 1, "transaction_id": 2,
                                               "timestamp": AT, "sampled_values": "[]"}])
                # Reservation ids were max + 1, beside PostgreSQL's sequence.
                _insert(c, "reservations", [
                    {"id": i, "charge_point_id": "CP-1", "connector_id": 1, "id_tag": "TAG", "expiry_date": AT,
                     "status": "Reserved", "created_at": AT, "updated_at": AT} for i in (1, 2, 3)])

            await conn.run_sync(old_rows)
            if engine.dialect.name == "postgresql":  # the transaction with id 9 was the sequence's
                await conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('transactions', 'id'), 9)"))

        await _migrate(engine, empty_database, "head")
        async with engine.begin() as conn:
            merged = (await conn.execute(sa.select(t.transactions))).all()
            assert [(r.id, r.meter_stop, r.stop_reason, r.stopped_at) for r in merged] == [(1, 900, "Local", AT)]
            readings = (await conn.execute(sa.select(t.meter_readings.c.transaction_id))).scalars().all()
            assert readings == [1]  # moved to the row kept
            assert (await conn.execute(sa.select(t.id_tags.c.max_active_transactions))).scalars().all() == [1]
            with pytest.raises(sa.exc.IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(t.transactions.insert().values({**START, "id_tag_status": "Accepted"}))
            fresh = await conn.scalar(
                t.transactions.insert().values({**START, "connector_id": 3}).returning(t.transactions.c.id)
            )
            # Past the merged rows (their ids were answered to the charge point), and on PostgreSQL
            # past the deleted one too (SQLite without AUTOINCREMENT kept no trace of it).
            assert fresh > (9 if engine.dialect.name == "postgresql" else 3)
            await conn.execute(t.transactions.delete().where(t.transactions.c.id == fresh))
            after = await conn.scalar(
                t.transactions.insert().values({**START, "connector_id": 4}).returning(t.transactions.c.id)
            )
            assert after > fresh  # from now on, never again
            reservation = await conn.scalar(
                t.reservations.insert()
                .values(charge_point_id="CP-1", connector_id=1, id_tag="TAG", expiry_date=AT, status="Reserved")
                .returning(t.reservations.c.id)
            )
            assert reservation == 4

        await _migrate(engine, empty_database, "0005", down=True)
        async with engine.connect() as conn:
            kept = (await conn.execute(sa.text("SELECT id FROM transactions ORDER BY id"))).scalars().all()
            reservations = (await conn.execute(sa.text("SELECT id FROM reservations ORDER BY id"))).scalars().all()
            tags = (await conn.execute(sa.text("SELECT id_tag FROM id_tags"))).scalars().all()
        assert (kept, reservations, tags) == ([1, after], [1, 2, 3, 4], ["TAG"])
        await _migrate(engine, empty_database, "head")  # and up again
    finally:
        await engine.dispose()


async def test_0009_keeps_every_row_and_fills_in_locations_wire_ids_and_token_types(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0008")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [
                    {"id": cp, "lenient_actions": "[]", "connected": False, "connected_at": connected_at,
                     "ocpp_version": None, "created_at": AT, "updated_at": AT}
                    for cp, connected_at in (("CP-1", AT), ("CP-NEVER", None))
                ])
                _insert(c, "connectors", [
                    {"charge_point_id": "CP-1", "connector_id": n, "status": status, "error_code": "NoError",
                     "status_at": AT, "updated_at": AT}
                    for n, status in ((0, "Available"), (1, "Charging"), (2, "Faulted"))
                ])
                _insert(c, "id_tags", [{"id_tag": "TAG", "status": "Accepted", "created_at": AT, "updated_at": AT}])
                _insert(c, "transactions", [
                    {"id": 7, **START}, {"id": 8, **START, "connector_id": 2},
                ])
                _insert(c, "remote_starts", [
                    {"id": 3, "charge_point_id": "CP-1", "connector_id": 2, "id_tag": "TAG", "status": "Started",
                     "transaction_id": 8, "requested_at": AT},
                ])
                _insert(c, "charge_point_events", [
                    {"charge_point_id": "CP-1", "kind": "log", "status": "Uploading", "timestamp": AT},
                    {"charge_point_id": "CP-1", "kind": "log", "status": "Uploaded",
                     "timestamp": AT.replace(second=30)},
                    {"charge_point_id": "CP-1", "kind": "firmware", "status": "Installed",
                     "timestamp": AT.replace(minute=5)},
                ])

            await conn.run_sync(old_rows)

        await _migrate(engine, empty_database, "head")
        async with engine.begin() as conn:
            cps = {r.id: r for r in (await conn.execute(sa.select(t.charge_points))).all()}
            assert (cps["CP-1"].ocpp_version, cps["CP-1"].log_status, cps["CP-1"].log_status_at) == (
                "1.6", "Uploaded", AT.replace(second=30))
            assert (cps["CP-NEVER"].ocpp_version, cps["CP-NEVER"].log_status) == (None, None)
            assert cps["CP-1"].heartbeat_interval is None  # unknown until its next boot
            connectors = (await conn.execute(
                sa.select(t.connectors.c.connector_id, t.connectors.c.evse_id, t.connectors.c.status)
                .order_by(t.connectors.c.connector_id)
            )).all()
            assert connectors == [(0, None, "Available"), (1, None, "Charging"), (2, None, "Faulted")]
            txs = (await conn.execute(sa.select(t.transactions).order_by(t.transactions.c.id))).all()
            assert [(r.id, r.ocpp_transaction_id, r.evse_id, r.id_token_type, r.remote_start_id) for r in txs] == [
                (7, "7", None, "ISO14443", None), (8, "8", None, "ISO14443", 3)]
            assert [(r.connector_id, r.meter_start, r.started_at) for r in txs] == [(1, 500, AT), (2, 500, AT)]
            assert (await conn.execute(sa.select(t.id_tags.c.token_type))).scalars().all() == ["ISO14443"]
            # The wire id is unique per charge point; a connector's key now takes its EVSE.
            with pytest.raises(sa.exc.IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(t.transactions.update().where(t.transactions.c.id == 8)
                                       .values(ocpp_transaction_id="7"))
            with pytest.raises(sa.exc.IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(t.connectors.insert().values(
                        charge_point_id="CP-1", connector_id=1, status="Available", error_code="NoError"))
            # 2.0.1's EVSE 1 connector 1 and EVSE 2 connector 1 beside 1.6's connector 1.
            await conn.execute(t.connectors.insert(), [
                {"charge_point_id": "CP-1", "evse_id": evse, "connector_id": 1, "status": "Available",
                 "error_code": "NoError"} for evse in (1, 2)])

        await _migrate(engine, empty_database, "0008", down=True)
        async with engine.connect() as conn:
            back = (await conn.execute(sa.text(
                "SELECT charge_point_id, connector_id, status FROM connectors ORDER BY connector_id"))).all()
            kept = (await conn.execute(sa.text("SELECT id, connector_id FROM transactions ORDER BY id"))).all()
            tags = (await conn.execute(sa.text("SELECT id_tag, max_active_transactions FROM id_tags"))).all()
            columns = {c["name"] for c in await conn.run_sync(lambda c: sa.inspect(c).get_columns("transactions"))}
            key = await conn.run_sync(lambda c: sa.inspect(c).get_pk_constraint("connectors"))
        assert back == [("CP-1", 0, "Available"), ("CP-1", 1, "Charging"), ("CP-1", 2, "Faulted")]
        assert kept == [(7, 1), (8, 2)]
        assert tags == [("TAG", 1)]
        assert not {"ocpp_transaction_id", "evse_id", "id_token_type", "remote_start_id"} & columns
        assert key["constrained_columns"] == ["charge_point_id", "connector_id"]
        await _migrate(engine, empty_database, "head")  # and up again
        async with engine.connect() as conn:
            again = (await conn.execute(sa.select(t.transactions.c.ocpp_transaction_id)
                                        .order_by(t.transactions.c.id))).scalars().all()
        assert again == ["7", "8"]
    finally:
        await engine.dispose()


async def test_0010_holds_charge_points_with_a_password_to_profile_1_and_back(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0008")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [
                    {"id": "CP-PW", "password_hash": "pbkdf2$x", "lenient_actions": "[]", "connected": False,
                     "created_at": AT, "updated_at": AT},
                    {"id": "CP-OPEN", "password_hash": None, "lenient_actions": "[]", "connected": False,
                     "created_at": AT, "updated_at": AT},
                ])

            await conn.run_sync(old_rows)
        await _migrate(engine, empty_database, "0010")
        async with engine.begin() as conn:
            rows = (await conn.execute(
                sa.select(t.charge_points.c.id, t.charge_points.c.security_profile, t.charge_points.c.password_hash)
                .order_by(t.charge_points.c.id)
            )).all()
            assert [tuple(r) for r in rows] == [("CP-OPEN", 0, None), ("CP-PW", 1, "pbkdf2$x")]
        await _migrate(engine, empty_database, "0008", down=True)
        async with engine.begin() as conn:
            columns = await conn.run_sync(lambda c: {col["name"] for col in sa.inspect(c).get_columns("charge_points")})
            assert "security_profile" not in columns
            ids = (await conn.execute(sa.text("SELECT id FROM charge_points ORDER BY id"))).scalars().all()
            assert ids == ["CP-OPEN", "CP-PW"]
    finally:
        await engine.dispose()


async def test_0011_adds_the_certificate_tables_beside_the_data_and_takes_them_away_again(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0008")
        async with engine.begin() as conn:
            await conn.run_sync(_insert, "charge_points", [
                {"id": "CP-1", "lenient_actions": "[]", "connected": False, "created_at": AT, "updated_at": AT}
            ])
        await _migrate(engine, empty_database, "head")
        async with engine.begin() as conn:
            await conn.execute(t.issued_certificates.insert().values(
                serial="beef", charge_point_id="CP-1", subject="CN=CP-1", not_before=AT, not_after=AT, pem="-",
                delivery_status="Accepted", issued_at=AT,
            ))
            await conn.execute(t.installed_certificates.insert().values(
                charge_point_id="CP-1", certificate_type="CentralSystemRootCertificate", hash_algorithm="SHA256",
                issuer_name_hash="a", issuer_key_hash="b", serial_number="1", updated_at=AT,
            ))
        async with engine.connect() as conn:
            issued = (await conn.execute(sa.select(t.issued_certificates))).mappings().one()
            assert (issued["serial"], issued["not_after"], issued["revoked_at"]) == ("beef", AT, None)
        await _migrate(engine, empty_database, "0008", down=True)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            kept = (await conn.execute(sa.select(t.charge_points.c.id))).scalars().all()
        assert not {"issued_certificates", "installed_certificates"} & tables
        assert kept == ["CP-1"]
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


async def test_0013_fills_the_hourly_peak_rollups_from_the_energy_rollup_and_drops_them_again(empty_database: str) -> None:
    engine = create_engine(empty_database)
    hour, later = AT.replace(minute=0, microsecond=0), AT.replace(hour=13, minute=0, microsecond=0)
    try:
        await _migrate(engine, empty_database, "0012")
        async with engine.begin() as conn:
            # CP-1 in one hour: 4000 W sampled on one session, 1500 Wh without a sample on another.
            await conn.run_sync(lambda c: _insert(c, "report_energy", [
                {"hour": hour, "charge_point_id": "CP-1", "connector_id": 1, "id_tag": "A", "energy_wh": 3000.0,
                 "peak_power_w": 4000.0},
                {"hour": hour, "charge_point_id": "CP-1", "connector_id": 2, "id_tag": "B", "energy_wh": 1500.0,
                 "peak_power_w": None},
                {"hour": hour, "charge_point_id": "CP-2", "connector_id": 1, "id_tag": "A", "energy_wh": 700.0,
                 "peak_power_w": 500.0},
                {"hour": later, "charge_point_id": "CP-2", "connector_id": 1, "id_tag": "A", "energy_wh": 200.0,
                 "peak_power_w": None},
            ]))
        await _migrate(engine, empty_database, "head")
        async with engine.connect() as conn:
            p, n = t.report_peak_cp.c, t.report_peak.c
            charge_points = (await conn.execute(
                sa.select(p.hour, p.charge_point_id, p.power_w, p.at).order_by(p.hour, p.charge_point_id))).all()
            network = (await conn.execute(sa.select(n.hour, n.power_w, n.at).order_by(n.hour))).all()
        assert [tuple(r) for r in charge_points] == [
            (hour, "CP-1", 5500.0, hour), (hour, "CP-2", 700.0, hour), (later, "CP-2", 200.0, later)]
        assert [tuple(r) for r in network] == [(hour, 6200.0, hour), (later, 200.0, later)]

        await _migrate(engine, empty_database, "0012", down=True)
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            kept = (await conn.execute(sa.text("SELECT count(*) FROM report_energy"))).scalar_one()
        assert not {name for name in names if name.startswith("report_peak")}
        assert kept == 4
    finally:
        await engine.dispose()


async def test_0014_keeps_charge_points_and_status_history_and_adds_boot_reasons_and_evses(empty_database: str) -> None:
    engine = create_engine(empty_database)
    long_vendor = "Voltline Test Equipment Manufacturing Company GmbH"  # 50: 2.0.1's vendorName
    try:
        await _migrate(engine, empty_database, "0013")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [
                    {"id": "CP-1", "vendor": "Old Vendor", "model": "M1", "lenient_actions": "[]", "connected": False,
                     "ocpp_version": "1.6", "security_profile": 0, "created_at": AT, "updated_at": AT},
                ])
                _insert(c, "connector_status_history", [
                    {"charge_point_id": "CP-1", "connector_id": 1, "status": status, "error_code": "NoError",
                     "timestamp": AT.replace(minute=minute), "received_at": AT}
                    for minute, status in ((0, "Available"), (5, "Charging"))
                ])

            await conn.run_sync(old_rows)

        await _migrate(engine, empty_database, "head")
        async with engine.begin() as conn:
            cp = (await conn.execute(sa.select(t.charge_points))).one()
            assert (cp.vendor, cp.model, cp.ocpp_version, cp.boot_reason) == ("Old Vendor", "M1", "1.6", None)
            h = t.connector_status_history.c
            history = (await conn.execute(sa.select(h.connector_id, h.evse_id, h.status, h.timestamp).order_by(h.id))).all()
            assert history == [(1, None, "Available", AT.replace(minute=0)), (1, None, "Charging", AT.replace(minute=5))]
            # A 2.0.1 station's boot and its status on EVSE 2.
            await conn.execute(t.charge_points.update().values(vendor=long_vendor, boot_reason="PowerUp"))
            await conn.execute(t.connector_status_history.insert().values(
                charge_point_id="CP-1", evse_id=2, connector_id=1, status="Occupied", error_code="NoError",
                timestamp=AT, received_at=AT))

        await _migrate(engine, empty_database, "0013", down=True)
        async with engine.connect() as conn:
            vendor = (await conn.execute(sa.text("SELECT vendor FROM charge_points"))).scalar_one()
            statuses = (await conn.execute(sa.text("SELECT status FROM connector_status_history ORDER BY id"))).scalars().all()
            columns = {c["name"] for c in await conn.run_sync(lambda c: sa.inspect(c).get_columns("charge_points"))}
        assert vendor == long_vendor[:20]
        assert statuses == ["Available", "Charging"]
        assert "boot_reason" not in columns
    finally:
        await engine.dispose()


async def test_0015_keeps_transactions_and_readings_and_adds_events_and_signed_values(empty_database: str) -> None:
    engine = create_engine(empty_database)
    reading = '[[1500.0,"Wh","1.5","kWh","Energy.Active.Import.Register",null,"Sample.Periodic","Outlet","Raw"]]'
    try:
        await _migrate(engine, empty_database, "0013")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [{"id": "CP-1", "lenient_actions": "[]", "connected": False,
                                              "created_at": AT, "updated_at": AT}])
                _insert(c, "transactions", [{"id": 7, **START, "ocpp_transaction_id": "7"}])
                _insert(c, "meter_readings", [{"charge_point_id": "CP-1", "connector_id": 1, "transaction_id": 7,
                                               "timestamp": AT, "sampled_values": reading}])

            await conn.run_sync(old_rows)

        await _migrate(engine, empty_database, "0015")
        async with engine.begin() as conn:
            txs = (await conn.execute(sa.select(t.transactions.c.id, t.transactions.c.meter_start))).all()
            assert txs == [(7, 500)]
            m = t.meter_values.c
            samples = (await conn.execute(sa.select(m.transaction_id, m.value, m.raw_value, m.signed_meter_value))).all()
            assert samples == [(7, 1500.0, "1.5", None)]
            # A 1.6 start is still unique by its key; a 2.0.1 one on another EVSE with the same key is not refused.
            with pytest.raises(sa.exc.IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(t.transactions.insert().values(**START, ocpp_transaction_id="dup"))
            await conn.execute(t.transactions.insert(), [
                {**START, "evse_id": evse, "ocpp_transaction_id": f"uuid-{evse}"} for evse in (1, 2)])
            await conn.execute(t.transaction_events.insert().values(
                charge_point_id="CP-1", ocpp_transaction_id="uuid-1", seq_no=0, transaction_id=8, event_type="Started",
                trigger_reason="Authorized", timestamp=AT, offline=False, received_at=AT))
            await conn.run_sync(_insert, "meter_readings", [dict(
                charge_point_id="CP-1", connector_id=1, transaction_id=8, timestamp=AT,
                sampled_values='[[1.0,"Wh","1","Wh","Energy.Active.Import.Register",null,"Sample.Periodic","Outlet",'
                               '"Raw",{"signedMeterData":"abc","signingMethod":"m","encodingMethod":"e","publicKey":"k"}]]')])
            signed = (await conn.execute(sa.select(m.signed_meter_value).where(m.transaction_id == 8))).scalar_one()
            assert json.loads(signed) == {"signedMeterData": "abc", "signingMethod": "m", "encodingMethod": "e",
                                          "publicKey": "k"}
            # The start key covers every row again below: 2.0.1 rows that share one cannot go back.
            await conn.execute(sa.delete(t.transactions).where(t.transactions.c.evse_id.is_not(None)))

        await _migrate(engine, empty_database, "0013", down=True)
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            kept = (await conn.execute(sa.text("SELECT transaction_id, raw_value FROM meter_values ORDER BY id"))).all()
        assert "transaction_events" not in names
        assert kept == [(7, "1.5"), (8, "1")]
    finally:
        await engine.dispose()


async def test_0016_adds_the_device_model_beside_the_data_and_takes_it_away_again(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0013")
        async with engine.begin() as conn:
            await conn.run_sync(_insert, "charge_points", [
                {"id": "CP-16", "lenient_actions": "[]", "connected": False, "created_at": AT, "updated_at": AT}
            ])
            await conn.run_sync(_insert, "charge_point_configuration", [
                {"charge_point_id": "CP-16", "key": "HeartbeatInterval", "value": "300", "readonly": False,
                 "updated_at": AT}
            ])
        await _migrate(engine, empty_database, "0016")
        async with engine.begin() as conn:
            # The key's optional parts default to '' and 0, so a row without them is still unique.
            await conn.execute(t.device_variables.insert().values(
                charge_point_id="CP-16", component="OCPPCommCtrlr", variable="HeartbeatInterval", value="300",
                source="report", updated_at=AT,
            ))
            await conn.execute(t.device_reports.insert().values(charge_point_id="CP-16", request_id=1, updated_at=AT))
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(t.device_variables))).mappings().one()
            assert (row["component_instance"], row["evse_id"], row["connector_id"], row["attribute_type"]) == ("", 0, 0, "Actual")
            report = (await conn.execute(sa.select(t.device_reports))).mappings().one()
            assert (report["parts"], report["variables"], report["completed_at"]) == (0, 0, None)
            configuration = (await conn.execute(sa.text("SELECT key, value FROM charge_point_configuration"))).all()
            assert [tuple(r) for r in configuration] == [("HeartbeatInterval", "300")]
        await _migrate(engine, empty_database, "0013", down=True)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            kept = (await conn.execute(sa.select(t.charge_points.c.id))).scalars().all()
        assert not {"device_variables", "device_reports"} & tables
        assert kept == ["CP-16"]
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


LONG_TOKEN = "0123456789ABCDEF0123456789ABCDEF0123"  # 36: OCPP 2.0.1's longest idToken


async def test_0017_widens_id_tags_to_36_and_keys_connector_rollups_by_evse(empty_database: str) -> None:
    engine = create_engine(empty_database)
    hour = AT.replace(minute=0, second=0, microsecond=0)
    try:
        await _migrate(engine, empty_database, "0016")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [{"id": "CP-1", "lenient_actions": "[]", "connected": False,
                                              "created_at": AT, "updated_at": AT}])
                _insert(c, "id_tags", [{"id_tag": "TAG", "status": "Accepted", "created_at": AT, "updated_at": AT,
                                        "max_active_transactions": 1, "token_type": "ISO14443"}])
                _insert(c, "transactions", [{"id": 7, **START, "ocpp_transaction_id": "7"}])
                _insert(c, "report_energy", [{"hour": hour, "charge_point_id": "CP-1", "connector_id": 1,
                                              "id_tag": "TAG", "energy_wh": 1500.0, "peak_power_w": 7000.0}])
                _insert(c, "report_status_day", [{"hour": hour, "charge_point_id": "CP-1", "connector_id": 1,
                                                  "status": "Charging", "error_code": "NoError", "seconds": 60.0,
                                                  "entries": 1}])

            await conn.run_sync(old_rows)

        await _migrate(engine, empty_database, "0017")
        async with engine.begin() as conn:
            # The rows of so far are kept, numbered as 1.6 numbers them.
            assert (await conn.execute(sa.select(t.transactions.c.id, t.transactions.c.id_tag))).all() == [(7, "TAG")]
            energy = (await conn.execute(sa.select(t.report_energy))).mappings().one()
            assert (energy["evse_id"], energy["connector_id"], energy["energy_wh"], energy["peak_power_w"]) == (0, 1, 1500.0, 7000.0)
            status_day = t.COARSER[t.report_status]["day"]
            assert (await conn.execute(sa.select(status_day.c.evse_id, status_day.c.seconds))).all() == [(0, 60.0)]
            # A 36-character token fits every column that holds id tags.
            await conn.execute(t.id_tags.insert().values(id_tag=LONG_TOKEN, parent_id_tag="TAG", token_type="eMAID"))
            await conn.execute(t.transactions.insert().values(
                **{**START, "id_tag": LONG_TOKEN}, stop_id_tag=LONG_TOKEN, evse_id=1, ocpp_transaction_id="uuid-1"))
            await conn.execute(t.remote_starts.insert().values(charge_point_id="CP-1", id_tag=LONG_TOKEN, status="Accepted"))
            # Two EVSEs' connector 1 are rows of their own.
            await conn.execute(t.report_energy.insert(), [
                {"hour": hour, "charge_point_id": "CP-1", "evse_id": evse, "connector_id": 1, "id_tag": LONG_TOKEN,
                 "energy_wh": 100.0 * evse} for evse in (1, 2)])

        # Down again: refused, saying why, while a long tag or an EVSE's rollup row would be cut or merged.
        with pytest.raises(RuntimeError, match="longer than the 20 characters"):
            await _migrate(engine, empty_database, "0016", down=True)
        async with engine.begin() as conn:
            for table in (t.transactions, t.remote_starts):
                await conn.execute(table.delete().where(table.c.id_tag == LONG_TOKEN))
            await conn.execute(t.id_tags.delete().where(t.id_tags.c.id_tag == LONG_TOKEN))
            await conn.execute(t.report_energy.update().values(id_tag="TAG-2").where(t.report_energy.c.evse_id > 0))
        with pytest.raises(RuntimeError, match="rows of 2.0.1 EVSEs"):
            await _migrate(engine, empty_database, "0016", down=True)
        async with engine.begin() as conn:
            await conn.execute(t.report_energy.delete().where(t.report_energy.c.evse_id > 0))
        await _migrate(engine, empty_database, "0016", down=True)
        async with engine.connect() as conn:
            kept = (await conn.execute(sa.text("SELECT connector_id, id_tag, energy_wh FROM report_energy"))).all()
            columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("report_status_day")])
            key = await conn.run_sync(lambda c: sa.inspect(c).get_pk_constraint("report_energy")["constrained_columns"])
        assert [tuple(r) for r in kept] == [(1, "TAG", 1500.0)]
        assert "evse_id" not in columns and key == ["hour", "charge_point_id", "connector_id", "id_tag"]
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


async def test_0019_keeps_remote_starts_and_adds_the_remote_start_id_they_went_out_with(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0018")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [{"id": "CP-1", "lenient_actions": "[]", "connected": False,
                                              "created_at": AT, "updated_at": AT}])
                _insert(c, "remote_starts", [{"id": 3, "charge_point_id": "CP-1", "connector_id": 1, "id_tag": "TAG",
                                              "status": "Started", "transaction_id": 7, "requested_at": AT}])

            await conn.run_sync(old_rows)

        await _migrate(engine, empty_database, "0019")
        async with engine.begin() as conn:
            rs = t.remote_starts.c
            kept = (await conn.execute(sa.select(rs.id, rs.status, rs.transaction_id, rs.ocpp_remote_start_id))).all()
            assert [tuple(r) for r in kept] == [(3, "Started", 7, None)]
            await conn.execute(t.remote_starts.insert().values(
                charge_point_id="CP-1", id_tag="TAG", status="Accepted", ocpp_remote_start_id=900))

        await _migrate(engine, empty_database, "0018", down=True)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT status, transaction_id FROM remote_starts ORDER BY status"))).all()
            columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("remote_starts")])
        assert [tuple(r) for r in rows] == [("Accepted", None), ("Started", 7)]
        assert "ocpp_remote_start_id" not in columns
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


async def test_0020_fills_the_network_and_tag_day_rollups_from_the_rollups_kept(empty_database: str) -> None:
    engine = create_engine(empty_database)
    # Rollups kept in Europe/Berlin: its 28 March from 27 23:00Z, the 29th from 28 23:00Z, March
    # from 28 February 23:00Z. 28 March 23:00Z is an hour of the 29th.
    hour = lambda day, h: datetime(2026, 3, day, h, tzinfo=UTC)  # noqa: E731
    d28, d29, march = hour(27, 23), hour(28, 23), datetime(2026, 2, 28, 23, tzinfo=UTC)
    cp1 = {"charge_point_id": "CP-1", "evse_id": 0, "connector_id": 1}
    cp2 = {"charge_point_id": "CP-2", "evse_id": 0, "connector_id": 1}
    energy = [(hour(28, 22), cp1, "TAG-A", 1000.0, 4000.0), (hour(28, 23), cp1, "TAG-A", 2000.0, None),
              (hour(29, 0), cp1, "TAG-A", 2000.0, 5000.0), (hour(28, 23), cp2, "TAG-B", 500.0, None)]
    sessions = [(hour(28, 22), cp1, "TAG-A", 2, 4, 12600.0, 6000.0, 0), (hour(28, 23), cp2, "TAG-B", 1, 3, 3600.0, 500.0, 1)]
    try:
        await _migrate(engine, empty_database, "0019")
        async with engine.begin() as conn:
            await conn.execute(t.report_energy.insert(), [
                {"hour": h, **k, "id_tag": tag, "energy_wh": wh, "peak_power_w": w} for h, k, tag, wh, w in energy])
            await conn.execute(t.COARSER[t.report_energy]["day"].insert(), [
                {"hour": d28, **cp1, "energy_wh": 1000.0, "peak_power_w": 4000.0},
                {"hour": d29, **cp1, "energy_wh": 4000.0, "peak_power_w": 5000.0},
                {"hour": d29, **cp2, "energy_wh": 500.0, "peak_power_w": None}])
            await conn.execute(t.COARSER[t.report_energy]["month"].insert(), [
                {"hour": march, **cp1, "energy_wh": 5000.0, "peak_power_w": 5000.0},
                {"hour": march, **cp2, "energy_wh": 500.0, "peak_power_w": None}])
            for grain, at in (("", lambda h: h), ("day", lambda h: d28 if h < d29 else d29), ("month", lambda h: march)):
                table = t.COARSER[t.report_sessions][grain] if grain else t.report_sessions
                await conn.execute(table.insert(), [
                    {"hour": at(h), **k, **({} if grain else {"id_tag": tag}), "energy_bucket": eb, "duration_bucket": db,
                     "sessions": 1, "duration_s": s, "energy_wh": wh, "flagged": f}
                    for h, k, tag, eb, db, s, wh, f in sessions])
                table = t.COARSER[t.report_idle][grain] if grain else t.report_idle
                await conn.execute(table.insert().values(hour=at(hour(28, 22)), **cp1, **({} if grain else {"id_tag": "TAG-A"}),
                                                         idle_s=3600.0, sessions=1))

        await _migrate(engine, empty_database, "0020")
        async with engine.connect() as conn:
            async def rows(table: sa.Table) -> list[tuple[object, ...]]:
                return [tuple(r) for r in (await conn.execute(sa.select(table).order_by(*table.primary_key.columns))).all()]

            net = t.NETWORK[t.report_energy]
            assert await rows(net) == [(hour(28, 22), 1000.0), (hour(28, 23), 2500.0), (hour(29, 0), 2000.0)]
            assert await rows(t.NETWORK_COARSER[net]["day"]) == [(d28, 1000.0), (d29, 4500.0)]
            assert await rows(t.NETWORK_COARSER[net]["month"]) == [(march, 5500.0)]
            net = t.NETWORK[t.report_sessions]
            assert await rows(net) == [(hour(28, 22), 2, 4, 1, 12600.0, 6000.0, 0), (hour(28, 23), 1, 3, 1, 3600.0, 500.0, 1)]
            assert await rows(t.NETWORK_COARSER[net]["day"]) == [(d28, 2, 4, 1, 12600.0, 6000.0, 0),
                                                                 (d29, 1, 3, 1, 3600.0, 500.0, 1)]
            assert await rows(t.NETWORK_COARSER[net]["month"]) == [(march, 1, 3, 1, 3600.0, 500.0, 1),
                                                                   (march, 2, 4, 1, 12600.0, 6000.0, 0)]
            assert await rows(t.NETWORK_COARSER[t.NETWORK[t.report_idle]]["month"]) == [(march, 3600.0, 1)]
            # Each hour in the day the per-connector day rollup put it in: 23:00Z is the 29th's.
            assert await rows(t.BY_TAG_DAY[t.report_energy]) == [
                (d28, "TAG-A", 1000.0, 4000.0), (d29, "TAG-A", 4000.0, 5000.0), (d29, "TAG-B", 500.0, None)]
            tag_day = t.BY_TAG_DAY[t.report_sessions]  # as 0020 has it: no flagged column (0024)
            found = await conn.execute(sa.select(tag_day.c.hour, tag_day.c.id_tag, tag_day.c.sessions)
                                       .order_by(tag_day.c.hour, tag_day.c.id_tag))
            assert [tuple(r) for r in found.all()] == [(d28, "TAG-A", 1), (d29, "TAG-B", 1)]

        await _migrate(engine, empty_database, "0019", down=True)
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            kept = (await conn.execute(sa.text("SELECT count(*) FROM report_energy"))).scalar_one()
        assert not {name for name in names if name.endswith(("_net", "_net_day", "_net_month", "_tag_day"))}
        assert kept == 4
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


async def test_0021_keys_transaction_events_by_their_transaction_and_keeps_refusing_a_repeat(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, empty_database, "0020")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [{"id": "CP-1", "lenient_actions": "[]", "connected": False,
                                              "created_at": AT, "updated_at": AT}])
                _insert(c, "transaction_events", [
                    {"charge_point_id": "CP-1", "ocpp_transaction_id": "tx-a", "seq_no": n, "transaction_id": 7,
                     "event_type": "Updated", "trigger_reason": "MeterValuePeriodic", "timestamp": AT,
                     "offline": False, "received_at": AT} for n in (0, 1, 3)])

            await conn.run_sync(old_rows)

        def indexes(c: sa.Connection) -> dict[str, tuple[list[str], bool]]:
            return {i["name"]: (i["column_names"], bool(i["unique"])) for i in sa.inspect(c).get_indexes("transaction_events")}

        await _migrate(engine, empty_database, "0021")
        async with engine.connect() as conn:
            assert await conn.run_sync(indexes) == {"uq_transaction_events_transaction_seq": (["transaction_id", "seq_no"], True)}
            kept = (await conn.execute(sa.text("SELECT seq_no FROM transaction_events ORDER BY seq_no"))).scalars().all()
            assert kept == [0, 1, 3]
        with pytest.raises(sa.exc.IntegrityError):  # a repeat is still the database's to refuse
            async with engine.begin() as conn:
                await conn.execute(sa.text(
                    "INSERT INTO transaction_events (charge_point_id, ocpp_transaction_id, seq_no, transaction_id,"
                    " event_type, trigger_reason, timestamp, offline, received_at)"
                    " SELECT charge_point_id, ocpp_transaction_id, seq_no, transaction_id, event_type, trigger_reason,"
                    " timestamp, offline, received_at FROM transaction_events WHERE seq_no = 1"))

        await _migrate(engine, empty_database, "0020", down=True)
        async with engine.connect() as conn:
            assert await conn.run_sync(indexes) == {
                "uq_transaction_events_seq": (["charge_point_id", "ocpp_transaction_id", "seq_no"], True),
                "ix_transaction_events_transaction": (["transaction_id", "seq_no"], False),
            }
            assert (await conn.execute(sa.text("SELECT count(*) FROM transaction_events"))).scalar() == 3
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


# message_batches as revisions 0005-0017 had it: the frames as JSON text.
old_batches = sa.Table(
    "message_batches",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("charge_point_id", sa.String(255), nullable=False),
    sa.Column("first_at", t.UTCDateTime, nullable=False),
    sa.Column("last_at", t.UTCDateTime, nullable=False),
    sa.Column("frame_count", sa.Integer, nullable=False),
    sa.Column("frames", sa.Text, nullable=False),
)


def _old_log(batches: int) -> list[dict[str, object]]:
    """Batches of a Heartbeat, a MeterValues and their answers, a CALLERROR now and then, and an
    unreadable frame: the frames as the recorder wrote them up to 0017."""
    rows = []
    for b in range(1, batches + 1):
        at = AT + timedelta(milliseconds=37 * b)
        stamp = at.isoformat(" ", "microseconds")[:26]
        cp = f"CP-{b % 7}"
        frames: list[list[object]] = [
            [stamp, "in", 2, f"h{b}", "Heartbeat", None, f'[2,"h{b}","Heartbeat",{{}}]'],
            [stamp, "out", 3, f"h{b}", "Heartbeat", None, f'[3,"h{b}",{{"currentTime":"{at.isoformat()}"}}]'],
            [stamp, "in", 2, f"m{b}", "MeterValues", None,
             f'[2,"m{b}","MeterValues",{{"connectorId":1,"meterValue":[{{"sampledValue":[{{"value":"{b * 13}"}}]}}]}}]'],
        ]
        frames.append([stamp, "out", 4, f"m{b}", "MeterValues", "InternalError", f'[4,"m{b}","InternalError","ü",{{}}]']
                      if b % 9 == 0 else [stamp, "out", 3, f"m{b}", "MeterValues", None, f'[3,"m{b}",{{}}]'])
        if b % 50 == 0:
            frames.append([stamp, "in", 0, None, None, 'not json " at all', "FormationViolation"])
        rows.append({"id": b, "charge_point_id": cp, "first_at": at, "last_at": at, "frame_count": len(frames),
                     "frames": json.dumps(frames, ensure_ascii=False)})
    return rows


VIEW_FIELDS = ("id", "charge_point_id", "direction", "message_type", "message_id", "action", "error_code", "payload",
               "created_at")


async def test_0018_compresses_the_log_with_a_trained_dictionary_and_answers_as_the_view_did(empty_database: str) -> None:
    from tests.logged_frames import logged_frames
    from voltline.services.message_log.search import FrameQuery

    engine = create_engine(empty_database)
    view = sa.Table("messages", sa.MetaData(), *(sa.Column(n) for n in VIEW_FIELDS[:-1]),
                    sa.Column("created_at", t.UTCDateTime))
    window = (AT + timedelta(seconds=20), AT + timedelta(seconds=50))
    questions = [  # (what the view was asked, what the search is asked)
        (sa.true(), FrameQuery()),
        (view.c.charge_point_id == "CP-3", FrameQuery(charge_point_id="CP-3")),
        (view.c.action == "MeterValues", FrameQuery(action="MeterValues")),
        (view.c.message_type == 4, FrameQuery(message_types=(4,))),
        (view.c.message_type == 0, FrameQuery(message_types=(0,))),
        (sa.and_(view.c.created_at >= window[0], view.c.created_at < window[1], view.c.direction == "out"),
         FrameQuery(since=window[0], until=window[1], direction="out")),
    ]

    async def view_answers() -> list[list[dict[str, object]]]:
        async with engine.connect() as conn:
            return [[dict(row) for row in (await conn.execute(
                sa.select(*(view.c[n] for n in VIEW_FIELDS)).where(where).order_by(view.c.id))).mappings()]
                for where, _ in questions]

    try:
        await _migrate(engine, empty_database, "0017")
        rows = _old_log(1500)
        async with engine.begin() as conn:
            await conn.execute(old_batches.insert(), rows)
        before = await view_answers()
        assert len(before[0]) > 6000 and all(before)

        await _migrate(engine, empty_database, "0018")
        async with engine.begin() as conn:
            dictionaries = (await conn.execute(sa.select(t.message_dictionaries.c.id))).scalars().all()
            used = set((await conn.execute(sa.select(t.message_batches.c.dictionary_id))).scalars())
            packed = (await conn.execute(sa.select(sa.func.sum(sa.func.length(t.message_batches.c.body))))).scalar()
            for (_, query), expected in zip(questions, before, strict=True):
                found = await logged_frames(conn, query)
                assert [{n: getattr(f, n) for n in VIEW_FIELDS} for f in found] == expected, query
            # The log goes on after the ids kept.
            await conn.execute(t.message_batches.insert().values(
                charge_point_id="CP-1", first_at=AT, last_at=AT, frame_count=1, body=b"", dictionary_id=None))
            newest = (await conn.execute(sa.select(sa.func.max(t.message_batches.c.id)))).scalar()
            await conn.execute(t.message_batches.delete().where(t.message_batches.c.id == newest))
        assert dictionaries == [1] and used == {1}  # every batch compressed with the dictionary trained
        assert packed * 4 < sum(len(r["frames"].encode()) for r in rows)  # type: ignore[union-attr]
        assert newest == 1501

        await _migrate(engine, empty_database, "0017", down=True)
        assert await view_answers() == before
        async with engine.connect() as conn:
            texts = (await conn.execute(sa.select(old_batches.c.id, old_batches.c.frames).order_by(old_batches.c.id))).all()
        assert [tuple(r) for r in texts] == [(r["id"], r["frames"]) for r in rows]  # the very text
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()


# Readings as revisions 0015-0019 stored them: every field of every sampled value, in the order
# value, unit, raw_value, raw_unit, measurand, phase, context, location, format (, signed).
_PERIODIC = '"Sample.Periodic","Outlet","Raw"'
OLD_READINGS = [
    (None, '[[1000123.0,"Wh","1000123","Wh","Energy.Active.Import.Register",null,' + _PERIODIC + '],'
           '[7360.0,"W","7360","W","Power.Active.Import",null,' + _PERIODIC + '],'
           '[32.0,"A","32.0","A","Current.Import","L1",' + _PERIODIC + '],'
           '[230.1,"V","230.10","V","Voltage","L1-N",' + _PERIODIC + ']]'),
    (7, '[[1500.0,"Wh","1.5","kWh","Energy.Active.Import.Register",null,' + _PERIODIC + '],'
        '[1500.0,"Wh","15","Wh*10^2","Energy.Active.Import.Register",null,"Transaction.End","Outlet","Raw"],'
        '[null,"kWh","n/a","kWh","Energy.Active.Import.Register",null,' + _PERIODIC + '],'
        '[null,"Wh","signed:abc",null,"Energy.Active.Import.Register","L1","Transaction.End","Outlet","SignedData"]]'),
    (7, '[[1000.0,"Wh","1e3","Wh","Energy.Active.Import.Register",null,' + _PERIODIC + '],'
        '[-0.0,"W","-0","W","Power.Active.Import",null,' + _PERIODIC + '],'
        '[0.5,"W","00.5","W","Power.Active.Import",null,' + _PERIODIC + '],'
        '[1.5,"W","1.50000000000000001","W","Power.Active.Import",null,' + _PERIODIC + '],'
        '[0.30000000000000004,"Wh","0.3","kWh","Energy.Active.Import.Register",null,' + _PERIODIC + '],'
        '[1.0,"Wh","1","Wh","Energy.Active.Import.Register",null,' + _PERIODIC + ','
        '{"signedMeterData":"abc","signingMethod":"m","encodingMethod":"e","publicKey":"k"}]]'),
    (None, "[]"),
]


async def test_0022_keeps_the_readings_values_only_and_answers_as_the_view_did(empty_database: str) -> None:
    engine = create_engine(empty_database)
    columns = "id, reading_id, charge_point_id, connector_id, transaction_id, timestamp, " + ", ".join(t.SAMPLE_FIELDS) + \
        ", signed_meter_value"
    view = sa.text(f"SELECT {columns} FROM meter_values ORDER BY id")
    try:
        await _migrate(engine, empty_database, "0021")
        async with engine.begin() as conn:
            def old_rows(c: sa.Connection) -> None:
                _insert(c, "charge_points", [{"id": "CP-1", "lenient_actions": "[]", "connected": False,
                                              "created_at": AT, "updated_at": AT}])
                _insert(c, "meter_readings", [
                    {"charge_point_id": "CP-1", "connector_id": 1, "transaction_id": tx,
                     "timestamp": AT + timedelta(seconds=i), "sampled_values": stored}
                    for i, (tx, stored) in enumerate(OLD_READINGS)])

            await conn.run_sync(old_rows)
            before = (await conn.execute(view)).all()
        assert len(before) == 14

        await _migrate(engine, empty_database, "0022")
        async with engine.begin() as conn:
            assert (await conn.execute(view)).all() == before
            r = t.meter_readings.c
            stored = (await conn.execute(sa.select(r.samples).order_by(r.id))).scalars().all()
            # The values alone; the rest, spelled out once, in the shapes.
            assert stored[0] == "[1000123,7360,32.0,230.10]"
            assert stored[1] == '[1.5,15,"n/a","signed:abc"]'
            assert stored[3] == "[]"
            assert (await conn.execute(sa.select(sa.func.count()).select_from(t.meter_shape_sets))).scalar() == 4
            # The ids without an index on PostgreSQL (nothing reads by them); SQLite's are its rowids.
            key = await conn.run_sync(lambda c: sa.inspect(c).get_pk_constraint("meter_readings"))
            assert key["constrained_columns"] == ([] if engine.dialect.name == "postgresql" else ["id"])
            # A reading stored now is of the same shape as the converted ones, and goes beside them.
            set_id = (await conn.execute(sa.select(r.shape_set_id).where(r.id == 1))).scalar_one()
            await conn.execute(t.meter_readings.insert().values(
                charge_point_id="CP-1", connector_id=1, transaction_id=None, timestamp=AT, shape_set_id=set_id,
                samples="[1000124,7360,32.0,230.10]"))
            fresh = (await conn.execute(sa.select(r.id).order_by(r.id.desc()).limit(1))).scalar_one()
            assert fresh == 5  # the ids go on after those converted
            await conn.execute(sa.delete(t.meter_readings).where(r.id == fresh))

        await _migrate(engine, empty_database, "0021", down=True)
        async with engine.begin() as conn:
            back = (await conn.execute(sa.text("SELECT sampled_values FROM meter_readings ORDER BY id"))).scalars().all()
            assert back == [stored for _, stored in OLD_READINGS]
            assert (await conn.execute(view)).all() == before
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            assert not names & {"meter_shapes", "meter_shape_sets", "meter_readings_spelled", "meter_readings_packed"}
    finally:
        await engine.dispose()


async def test_0024_fills_sessions_per_charge_point_flagged_per_tag_and_status_classes_from_the_rollups_kept(empty_database: str) -> None:
    engine = create_engine(empty_database)
    # Rollups kept in Europe/Berlin: its 28 and 29 March from 27 and 28 23:00Z, March from 28
    # February 23:00Z. CP-1's two connectors, and sessions of two buckets on one of them.
    d28, d29, march = (datetime(2026, 3, 27, 23, tzinfo=UTC), datetime(2026, 3, 28, 23, tzinfo=UTC),
                       datetime(2026, 2, 28, 23, tzinfo=UTC))
    kept = [(d28, "CP-1", 1, 2, 1, 2), (d28, "CP-1", 1, 3, 1, 1), (d28, "CP-1", 2, 2, 1, 4), (d29, "CP-1", 1, 2, 1, 1),
            (d29, "CP-2", 1, 4, 2, 3)]
    try:
        await _migrate(engine, empty_database, "0023")
        async with engine.begin() as conn:
            for grain, at in (("day", lambda h: h), ("month", lambda h: march)):
                rows: dict[tuple[object, ...], dict[str, object]] = {}
                for hour, cp, connector, eb, db, n in kept:
                    key = (at(hour), cp, connector, eb, db)
                    row = rows.setdefault(key, {"hour": at(hour), "charge_point_id": cp, "evse_id": 0,
                                                "connector_id": connector, "energy_bucket": eb, "duration_bucket": db,
                                                "sessions": 0, "duration_s": 600.0, "energy_wh": 100.0, "flagged": 0})
                    row["sessions"] += n  # type: ignore[operator]
                await conn.execute(t.COARSER[t.report_sessions][grain].insert(), list(rows.values()))
            # Hourly rows by id tag, two of them flagged, in Berlin's 28th (10:00Z) and 29th (23:00Z).
            h10, h23 = datetime(2026, 3, 28, 10, tzinfo=UTC), datetime(2026, 3, 28, 23, tzinfo=UTC)
            await conn.execute(t.report_sessions.insert(), [
                {"hour": h, "charge_point_id": "CP-1", "evse_id": 0, "connector_id": 1, "id_tag": tag,
                 "energy_bucket": 2, "duration_bucket": 1, "sessions": 1, "duration_s": 600.0, "energy_wh": 100.0,
                 "flagged": flagged} for h, tag, flagged in ((h10, "TAG-A", 1), (h23, "TAG-A", 1), (h23, "TAG-B", 0))])
            for grain, found in (("day", [(d28, "TAG-A", 1), (d29, "TAG-A", 1), (d29, "TAG-B", 1)]),
                                 ("month", [(march, "TAG-A", 2), (march, "TAG-B", 1)])):
                # The tables as 0023 has them: no flagged column.
                await conn.execute(sa.text(f"INSERT INTO report_sessions_tag_{grain} (hour, id_tag, sessions)"
                                           " VALUES (:hour, :id_tag, :sessions)").bindparams(
                    sa.bindparam("hour", type_=t.UTCDateTime)),
                    [{"hour": h, "id_tag": tag, "sessions": n} for h, tag, n in found])
            # Status rows: four classes and a status no class knows on CP-1; CP-2's entry alone.
            status = [("Charging", "NoError", 100.0), ("Preparing", "NoError", 50.0), ("Finishing", "NoError", 20.0),
                      ("Faulted", "GroundFailure", 30.0), ("Weird", "NoError", 5.0)]
            for grain, at in (("day", d28), ("month", march)):
                await conn.execute(t.COARSER[t.report_status][grain].insert(), [
                    *({"hour": at, "charge_point_id": "CP-1", "evse_id": 0, "connector_id": 1, "status": name,
                       "error_code": code, "seconds": seconds, "entries": 1} for name, code, seconds in status),
                    {"hour": at, "charge_point_id": "CP-2", "evse_id": 0, "connector_id": 1, "status": "Available",
                     "error_code": "NoError", "seconds": 0.0, "entries": 1}])

        await _migrate(engine, empty_database, "0024")
        async with engine.connect() as conn:
            async def rows_of(table: sa.Table) -> list[tuple[object, ...]]:
                return [tuple(r) for r in (await conn.execute(sa.select(table).order_by(*table.primary_key.columns))).all()]

            assert await rows_of(t.SESSIONS_BY_CP["day"]) == [(d28, "CP-1", 7), (d29, "CP-1", 1), (d29, "CP-2", 3)]
            assert await rows_of(t.SESSIONS_BY_CP["month"]) == [(march, "CP-1", 8), (march, "CP-2", 3)]
            # Each flagged hour in the day (month) the per-connector rollup put it in.
            assert await rows_of(t.BY_TAG_DAY[t.report_sessions]) == [
                (d28, "TAG-A", 1, 1), (d29, "TAG-A", 1, 1), (d29, "TAG-B", 1, 0)]
            assert await rows_of(t.BY_TAG_MONTH[t.report_sessions]) == [(march, "TAG-A", 2, 2), (march, "TAG-B", 1, 0)]
            # Charging, occupied (Preparing, Finishing), available, unavailable, faulted, unknown.
            for grain, at in (("day", d28), ("month", march)):
                assert await rows_of(t.STATUS_CLASSES_BY[grain]) == [(at, "CP-1", 0, 1, 100.0, 70.0, 0.0, 0.0, 30.0, 5.0)]

        await _migrate(engine, empty_database, "0023", down=True)
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            left = (await conn.execute(sa.text("SELECT sum(sessions) FROM report_sessions_month"))).scalar_one()
            tag_columns = {c["name"] for c in await conn.run_sync(
                lambda c: sa.inspect(c).get_columns("report_sessions_tag_day"))}
            tag_sessions = (await conn.execute(sa.text("SELECT sum(sessions) FROM report_sessions_tag_day"))).scalar_one()
        assert not names & {"report_sessions_cp_day", "report_sessions_cp_month", "report_status_class_day",
                            "report_status_class_month"}
        assert left == 11 and tag_columns == {"hour", "id_tag", "sessions"} and tag_sessions == 3
        await _migrate(engine, empty_database, "head")
    finally:
        await engine.dispose()
