"""Connector status history and the hourly rollups of the reports

Every StatusNotification is kept with the charge point's timestamp. The report_* tables hold
hourly sums (energy, peak power, sessions, idle time, time per status, connectivity, failed
starts) that reports read instead of sampled values; `voltline reports rebuild` fills them from
the transactions, meter values and status history. Existing tables are untouched.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_GRAINS = ("day", "month")
# The day and month rollups leave the id tag out of their key.
_DROPS = {"report_energy": ("id_tag",), "report_sessions": ("id_tag",), "report_idle": ("id_tag",)}
_ROLLUPS = ("report_energy", "report_sessions", "report_idle", "report_status", "report_connectivity", "report_failed_starts")


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)


def _hour() -> sa.Column:
    return sa.Column("hour", sa.DateTime(timezone=True), primary_key=True)


def _cp(primary_key: bool = True) -> sa.Column:
    return sa.Column("charge_point_id", sa.String(255), primary_key=primary_key, nullable=False)


def upgrade() -> None:
    op.create_table(
        "connector_status_history",
        _id(),
        sa.Column("charge_point_id", sa.String(255), sa.ForeignKey("charge_points.id", ondelete="CASCADE",
                  name="fk_connector_status_history_charge_point_id_charge_points"), nullable=False),
        sa.Column("connector_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(32), nullable=False),
        sa.Column("info", sa.String(50)),
        sa.Column("vendor_id", sa.String(255)),
        sa.Column("vendor_error_code", sa.String(50)),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_connector_status_history"),
    )
    op.create_index("ix_connector_status_history_connector", "connector_status_history",
                    ["charge_point_id", "connector_id", "timestamp"])
    op.create_index("ix_connector_status_history_cp_time", "connector_status_history", ["charge_point_id", "timestamp"])

    op.create_table(
        "report_energy", _hour(), _cp(),
        sa.Column("connector_id", sa.Integer, primary_key=True),
        sa.Column("id_tag", sa.String(20), primary_key=True),
        sa.Column("energy_wh", sa.Float, nullable=False),
        sa.Column("peak_power_w", sa.Float),
        sa.PrimaryKeyConstraint("hour", "charge_point_id", "connector_id", "id_tag", name="pk_report_energy"),
    )
    op.create_index("ix_report_energy_cp", "report_energy", ["charge_point_id", "hour"])
    op.create_index("ix_report_energy_tag", "report_energy", ["id_tag", "hour"])
    op.create_table(
        "report_sessions", _hour(), _cp(),
        sa.Column("connector_id", sa.Integer, primary_key=True),
        sa.Column("id_tag", sa.String(20), primary_key=True),
        sa.Column("energy_bucket", sa.SmallInteger, primary_key=True),
        sa.Column("duration_bucket", sa.SmallInteger, primary_key=True),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("energy_wh", sa.Float, nullable=False),
        sa.Column("flagged", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "charge_point_id", "connector_id", "id_tag", "energy_bucket",
                                "duration_bucket", name="pk_report_sessions"),
    )
    op.create_index("ix_report_sessions_cp", "report_sessions", ["charge_point_id", "hour"])
    op.create_index("ix_report_sessions_tag", "report_sessions", ["id_tag", "hour"])
    op.create_table(
        "report_idle", _hour(), _cp(),
        sa.Column("connector_id", sa.Integer, primary_key=True),
        sa.Column("id_tag", sa.String(20), primary_key=True),
        sa.Column("idle_s", sa.Float, nullable=False),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "charge_point_id", "connector_id", "id_tag", name="pk_report_idle"),
    )
    op.create_table(
        "report_status", _hour(), _cp(),
        sa.Column("connector_id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("error_code", sa.String(32), primary_key=True),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "charge_point_id", "connector_id", "status", "error_code", name="pk_report_status"),
    )
    op.create_index("ix_report_status_cp", "report_status", ["charge_point_id", "hour"])
    op.create_table(
        "report_connectivity", _hour(), _cp(),
        sa.Column("connected_s", sa.Float, nullable=False),
        sa.Column("connects", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "charge_point_id", name="pk_report_connectivity"),
    )
    op.create_table(
        "report_failed_starts", _hour(), _cp(),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "charge_point_id", "kind", name="pk_report_failed_starts"),
    )


    # The same rollups by day and by month of the reports' time zone.
    inspector = sa.inspect(op.get_bind())
    for name in _ROLLUPS:
        dropped = _DROPS.get(name, ())
        columns = [c for c in inspector.get_columns(name) if c["name"] not in dropped]
        key = [c for c in inspector.get_pk_constraint(name)["constrained_columns"] if c not in dropped]
        for grain in _GRAINS:
            coarser = f"{name}_{grain}"
            op.create_table(
                coarser,
                *(sa.Column(c["name"], c["type"], nullable=c["nullable"]) for c in columns),
                sa.PrimaryKeyConstraint(*key, name=f"pk_{coarser}"),
            )
            op.create_index(f"ix_{coarser}_cp", coarser, ["charge_point_id", "hour"])
    op.create_table(
        "report_energy_tag_month", _hour(),
        sa.Column("id_tag", sa.String(20), primary_key=True),
        sa.Column("energy_wh", sa.Float, nullable=False),
        sa.Column("peak_power_w", sa.Float),
        sa.PrimaryKeyConstraint("hour", "id_tag", name="pk_report_energy_tag_month"),
    )
    op.create_table(
        "report_sessions_tag_month", _hour(),
        sa.Column("id_tag", sa.String(20), primary_key=True),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "id_tag", name="pk_report_sessions_tag_month"),
    )
    op.create_table(
        "report_session_starts_month", _hour(),
        sa.Column("hour_of_day", sa.SmallInteger, primary_key=True),
        sa.Column("day_of_week", sa.SmallInteger, primary_key=True),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "hour_of_day", "day_of_week", name="pk_report_session_starts_month"),
    )


def downgrade() -> None:
    for name in ("report_energy_tag_month", "report_sessions_tag_month", "report_session_starts_month"):
        op.drop_table(name)
    for name in _ROLLUPS:
        for grain in _GRAINS:
            op.drop_table(f"{name}_{grain}")
        op.drop_table(name)
    op.drop_index("ix_connector_status_history_cp_time", "connector_status_history")
    op.drop_index("ix_connector_status_history_connector", "connector_status_history")
    op.drop_table("connector_status_history")
