"""The message log's per charge point index led by the row's block, not the charge point

An index led by the charge point took each new log row at a random place, so every group commit
rewrote about one index page per connected charge point. See tables.message_block.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_cp_id", table_name="messages")
    op.create_index("ix_messages_block_cp", "messages", [sa.text("(id >> 12)"), "charge_point_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_block_cp", table_name="messages")
    op.create_index("ix_messages_cp_id", "messages", ["charge_point_id", "id"])
