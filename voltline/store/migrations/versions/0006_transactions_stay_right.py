"""Transactions stay right: ids never reused, a start's idempotency kept by the database, a limit
of active transactions per id tag, a note when Voltline closes a transaction itself

- `transactions`, `reservations`, `remote_starts`: AUTOINCREMENT on SQLite, where an id was
  handed out again once the rows holding the highest ones were deleted (a deleted charge
  point's transactions); on PostgreSQL each sequence is moved past the ids in use (reservation
  ids were max + 1, beside the sequence).
- `transactions`: a unique key of a StartTransaction (charge point, connector, start, id tag,
  meter start). Rows that repeat one (two nodes storing the same start at once) are merged into
  the oldest first: its meter values and references move to it, and it takes their stop when
  it has none. The key leads with the charge point, connector and start, so it replaces the
  index of those three. Partial indexes find the active transactions of a connector and of a
  tag among all the stopped ones. `stop_note` says why Voltline closed a transaction itself.
- `id_tags.max_active_transactions` (1; 0 = no limit), `charging_profiles.remote_start_id`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

START_KEY = ("charge_point_id", "connector_id", "started_at", "id_tag", "meter_start")
NUMBERED = ("transactions", "reservations", "remote_starts")  # tables whose ids are OCPP's or operators'
REFERENCES = ("meter_readings", "reservations", "remote_starts", "charging_profiles")  # transaction_id columns
STOP = ("meter_stop", "stopped_at", "stop_reason", "stop_id_tag")
OPEN = sa.text("stopped_at IS NULL")


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # The highest id of each table before the merge: the ids of merged rows were answered to
    # charge points, and stay spent.
    highest = {table: int(bind.scalar(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))) for table in NUMBERED}
    _merge_repeated_starts(bind)
    op.add_column("id_tags", sa.Column("max_active_transactions", sa.Integer, nullable=False, server_default="1"))
    op.add_column("charging_profiles", sa.Column("remote_start_id", sa.Integer))
    if sqlite:
        for table in NUMBERED:
            # SQLite changes a table's key only by copying the table.
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
                if table == "transactions":
                    batch.add_column(sa.Column("stop_note", sa.String(255)))
                    batch.drop_index("ix_transactions_cp_connector_started")
            # The copy set the table's sequence to the highest id copied.
            op.execute(f"DELETE FROM sqlite_sequence WHERE name = '{table}'")
            op.execute(f"INSERT INTO sqlite_sequence (name, seq) VALUES ('{table}', {highest[table]})")
    else:
        op.add_column("transactions", sa.Column("stop_note", sa.String(255)))
        op.drop_index("ix_transactions_cp_connector_started", "transactions")
        for table in NUMBERED:
            # Past every id in use: reservation ids were max + 1, which the sequence never saw.
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            op.execute(f"SELECT setval({sequence}, GREATEST({highest[table]}, nextval({sequence})))")
    op.create_index("uq_transactions_start", "transactions", list(START_KEY), unique=True)
    op.create_index(
        "ix_transactions_open_connector", "transactions", ["charge_point_id", "connector_id"],
        sqlite_where=OPEN, postgresql_where=OPEN,
    )
    op.create_index("ix_transactions_open_id_tag", "transactions", ["id_tag"], sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_transactions_open_id_tag", "transactions")
    op.drop_index("ix_transactions_open_connector", "transactions")
    op.drop_index("uq_transactions_start", "transactions")
    if sqlite:
        for table in NUMBERED:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}) as batch:
                if table == "transactions":
                    batch.drop_column("stop_note")
        with op.batch_alter_table("id_tags") as batch:
            batch.drop_column("max_active_transactions")
        with op.batch_alter_table("charging_profiles") as batch:
            batch.drop_column("remote_start_id")
    else:
        op.drop_column("transactions", "stop_note")
        op.drop_column("id_tags", "max_active_transactions")
        op.drop_column("charging_profiles", "remote_start_id")
    op.create_index("ix_transactions_cp_connector_started", "transactions", ["charge_point_id", "connector_id", "started_at"])


def _merge_repeated_starts(bind: sa.Connection) -> None:
    """Rows repeating one StartTransaction, merged into the oldest of them (the lowest id)."""
    key = ", ".join(START_KEY)
    on = " AND ".join(f"t.{name} = k.{name}" for name in START_KEY)
    pairs = bind.execute(
        sa.text(
            f"SELECT t.id AS repeat_id, k.keep_id FROM transactions AS t JOIN (SELECT {key}, MIN(id) AS keep_id"
            f" FROM transactions GROUP BY {key} HAVING COUNT(*) > 1) AS k ON {on} AND t.id <> k.keep_id ORDER BY t.id"
        )
    ).all()
    for repeat_id, keep_id in pairs:
        ids = {"repeat": repeat_id, "keep": keep_id}
        rows: dict[int, Any] = {
            row.id: row
            for row in bind.execute(
                sa.text(f"SELECT id, {', '.join(STOP)} FROM transactions WHERE id IN (:keep, :repeat)"), ids
            )
        }
        kept, repeat = rows[keep_id], rows[repeat_id]
        if kept.stopped_at is None and repeat.stopped_at is not None:
            # The charge point stopped the id it was answered with, which may be the repeat's.
            bind.execute(
                sa.text(f"UPDATE transactions SET {', '.join(f'{c} = :{c}' for c in STOP)} WHERE id = :keep"),
                {**ids, **{c: getattr(repeat, c) for c in STOP}},
            )
        for table in REFERENCES:
            bind.execute(sa.text(f"UPDATE {table} SET transaction_id = :keep WHERE transaction_id = :repeat"), ids)
        bind.execute(sa.text("DELETE FROM transactions WHERE id = :repeat"), ids)
