"""Remote starts keep the remoteStartId they went out with

A RequestStartTransaction written by the operator (the generic command endpoint) carries a
remoteStartId the operator chose; the station names it in the TransactionEvent that follows. The
remote start's own id is what Voltline puts there when it chooses (the remote-start shortcut), so
only the operator's choice needs keeping: `ocpp_remote_start_id` is null on the rows of so far
and on those Voltline numbered, which the match reads as the row's own id. Nothing existing
changes; the downgrade drops the column.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remote_starts") as batch:
        batch.add_column(sa.Column("ocpp_remote_start_id", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("remote_starts") as batch:
        batch.drop_column("ocpp_remote_start_id")
