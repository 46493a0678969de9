"""Sessions per charge point and day or month (report_sessions_cp_day, _month)

Energy by charge point over a year counted each charge point's sessions from the per-connector
session rollups, keyed by energy and duration bucket: some 175 month rows a charge point a year
and as many day rows at the range's edges (about 335,000 rows at 1,000 charge points). These hold
one row per charge point and day or month.

Filled here from the per-connector day and month rollups (their `hour` is already the local
day's or month's start), so the report answers as before. Existing tables are untouched.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_GRAINS = ("day", "month")
_ID = 255  # tables.Id


def fill_statements() -> list[str]:
    """The SQL that fills the new tables from the rollups kept so far (bench/report_year.py runs
    it too, after writing the older rollups)."""
    return [f"INSERT INTO report_sessions_cp_{grain} (hour, charge_point_id, sessions)"
            f" SELECT hour, charge_point_id, sum(sessions) FROM report_sessions_{grain}"
            f" GROUP BY hour, charge_point_id" for grain in _GRAINS]


def upgrade() -> None:
    for grain in _GRAINS:
        name = f"report_sessions_cp_{grain}"
        op.create_table(
            name,
            sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
            sa.Column("charge_point_id", sa.String(_ID), primary_key=True),
            sa.Column("sessions", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("hour", "charge_point_id", name=f"pk_{name}"),
        )
        op.create_index(f"ix_{name}_cp", name, ["charge_point_id", "hour"])
    for statement in fill_statements():
        op.execute(statement)


def downgrade() -> None:
    for grain in reversed(_GRAINS):
        name = f"report_sessions_cp_{grain}"
        op.drop_index(f"ix_{name}_cp", name)
        op.drop_table(name)
