"""Leaner indexes on the two tables that take most rows: the message log and meter values

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_meter_values_cp_time", table_name="meter_values")
    op.drop_index("ix_messages_cp_time", table_name="messages")
    op.drop_index("ix_messages_action", table_name="messages")
    op.create_index("ix_messages_cp_id", "messages", ["charge_point_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_cp_id", table_name="messages")
    op.create_index("ix_messages_action", "messages", ["action"])
    op.create_index("ix_messages_cp_time", "messages", ["charge_point_id", "created_at"])
    op.create_index("ix_meter_values_cp_time", "meter_values", ["charge_point_id", "timestamp"])
