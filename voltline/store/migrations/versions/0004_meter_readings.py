"""Meter values stored one row per meterValue entry; `meter_values` becomes a view over them

A MeterValues with four sampled values was four rows, each a B-tree insert and an index entry;
it is now one row whose sampled values are a JSON array. The view `meter_values` shows every
sampled value as a row of its own, with the columns the table had, so reads are unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The fields of one sampled value, in their order in `sampled_values` (tables.SAMPLE_FIELDS).
FIELDS = ("value", "unit", "raw_value", "raw_unit", "measurand", "phase", "context", "location", "format")
SPACING = 4096  # tables.SAMPLES_PER_READING


def _view_sql(dialect: str) -> str:
    if dialect == "postgresql":
        fields = ", ".join(
            f"(s.value ->> {i})::double precision AS value" if name == "value" else f"s.value ->> {i} AS {name}"
            for i, name in enumerate(FIELDS)
        )
        return (
            f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.ordinality - 1 AS id, r.id AS reading_id,"
            " r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, " + fields +
            " FROM meter_readings AS r CROSS JOIN LATERAL"
            " jsonb_array_elements(r.sampled_values::jsonb) WITH ORDINALITY AS s(value, ordinality)"
        )
    fields = ", ".join(f"json_extract(s.value, '$[{i}]') AS {name}" for i, name in enumerate(FIELDS))
    return (
        f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.key AS id, r.id AS reading_id,"
        " r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, " + fields +
        " FROM meter_readings AS r, json_each(r.sampled_values) AS s"
    )


def _where_and_when() -> list[sa.Column]:  # type: ignore[type-arg]
    """The columns a reading and a sampled value row share: which meter, which session, when."""
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("connector_id", sa.Integer, nullable=False),
        sa.Column("transaction_id", sa.Integer),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "meter_readings",
        *_where_and_when(),
        sa.Column("sampled_values", sa.Text, nullable=False),
    )
    op.create_index("ix_meter_readings_transaction", "meter_readings", ["transaction_id", "timestamp"])
    # Every stored sampled value becomes a reading of one, in the order it was stored.
    array = "json_build_array" if dialect == "postgresql" else "json_array"
    cast = "::text" if dialect == "postgresql" else ""
    op.execute(
        "INSERT INTO meter_readings (charge_point_id, connector_id, transaction_id, timestamp, sampled_values)"
        f" SELECT charge_point_id, connector_id, transaction_id, timestamp, {array}({array}({', '.join(FIELDS)})){cast}"
        " FROM meter_values ORDER BY id"
    )
    op.drop_table("meter_values")
    op.execute(_view_sql(dialect))


def downgrade() -> None:
    op.execute("DROP VIEW meter_values")
    op.rename_table("meter_readings", "meter_readings_packed")
    op.create_table(
        "meter_values",
        *_where_and_when(),
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
    op.create_index("ix_meter_values_transaction", "meter_values", ["transaction_id", "timestamp"])
    # Every sampled value a row again, in the order they were stored (new ids, from the sequence).
    columns = "charge_point_id, connector_id, transaction_id, timestamp, " + ", ".join(FIELDS)
    sampled = _view_sql(op.get_bind().dialect.name).replace("meter_readings", "meter_readings_packed")
    sampled = sampled.removeprefix("CREATE VIEW meter_values AS ")
    op.execute(f"INSERT INTO meter_values ({columns}) SELECT {columns} FROM ({sampled}) AS sampled ORDER BY id")
    op.drop_table("meter_readings_packed")
