"""Sessions per charge point and day or month (report_sessions_cp_day, _month); the flagged
sessions in the per-id-tag session rollups; a connector's seconds per class of status and day
or month (report_status_class_day, _month)

Energy by charge point over a year counted each charge point's sessions from the per-connector
session rollups, keyed by energy and duration bucket: some 175 month rows a charge point a year
and as many day rows at the range's edges (about 335,000 rows at 1,000 charge points). The new
tables hold one row per charge point and day or month. A parent's tags over a year counted
their flagged sessions from the hourly rows (some 70,000 for 50 of 2,000 tags): the per-id-tag
day and month rollups (report_sessions_tag_day, _month) gain a `flagged` column.

Utilisation over a year summed some 5 rows a connector and month by status and error code
(105,000 rows at 1,000 charge points with the edges' days and hours): the class tables hold one.

Filled here from the rollups kept, so the reports answer as before: the new tables from the
per-connector day and month rollups (their `hour` is already the local day's or month's start),
the flagged counts from the hourly rows, each hour placed in the day (month) the per-connector
day (month) rollup put it in, as 0020 does. Other tables are untouched.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_GRAINS = ("day", "month")
_ID = 255  # tables.Id
# services.reports.classes as of this revision: a status's class; any other status is unknown.
_CLASSES = {
    "charging": ("Charging",), "occupied": ("Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Occupied"),
    "available": ("Available",), "unavailable": ("Unavailable",), "faulted": ("Faulted",),
}
_KNOWN = tuple(status for statuses in _CLASSES.values() for status in statuses)


def _listed(statuses: tuple[str, ...]) -> str:
    return ", ".join(f"'{status}'" for status in statuses)


def _class_sums() -> str:
    sums = [f"sum(CASE WHEN status IN ({_listed(statuses)}) THEN seconds ELSE 0 END)" for statuses in _CLASSES.values()]
    sums.append(f"sum(CASE WHEN status NOT IN ({_listed(_KNOWN)}) THEN seconds ELSE 0 END)")
    return ", ".join(sums)


_CLASS_COLUMNS = [f"{name}_s" for name in (*_CLASSES, "unknown")]


def fill_statements() -> list[str]:
    """The SQL that fills the new tables and columns from the rollups kept so far
    (bench/report_year.py runs it too, after writing the older rollups)."""
    statements = [f"INSERT INTO report_sessions_cp_{grain} (hour, charge_point_id, sessions)"
                  f" SELECT hour, charge_point_id, sum(sessions) FROM report_sessions_{grain}"
                  f" GROUP BY hour, charge_point_id" for grain in _GRAINS]
    for grain in _GRAINS:
        # The periods with some time in a status (entries alone add nothing live either).
        statements.append(
            f"INSERT INTO report_status_class_{grain} (hour, charge_point_id, evse_id, connector_id,"
            f" {', '.join(_CLASS_COLUMNS)}) SELECT hour, charge_point_id, evse_id, connector_id, {_class_sums()}"
            f" FROM report_status_{grain} GROUP BY hour, charge_point_id, evse_id, connector_id"
            f" HAVING sum(CASE WHEN seconds <> 0 THEN 1 ELSE 0 END) > 0"
        )
    for grain in _GRAINS:
        # Only the hours with a flagged session: the column's default is right for the rest.
        statements.append(
            f"UPDATE report_sessions_tag_{grain} SET flagged = f.n FROM ("
            f"SELECT starts.start, h.id_tag, sum(h.flagged) AS n FROM report_sessions h JOIN ("
            f"SELECT hours.hour, (SELECT max(c.hour) FROM report_sessions_{grain} c WHERE c.hour <= hours.hour) AS start"
            f" FROM (SELECT DISTINCT hour FROM report_sessions WHERE flagged > 0) hours"
            f") starts ON starts.hour = h.hour WHERE h.flagged > 0 AND starts.start IS NOT NULL"
            f" GROUP BY starts.start, h.id_tag"
            f") f WHERE report_sessions_tag_{grain}.hour = f.start AND report_sessions_tag_{grain}.id_tag = f.id_tag"
        )
    return statements


def upgrade() -> None:
    for grain in _GRAINS:
        name = f"report_sessions_cp_{grain}"
        op.create_table(
            name,
            sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
            sa.Column("charge_point_id", sa.String(_ID), primary_key=True),
            sa.Column("sessions", sa.Integer, nullable=False),
            sa.PrimaryKeyConstraint("hour", "charge_point_id", name=f"pk_{name}"),
        )
        op.create_index(f"ix_{name}_cp", name, ["charge_point_id", "hour"])
        name = f"report_status_class_{grain}"
        op.create_table(
            name,
            sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
            sa.Column("charge_point_id", sa.String(_ID), primary_key=True),
            sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
            sa.Column("connector_id", sa.Integer, primary_key=True, autoincrement=False),
            *(sa.Column(column, sa.Float, nullable=False, server_default="0") for column in _CLASS_COLUMNS),
            sa.PrimaryKeyConstraint("hour", "charge_point_id", "evse_id", "connector_id", name=f"pk_{name}"),
        )
        op.create_index(f"ix_{name}_cp", name, ["charge_point_id", "hour"])
        op.add_column(f"report_sessions_tag_{grain}",
                      sa.Column("flagged", sa.Integer, nullable=False, server_default="0"))
    for statement in fill_statements():
        op.execute(statement)


def downgrade() -> None:
    for grain in reversed(_GRAINS):
        with op.batch_alter_table(f"report_sessions_tag_{grain}") as batch:
            batch.drop_column("flagged")
        name = f"report_status_class_{grain}"
        op.drop_index(f"ix_{name}_cp", name)
        op.drop_table(name)
        name = f"report_sessions_cp_{grain}"
        op.drop_index(f"ix_{name}_cp", name)
        op.drop_table(name)
