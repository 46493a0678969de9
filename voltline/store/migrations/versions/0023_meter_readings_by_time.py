"""Meter readings indexed by their time: the meter values list pages in that order

`GET /meter-values` lists sampled values oldest first, (timestamp, id). With no index of the
readings by time, every page sorted every matching reading (unpacked into its sampled values):
`?measurand=Voltage&offset=100000` over 10 M sampled values ran into the 10-s query time limit
(bench scenario 7). By this index a page walks the readings in order, counts their matching
sampled values by their shape set, and unpacks only the readings on the page. The timestamps of
readings come nearly in order, so each insert lands at the index's right edge. Rows do not
change; the downgrade drops the index.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_meter_readings_timestamp", "meter_readings", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_meter_readings_timestamp", table_name="meter_readings")
