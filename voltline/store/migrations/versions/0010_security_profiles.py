"""Charge points get an OCPP security profile (0-3): what their connections must prove

A charge point registered with a password was held to it before: it starts at profile 1 (HTTP
Basic), the others at 0. Raising one to 2 or 3 (TLS; a client certificate) is the operator's.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, on SQLite too (3.35+ drops a column in place): a batch rebuild of
# charge_points would drop the old table, and with it, by ON DELETE CASCADE, every row that
# refers to a charge point.
def upgrade() -> None:
    op.add_column("charge_points", sa.Column("security_profile", sa.SmallInteger, nullable=False, server_default="0"))
    op.execute("UPDATE charge_points SET security_profile = 1 WHERE password_hash IS NOT NULL")


def downgrade() -> None:
    op.drop_column("charge_points", "security_profile")
