"""Peak power rollups: the network's and each charge point's power per hour, and their highest
hour per day and month of the reports' time zone

The peak power report read every hourly energy row of its range (a year of a network: millions);
it now reads these. The hourly ones are filled here from report_energy; the day and month ones
follow the reports' time zone, which the schema does not know: `voltline reports rebuild` fills
them for a database that already holds rollups. Existing tables are untouched.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_GRAINS = ("day", "month")
# A row's power: its highest sample, or without samples its average (Wh over 1 h = W).
_WATTS = "CASE WHEN coalesce(peak_power_w, 0.0) > energy_wh THEN peak_power_w ELSE energy_wh END"


def _columns(charge_point: bool) -> list[sa.Column]:
    columns = [sa.Column("hour", sa.DateTime(timezone=True), primary_key=True)]
    if charge_point:
        columns.append(sa.Column("charge_point_id", sa.String(255), primary_key=True, nullable=False))
    return columns + [sa.Column("power_w", sa.Float, nullable=False),
                      sa.Column("at", sa.DateTime(timezone=True), nullable=False)]


def _names() -> list[tuple[str, bool]]:
    return [(f"{base}{suffix}", base.endswith("_cp"))
            for base in ("report_peak", "report_peak_cp") for suffix in ("", *(f"_{g}" for g in _GRAINS))]


def upgrade() -> None:
    for name, charge_point in _names():
        key = ["hour", "charge_point_id"] if charge_point else ["hour"]
        op.create_table(name, *_columns(charge_point), sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"))
        if charge_point:
            op.create_index(f"ix_{name}_cp", name, ["charge_point_id", "hour"])
    op.execute(
        "INSERT INTO report_peak_cp (hour, charge_point_id, power_w, at)"
        f" SELECT hour, charge_point_id, sum({_WATTS}), hour FROM report_energy GROUP BY hour, charge_point_id"
    )
    op.execute(
        "INSERT INTO report_peak (hour, power_w, at) SELECT hour, sum(power_w), hour FROM report_peak_cp GROUP BY hour"
    )


def downgrade() -> None:
    for name, charge_point in reversed(_names()):
        if charge_point:
            op.drop_index(f"ix_{name}_cp", name)
        op.drop_table(name)
