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
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("charge_points") as batch:
        batch.add_column(sa.Column("security_profile", sa.SmallInteger, nullable=False, server_default="0"))
    op.execute("UPDATE charge_points SET security_profile = 1 WHERE password_hash IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("charge_points") as batch:
        batch.drop_column("security_profile")
