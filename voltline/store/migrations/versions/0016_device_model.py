"""The device model of 2.0.1 charge points, and the reports that fill it

`device_variables` keeps each attribute of each variable of each component of a charge point,
as last reported (NotifyReport), read (GetVariables) or set (SetVariables). `device_reports`
follows each GetBaseReport / GetReport and its NotifyReport parts. Both are new: no existing row
changes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from voltline.store.tables import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _charge_point(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["charge_point_id"], ["charge_points.id"], name=op.f(f"fk_{table}_charge_point_id_charge_points"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "device_variables",
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("component", sa.String(50), nullable=False),
        sa.Column("component_instance", sa.String(50), nullable=False, server_default=""),
        sa.Column("evse_id", sa.Integer(), nullable=False, server_default="0", autoincrement=False),
        sa.Column("connector_id", sa.Integer(), nullable=False, server_default="0", autoincrement=False),
        sa.Column("variable", sa.String(50), nullable=False),
        sa.Column("variable_instance", sa.String(50), nullable=False, server_default=""),
        sa.Column("attribute_type", sa.String(8), nullable=False, server_default="Actual"),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("mutability", sa.String(10), nullable=True),
        sa.Column("persistent", sa.Boolean(), nullable=True),
        sa.Column("constant", sa.Boolean(), nullable=True),
        sa.Column("data_type", sa.String(16), nullable=True),
        sa.Column("unit", sa.String(16), nullable=True),
        sa.Column("min_limit", sa.Float(), nullable=True),
        sa.Column("max_limit", sa.Float(), nullable=True),
        sa.Column("values_list", sa.String(1000), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _charge_point("device_variables"),
        sa.PrimaryKeyConstraint(
            "charge_point_id", "component", "component_instance", "evse_id", "connector_id", "variable",
            "variable_instance", "attribute_type", name=op.f("pk_device_variables"),
        ),
    )
    op.create_index("ix_device_variables_cp_variable", "device_variables", ["charge_point_id", "variable"])
    op.create_table(
        "device_reports",
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(24), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(24), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("variables", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_seq_no", sa.Integer(), nullable=True),
        sa.Column("generated_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _charge_point("device_reports"),
        sa.PrimaryKeyConstraint("charge_point_id", "request_id", name=op.f("pk_device_reports")),
    )


def downgrade() -> None:
    op.drop_table("device_reports")
    op.drop_index("ix_device_variables_cp_variable", "device_variables")
    op.drop_table("device_variables")
