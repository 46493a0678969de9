"""Transaction events keyed by their transaction: one index of two integers instead of two

Every 2.0.1 TransactionEvent adds a `transaction_events` row, and each of its indexes is one more
place written per event (on SQLite, one more page in every commit's WAL). The table had two: the
unique (charge point, transactionId, seqNo), whose string keys are the widest in the schema, and
(transaction id, seqNo), by which everything reads it. Voltline's transaction id stands for
(charge point, transactionId) one to one (`uq_transactions_ocpp_id`), so a unique
(transaction id, seqNo) says what the wide key said: a repeat of an event is still refused by the
database, across nodes. That one index is kept. Rows do not change; the downgrade puts the two
indexes back.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_transaction_events_transaction_seq", "transaction_events", ["transaction_id", "seq_no"], unique=True
    )
    op.drop_index("ix_transaction_events_transaction", table_name="transaction_events")
    op.drop_index("uq_transaction_events_seq", table_name="transaction_events")


def downgrade() -> None:
    op.create_index(
        "uq_transaction_events_seq", "transaction_events", ["charge_point_id", "ocpp_transaction_id", "seq_no"],
        unique=True,
    )
    op.create_index("ix_transaction_events_transaction", "transaction_events", ["transaction_id", "seq_no"])
    op.drop_index("uq_transaction_events_transaction_seq", table_name="transaction_events")
