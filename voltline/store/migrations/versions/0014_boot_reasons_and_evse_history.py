"""What OCPP 2.0.1 charging stations say at boot, and their status history per EVSE

- `charge_points.boot_reason`: the reason of the latest BootNotification (2.0.1's BootReasonEnumType:
  PowerUp, Watchdog, RemoteReset, ...); 1.6 gives none, so null for every charge point so far.
- `charge_points.vendor` holds 50 characters: 2.0.1's vendorName is a string of 50, 1.6's
  chargePointVendor one of 20 (every stored vendor fits both).
- `connector_status_history.evse_id`: the EVSE a 2.0.1 status was reported for, null for a
  connector numbered as 1.6 numbers them (every row so far), as in `connectors`.

Downgrade: the columns go; a vendor longer than 20 characters is cut to 20, the history rows of
EVSE-numbered connectors are dropped (1.6 numbering cannot tell them apart).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("charge_points", sa.Column("boot_reason", sa.String(32)))
    op.add_column("connector_status_history", sa.Column("evse_id", sa.Integer))
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not enforce a VARCHAR's length
        op.alter_column("charge_points", "vendor", type_=sa.String(50), existing_type=sa.String(20))


def downgrade() -> None:
    op.execute("DELETE FROM connector_status_history WHERE evse_id IS NOT NULL")
    op.execute("UPDATE charge_points SET vendor = substr(vendor, 1, 20) WHERE length(vendor) > 20")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("charge_points", "vendor", type_=sa.String(20), existing_type=sa.String(50))
    for table, column in (("connector_status_history", "evse_id"), ("charge_points", "boot_reason")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
