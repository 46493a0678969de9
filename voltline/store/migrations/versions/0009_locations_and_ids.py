"""Locations and identities ready for OCPP 2.0.1: EVSEs beside connectors, the transaction id as
on the wire, id tokens with a type, and what the charge point view lacked

- `connectors.evse_id`: the EVSE as 2.0.1 numbers it, null for a connector numbered as 1.6
  numbers them (every row so far). 2.0.1 numbers connectors per EVSE, so (charge point,
  connector) is no key any more: the primary key gives way to a unique index on (charge point,
  evse_id or 0, connector); 2.0.1 has no EVSE 0 to report a status for, so the two numberings
  cannot meet there.
- `transactions.ocpp_transaction_id`: the transactionId as on the wire (a string in 2.0.1),
  `str(id)` on 1.6, filled in for every existing row; unique per charge point.
  `transactions.evse_id` (null on 1.6, as for connectors), `transactions.id_token_type` (the
  type of the id token that started it; existing rows: ISO14443, the default of id tags), and
  `transactions.remote_start_id` (the remote start that led to it, taken from the remote starts
  matched so far).
- `id_tags.token_type`: one of 2.0.1's IdTokenEnumType values; every existing tag, and every tag
  created without one, is ISO14443 (an RFID card: what a 1.6 idTag almost always is).
- `charge_points.heartbeat_interval` (the interval its last boot was given: unknown for the boots
  before, so null until the next one), `log_status` / `log_status_at` (the latest
  LogStatusNotification, taken from the events stored so far). `ocpp_version` is now written per
  connection: charge points that ever connected did so with 1.6.

Downgrade: the rows of connectors numbered per EVSE (2.0.1's) cannot be kept without the
columns and are dropped; everything else goes back as it was. On SQLite it needs 3.35 or newer
(ALTER TABLE DROP COLUMN, which keeps the transactions' AUTOINCREMENT sequence).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from voltline.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DEFAULT_TOKEN_TYPE = "ISO14443"
CONNECTOR_COLUMNS = (
    "charge_point_id", "connector_id", "status", "error_code", "info", "vendor_id", "vendor_error_code", "status_at",
    "updated_at",
)
_LATEST_LOG = (
    "SELECT e.{column} FROM charge_point_events AS e WHERE e.charge_point_id = charge_points.id AND e.kind = 'log'"
    " ORDER BY e.timestamp DESC, e.id DESC LIMIT 1"
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"

    op.add_column("charge_points", sa.Column("heartbeat_interval", sa.Integer))
    op.add_column("charge_points", sa.Column("log_status", sa.String(32)))
    op.add_column("charge_points", sa.Column("log_status_at", UTCDateTime))
    op.execute(
        f"UPDATE charge_points SET log_status = ({_LATEST_LOG.format(column='status')}),"
        f" log_status_at = ({_LATEST_LOG.format(column='timestamp')})"
    )
    op.execute(
        "UPDATE charge_points SET ocpp_version = '1.6'"
        " WHERE ocpp_version IS NULL AND (connected_at IS NOT NULL OR last_boot_at IS NOT NULL)"
    )

    if sqlite:
        # SQLite changes a table's key only by copying the table.
        _copy_connectors(with_evse=True)
    else:
        op.add_column("connectors", sa.Column("evse_id", sa.Integer))
        op.drop_constraint("pk_connectors", "connectors", type_="primary")
    op.create_index(
        "uq_connectors_location", "connectors",
        ["charge_point_id", sa.text("coalesce(evse_id, 0)"), "connector_id"], unique=True,
    )

    op.add_column("transactions", sa.Column("ocpp_transaction_id", sa.String(36)))
    op.add_column("transactions", sa.Column("evse_id", sa.Integer))
    op.add_column("transactions", sa.Column("id_token_type", sa.String(20)))
    op.add_column("transactions", sa.Column("remote_start_id", sa.Integer))
    op.execute(
        "UPDATE transactions SET ocpp_transaction_id = CAST(id AS VARCHAR(36)),"
        f" id_token_type = '{DEFAULT_TOKEN_TYPE}',"
        " remote_start_id = (SELECT MIN(rs.id) FROM remote_starts AS rs WHERE rs.transaction_id = transactions.id)"
    )
    op.create_index(
        "uq_transactions_ocpp_id", "transactions", ["charge_point_id", "ocpp_transaction_id"], unique=True
    )

    op.add_column(
        "id_tags", sa.Column("token_type", sa.String(20), nullable=False, server_default=DEFAULT_TOKEN_TYPE)
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("uq_transactions_ocpp_id", "transactions")
    op.drop_index("uq_connectors_location", "connectors")
    op.execute("DELETE FROM connectors WHERE evse_id IS NOT NULL")
    if sqlite:
        _copy_connectors(with_evse=False)
    else:
        op.drop_column("connectors", "evse_id")
        op.create_primary_key("pk_connectors", "connectors", ["charge_point_id", "connector_id"])
    for table, column in (
        ("id_tags", "token_type"),
        ("transactions", "remote_start_id"),
        ("transactions", "id_token_type"),
        ("transactions", "evse_id"),
        ("transactions", "ocpp_transaction_id"),
        ("charge_points", "log_status_at"),
        ("charge_points", "log_status"),
        ("charge_points", "heartbeat_interval"),
    ):
        # Not a batch copy on SQLite: copying `transactions` would reset its AUTOINCREMENT sequence.
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def _copy_connectors(*, with_evse: bool) -> None:
    """SQLite: the connectors table anew, with or without `evse_id` and the primary key."""
    columns = [
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("connector_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=False),
        sa.Column("info", sa.String(50)),
        sa.Column("vendor_id", sa.String(255)),
        sa.Column("vendor_error_code", sa.String(50)),
        sa.Column("status_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_point_id"], ["charge_points.id"], name="fk_connectors_charge_point_id_charge_points",
            ondelete="CASCADE",
        ),
    ]
    if with_evse:
        columns.append(sa.Column("evse_id", sa.Integer))
    else:
        columns.append(sa.PrimaryKeyConstraint("charge_point_id", "connector_id", name="pk_connectors"))
    op.create_table("_connectors_copy", *columns)
    names = ", ".join(CONNECTOR_COLUMNS)
    op.execute(f"INSERT INTO _connectors_copy ({names}) SELECT {names} FROM connectors")
    op.drop_table("connectors")
    op.rename_table("_connectors_copy", "connectors")
