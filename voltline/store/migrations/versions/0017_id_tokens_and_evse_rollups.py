"""Id tokens of OCPP 2.0.1's width, and per-connector report rollups keyed by EVSE too

- Every column holding an id tag grows from 20 to 36 characters: 1.6's idTag is at most 20,
  2.0.1's IdTokenType.idToken at most 36. On PostgreSQL a 2.0.1 station's longer token failed the
  write (and the station got InternalError). SQLite does not enforce a VARCHAR's length: its
  columns are left as they are, no table is rebuilt for a number nothing reads.
- The per-connector rollups (energy, sessions, idle time, status time; hourly, daily, monthly)
  gain `evse_id` in their key: two EVSEs' connector 1 of a 2.0.1 station were one row. Rows of
  so far keep their values with `evse_id` 0, how these tables spell "numbered as 1.6 numbers it"
  (tables.ROLLUP_NO_EVSE: a primary key's column cannot be null).

The downgrade keeps every value or refuses: it stops, saying where, when an id tag is longer
than 20 characters or a rollup row belongs to a 2.0.1 EVSE (narrowing would cut the tag, and two
EVSEs' rows would collide in the older key). Delete or shorten those rows first; the rollups can
be rebuilt (`voltline reports rebuild`) once downgraded.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

OLD, NEW = 20, 36
ID_TAG_COLUMNS = {
    "id_tags": ("id_tag", "parent_id_tag"),
    "transactions": ("id_tag", "stop_id_tag"),
    "reservations": ("id_tag", "parent_id_tag"),
    "remote_starts": ("id_tag",),
    "local_list_entries": ("id_tag", "parent_id_tag"),
    "report_energy": ("id_tag",),
    "report_sessions": ("id_tag",),
    "report_idle": ("id_tag",),
    "report_energy_tag_month": ("id_tag",),
    "report_sessions_tag_month": ("id_tag",),
}
PER_CONNECTOR_ROLLUPS = tuple(
    f"{name}{grain}" for name in ("report_energy", "report_sessions", "report_idle", "report_status")
    for grain in ("", "_day", "_month")
)
NO_EVSE = "0"  # tables.ROLLUP_NO_EVSE


def _resize(length: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in ID_TAG_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.String(OLD if length == NEW else NEW))


def _key(table: str) -> list[str]:
    return list(sa.inspect(op.get_bind()).get_pk_constraint(table)["constrained_columns"])


def _rekey(table: str, key: list[str], *, add: bool) -> None:
    """Replace `table`'s primary key with `key`, adding or dropping `evse_id` on the way."""
    evse = sa.Column("evse_id", sa.Integer, nullable=False, server_default=NO_EVSE, autoincrement=False)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a primary key in place: the table is copied (its index with it).
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            if add:
                batch.add_column(evse)
            else:
                batch.drop_column("evse_id")
            batch.create_primary_key(f"pk_{table}", key)
        return
    op.drop_constraint(f"pk_{table}", table, type_="primary")
    if add:
        op.add_column(table, evse)
    else:
        op.drop_column(table, "evse_id")
    op.create_primary_key(f"pk_{table}", table, key)


def upgrade() -> None:
    _resize(NEW)
    for table in PER_CONNECTOR_ROLLUPS:
        key = _key(table)
        at = key.index("connector_id")
        _rekey(table, [*key[:at], "evse_id", *key[at:]], add=True)


def _refuse_if(found: list[str], why: str) -> None:
    if found:
        raise RuntimeError(f"revision 0017 cannot be downgraded: {why}: {', '.join(found)}")


def downgrade() -> None:
    bind = op.get_bind()
    long = [
        f"{table}.{column} ({count} rows)"
        for table, columns in ID_TAG_COLUMNS.items() for column in columns
        if (count := bind.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE length({column}) > {OLD}")))
    ]
    _refuse_if(long, f"these id tags are longer than the {OLD} characters the older schema holds")
    by_evse = [
        f"{table} ({count} rows)" for table in PER_CONNECTOR_ROLLUPS
        if (count := bind.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE evse_id <> {NO_EVSE}")))
    ]
    _refuse_if(by_evse, "these report rollups hold rows of 2.0.1 EVSEs, which the older key would merge"
                        " (delete them, and run `voltline reports rebuild` after the downgrade)")
    for table in PER_CONNECTOR_ROLLUPS:
        _rekey(table, [c for c in _key(table) if c != "evse_id"], add=False)
    _resize(OLD)
