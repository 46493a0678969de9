"""Operators get a time zone: the dashboard shows times and reads date filters in it

`users.time_zone` is an IANA name (`Europe/Berlin`), or null for "not chosen yet": the dashboard
then shows UTC and saves the browser's zone at the operator's next login. The API stays UTC.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
