"""The TransactionEvents of OCPP 2.0.1 kept one row each, and signed meter values beside the
sampled value they sign

- `transaction_events`: every TransactionEvent applied, by (charge point, transactionId, seqNo),
  unique: a repeat is found there and changes nothing, and the seqNos missing between those kept
  are the transaction's gaps. 1.6 transactions have none; no existing row is touched.
- The `meter_values` view gains `signed_meter_value`: a sampled value's 2.0.1 signedMeterValue
  (signedMeterData, signingMethod, encodingMethod, publicKey as received), kept as the tenth
  field of a reading's sampled values. Readings stored so far have nine: theirs is null.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The fields of one sampled value, in their order in `meter_readings.sampled_values`.
FIELDS = ("value", "unit", "raw_value", "raw_unit", "measurand", "phase", "context", "location", "format")
SIGNED = "signed_meter_value"
SPACING = 4096  # tables.SAMPLES_PER_READING
ONE_SIX = sa.text("evse_id IS NULL")  # tables.ONE_SIX


def _view_sql(dialect: str, fields: tuple[str, ...]) -> str:
    """As revision 0004 made the view, over `fields`."""
    if dialect == "postgresql":
        columns = ", ".join(
            f"(s.value ->> {i})::double precision AS value" if name == "value" else f"s.value ->> {i} AS {name}"
            for i, name in enumerate(fields)
        )
        return (
            f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.ordinality - 1 AS id, r.id AS reading_id,"
            " r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, " + columns +
            " FROM meter_readings AS r CROSS JOIN LATERAL"
            " jsonb_array_elements(r.sampled_values::jsonb) WITH ORDINALITY AS s(value, ordinality)"
        )
    columns = ", ".join(f"json_extract(s.value, '$[{i}]') AS {name}" for i, name in enumerate(fields))
    return (
        f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.key AS id, r.id AS reading_id,"
        " r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, " + columns +
        " FROM meter_readings AS r, json_each(r.sampled_values) AS s"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "transaction_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("ocpp_transaction_id", sa.String(36), nullable=False),
        sa.Column("seq_no", sa.Integer, nullable=False),
        sa.Column("transaction_id", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(8), nullable=False),
        sa.Column("trigger_reason", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offline", sa.Boolean, nullable=False),
        sa.Column("charging_state", sa.String(16)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_point_id"], ["charge_points.id"], ondelete="CASCADE",
            name="fk_transaction_events_charge_point_id_charge_points",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_transaction_events"),
    )
    op.create_index(
        "uq_transaction_events_seq", "transaction_events", ["charge_point_id", "ocpp_transaction_id", "seq_no"],
        unique=True,
    )
    op.create_index("ix_transaction_events_transaction", "transaction_events", ["transaction_id", "seq_no"])
    op.execute("DROP VIEW meter_values")
    op.execute(_view_sql(dialect, (*FIELDS, SIGNED)))
    # A start's key holds for 1.6 rows only: 2.0.1 numbers connectors per EVSE, so two EVSEs'
    # transactions may share connector, start time and meter start.
    op.drop_index("uq_transactions_start", "transactions")
    _start_index(ONE_SIX)


def _start_index(where: sa.TextClause | None) -> None:
    op.create_index(
        "uq_transactions_start", "transactions",
        ["charge_point_id", "connector_id", "started_at", "id_tag", "meter_start"], unique=True,
        sqlite_where=where, postgresql_where=where,
    )


def downgrade() -> None:
    # The signed values stay in the readings (a tenth field the older view does not read). The
    # start key covers every row again: a 2.0.1 row that breaks it makes the downgrade fail
    # rather than lose a transaction.
    op.drop_index("uq_transactions_start", "transactions")
    _start_index(None)
    op.execute("DROP VIEW meter_values")
    op.execute(_view_sql(op.get_bind().dialect.name, FIELDS))
    op.drop_index("ix_transaction_events_transaction", "transaction_events")
    op.drop_index("uq_transaction_events_seq", "transaction_events")
    op.drop_table("transaction_events")
