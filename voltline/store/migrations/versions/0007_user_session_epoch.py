"""Operators get a session epoch: a password change or a logout ends their other dashboard sessions

The dashboard's session cookie is signed, not stored; a cookie names the epoch it was issued in,
and `users.session_epoch` grows with each password change and logout, on every node at once.
Existing operators start at 0, so the sessions open when this runs stay valid.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
