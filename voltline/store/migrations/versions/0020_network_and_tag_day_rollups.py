"""Network-wide rollups (energy, sessions, idle time per hour, day and month) and per-id-tag day
rollups (energy, sessions)

An unfiltered report over a year read a day row per connector (365 per connector, 365,000 at
1,000 charge points), and in another zone than the reports' an hourly row per connector and id
tag (millions); a year by id tag read the hours of the days at its edges. The network's tables
hold one row per hour, day or month (times the energy and duration buckets for sessions); the
tag ones one per id tag and day.

All are filled here from the rollups already kept, so the reports answer as before: the
network's by summing the per-connector rows of the same grain (their `hour` is already the
local day's or month's start), the tag days from the hourly rows, each hour placed in the day
the per-connector day rollup put it in (the latest day start at or before it: the reports' time
zone is a setting the schema does not know). Existing tables are untouched.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_GRAINS = ("", "_day", "_month")
_ID_TAG = 36  # tables.ID_TOKEN_LENGTH

_NETWORK = {
    "report_energy": ([], [sa.Column("energy_wh", sa.Float, nullable=False)]),
    "report_sessions": (
        [sa.Column("energy_bucket", sa.SmallInteger, primary_key=True),
         sa.Column("duration_bucket", sa.SmallInteger, primary_key=True)],
        [sa.Column("sessions", sa.Integer, nullable=False), sa.Column("duration_s", sa.Float, nullable=False),
         sa.Column("energy_wh", sa.Float, nullable=False), sa.Column("flagged", sa.Integer, nullable=False)],
    ),
    "report_idle": ([], [sa.Column("idle_s", sa.Float, nullable=False), sa.Column("sessions", sa.Integer, nullable=False)]),
}
_TAG_DAY = {
    "report_energy": [sa.Column("energy_wh", sa.Float, nullable=False), sa.Column("peak_power_w", sa.Float)],
    "report_sessions": [sa.Column("sessions", sa.Integer, nullable=False)],
}
_TAG_SUMMED = {"report_energy": "sum(energy_wh), max(peak_power_w)", "report_sessions": "sum(sessions)"}


def _hour() -> sa.Column:
    return sa.Column("hour", sa.DateTime(timezone=True), primary_key=True)


def fill_statements() -> list[str]:
    """The SQL that fills the new tables from the rollups kept so far (bench/report_year.py runs
    it too, after writing the older rollups)."""
    statements = []
    for base, (keys, values) in _NETWORK.items():
        grouped = ", ".join(["hour", *(c.name for c in keys)])
        value_names = [c.name for c in values]
        sums = ", ".join(f"sum({v})" for v in value_names)
        statements += [f"INSERT INTO {base}_net{grain} ({grouped}, {', '.join(value_names)})"
                       f" SELECT {grouped}, {sums} FROM {base}{grain} GROUP BY {grouped}" for grain in _GRAINS]
    for base, values in _TAG_DAY.items():
        statements.append(
            f"INSERT INTO {base}_tag_day (hour, id_tag, {', '.join(c.name for c in values)})"
            f" SELECT days.day, h.id_tag, {_TAG_SUMMED[base]} FROM {base} h JOIN ("
            f"SELECT hours.hour, (SELECT max(d.hour) FROM {base}_day d WHERE d.hour <= hours.hour) AS day"
            f" FROM (SELECT DISTINCT hour FROM {base}) hours"
            f") days ON days.hour = h.hour WHERE days.day IS NOT NULL GROUP BY days.day, h.id_tag"
        )
    return statements


def upgrade() -> None:
    for base, (keys, values) in _NETWORK.items():
        for grain in _GRAINS:
            name = f"{base}_net{grain}"
            op.create_table(name, _hour(), *(c._copy() for c in keys), *(c._copy() for c in values),
                            sa.PrimaryKeyConstraint("hour", *(c.name for c in keys), name=f"pk_{name}"))
    for base, values in _TAG_DAY.items():
        name = f"{base}_tag_day"
        op.create_table(name, _hour(), sa.Column("id_tag", sa.String(_ID_TAG), primary_key=True),
                        *(c._copy() for c in values), sa.PrimaryKeyConstraint("hour", "id_tag", name=f"pk_{name}"))
        op.create_index(f"ix_{name}_tag", name, ["id_tag", "hour"])
    for statement in fill_statements():
        op.execute(statement)


def downgrade() -> None:
    for base in _TAG_DAY:
        op.drop_index(f"ix_{base}_tag_day_tag", f"{base}_tag_day")
        op.drop_table(f"{base}_tag_day")
    for base in _NETWORK:
        for grain in reversed(_GRAINS):
            op.drop_table(f"{base}_net{grain}")
