"""Meter readings keep only their values; what the sampled values say about themselves is stored once

A reading of four sampled values took ~450 bytes: every sampled value spelled out its measurand,
unit, context, location and format ("Energy.Active.Import.Register", "Sample.Periodic", ...) and
its value twice (normalized and as sent). Now each distinct set of shapes (the fields of a
reading's sampled values, in order) is a row of `meter_shape_sets` with one `meter_shapes` row per
place, and a reading keeps its set's id and its values, a JSON array: the number as sent when the
value follows from it, else the text, else [text, value(, signedMeterValue)]. The index by
transaction leaves out the readings of none; on PostgreSQL the ids have no index (SQLite's are
the rowid). The `meter_values` view shows the same rows as before.

Existing readings are converted (same ids); the downgrade converts them back.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

import hashlib
import json
import re
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

SPACING = 4096  # tables.SAMPLES_PER_READING
CHUNK = 5000
SHAPE_FIELDS = ("unit", "raw_unit", "measurand", "phase", "context", "location", "format", "multiplier", "factor")
# As services.transactions.meter_values has them on this revision.
_NORMALIZE = {"kWh": ("Wh", 1000.0), "kW": ("W", 1000.0), "kvarh": ("varh", 1000.0), "kvar": ("var", 1000.0),
              "kVA": ("VA", 1000.0), "Celcius": ("Celsius", 1.0)}
_PLAIN = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
OPEN = "transaction_id IS NOT NULL"


def _shape(unit: Any, raw_unit: Any, measurand: str, phase: Any, context: str, location: str, fmt: str) -> tuple:
    multiplier, factor, base = 1.0, 1.0, raw_unit or "Wh"
    if raw_unit is not None and "*10^" in raw_unit:
        base, _, exponent = raw_unit.rpartition("*10^")
        try:
            multiplier = 10.0 ** int(exponent)
        except (ValueError, OverflowError):
            multiplier, base = 1.0, raw_unit
    normalized = _NORMALIZE.get(base)
    if normalized is not None and normalized[0] == unit:
        factor = normalized[1]
    return (unit, raw_unit, measurand, phase, context, location, fmt, multiplier, factor)


def _stored(raw: str, value: Any, signed: Any, shape: tuple) -> str:
    if signed is None:
        if value is None:
            return orjson.dumps(raw).decode()
        if (len(raw) <= 15 and _PLAIN.fullmatch(raw) is not None and not (value == 0.0 and raw[0] == "-")
                and float(raw) * shape[7] * shape[8] == value):
            return raw
        return orjson.dumps([raw, value]).decode()
    return orjson.dumps([raw, value, signed]).decode()


def _view_sql(dialect: str) -> str:
    """The `meter_values` view over the readings and their shapes."""
    shape = "k.unit, {raw}, k.raw_unit, k.measurand, k.phase, k.context, k.location, k.format"
    if dialect == "postgresql":
        kind = "jsonb_typeof(s.value)"
        value = (f"CASE {kind} WHEN 'array' THEN (s.value ->> 1)::double precision"
                 f" WHEN 'number' THEN (s.value #>> '{{}}')::double precision * k.multiplier * k.factor END AS value")
        raw = f"CASE {kind} WHEN 'array' THEN s.value ->> 0 ELSE s.value #>> '{{}}' END AS raw_value"
        return (
            f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.ordinality - 1 AS id, r.id AS reading_id,"
            f" r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, {value}, {shape.format(raw=raw)},"
            f" CASE {kind} WHEN 'array' THEN s.value ->> 2 END AS signed_meter_value"
            " FROM meter_readings AS r CROSS JOIN LATERAL"
            " jsonb_array_elements(r.samples::jsonb) WITH ORDINALITY AS s(value, ordinality)"
            " JOIN meter_shapes AS k ON k.set_id = r.shape_set_id AND k.position = s.ordinality - 1"
        )
    value = ("CASE s.type WHEN 'array' THEN json_extract(s.value, '$[1]') WHEN 'text' THEN NULL"
             " ELSE CAST(s.value AS REAL) * k.multiplier * k.factor END AS value")
    # A number's text as stored (`->` gives it verbatim; the SQL value would be reformatted).
    raw = ("CASE s.type WHEN 'array' THEN json_extract(s.value, '$[0]') WHEN 'text' THEN s.value"
           " ELSE r.samples -> s.fullkey END AS raw_value")
    return (
        f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.key AS id, r.id AS reading_id,"
        f" r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, {value}, {shape.format(raw=raw)},"
        " CASE s.type WHEN 'array' THEN json_extract(s.value, '$[2]') END AS signed_meter_value"
        # In this order (CROSS JOIN keeps it): a reading's values unpacked once, each value's shape
        # found by its key; the planner would rather take every shape of the set first and unpack
        # the values once for each.
        " FROM meter_readings AS r CROSS JOIN json_each(r.samples) AS s CROSS JOIN meter_shapes AS k"
        " WHERE k.set_id = r.shape_set_id AND k.position = s.key"
    )


# The fields of one sampled value in the readings of revisions 0015-0019, as 0015 made the view.
FIELDS = ("value", "unit", "raw_value", "raw_unit", "measurand", "phase", "context", "location", "format")
SIGNED = "signed_meter_value"


def _old_view_sql(dialect: str) -> str:
    fields = (*FIELDS, SIGNED)
    if dialect == "postgresql":
        columns = ", ".join(
            f"(s.value ->> {i})::double precision AS value" if name == "value" else f"s.value ->> {i} AS {name}"
            for i, name in enumerate(fields)
        )
        return (
            f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.ordinality - 1 AS id, r.id AS reading_id,"
            " r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, " + columns +
            " FROM meter_readings AS r CROSS JOIN LATERAL"
            " jsonb_array_elements(r.sampled_values::jsonb) WITH ORDINALITY AS s(value, ordinality)"
        )
    columns = ", ".join(f"json_extract(s.value, '$[{i}]') AS {name}" for i, name in enumerate(fields))
    return (
        f"CREATE VIEW meter_values AS SELECT r.id * {SPACING} + s.key AS id, r.id AS reading_id,"
        " r.charge_point_id, r.connector_id, r.transaction_id, r.timestamp, " + columns +
        " FROM meter_readings AS r, json_each(r.sampled_values) AS s"
    )


def _readings_table(*columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        "meter_readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("connector_id", sa.Integer, nullable=False),
        sa.Column("transaction_id", sa.Integer),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        *columns,
    )


def _set_aside(name: str) -> None:
    """meter_readings renamed `name`, out of the way of the table that takes its place."""
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW meter_values")
    op.drop_index("ix_meter_readings_transaction", "meter_readings")
    op.rename_table("meter_readings", name)
    if dialect == "postgresql":
        sequence = op.get_bind().scalar(sa.text(f"SELECT pg_get_serial_sequence('{name}', 'id')"))
        op.execute(f"ALTER SEQUENCE {sequence} RENAME TO {name}_id_seq")
        key = _primary_key(name)
        if key is not None:
            op.execute(f'ALTER INDEX "{key}" RENAME TO {name}_pkey')


def _primary_key(table: str) -> str | None:
    return op.get_bind().scalar(sa.text(
        f"SELECT conname FROM pg_constraint WHERE conrelid = '{table}'::regclass AND contype = 'p'"))


def _copy(source: str, columns: list[str], convert: Any) -> None:
    """Every row of `source` into meter_readings, same ids, in chunks, each through `convert`;
    then `source` dropped and the ids continuing after the last."""
    bind = op.get_bind()
    head = "id, charge_point_id, connector_id, transaction_id, timestamp"
    read = sa.text(f"SELECT {head}, {', '.join(columns)} FROM {source} WHERE id > :last ORDER BY id LIMIT {CHUNK}")
    written = sa.table("meter_readings", *(sa.column(c) for c in convert.columns))
    last = 0
    while True:
        rows = bind.execute(read, {"last": last}).all()
        if not rows:
            break
        last = rows[-1][0]
        bind.execute(written.insert(), [convert(row) for row in rows])
    op.drop_table(source)
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('meter_readings', 'id'),"
                   " coalesce((SELECT max(id) FROM meter_readings), 0) + 1, false)")


class _Packer:
    """Old readings (sampled_values: every field of every sampled value) as new ones."""

    columns = ("id", "charge_point_id", "connector_id", "transaction_id", "timestamp", "shape_set_id", "samples")

    def __init__(self) -> None:
        self.sets: dict[tuple, int] = {}

    def __call__(self, row: Any) -> dict[str, Any]:
        shapes, stored = [], []
        for fields in orjson.loads(row.sampled_values):
            value, unit, raw, raw_unit, measurand, phase, context, location, fmt = fields[:9]
            shape = _shape(unit, raw_unit, measurand, phase, context, location, fmt)
            shapes.append(shape)
            stored.append(_stored(raw, value, fields[9] if len(fields) > 9 else None, shape))
        key = tuple(shapes)
        set_id = self.sets.setdefault(key, len(self.sets) + 1)
        values = {k: v for k, v in row._asdict().items() if k != "sampled_values"}
        return {**values, "shape_set_id": set_id, "samples": f"[{','.join(stored)}]"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "meter_shape_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),  # SHA-256 of the definition
        sa.Column("definition", sa.Text, nullable=False),
    )
    op.create_table(
        "meter_shapes",
        sa.Column("set_id", sa.Integer, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        *(sa.Column(name, sa.Text, nullable=name not in ("measurand", "context", "location", "format"))
          for name in SHAPE_FIELDS[:7]),
        sa.Column("multiplier", sa.Float, nullable=False),
        sa.Column("factor", sa.Float, nullable=False),
    )
    _set_aside("meter_readings_spelled")
    _readings_table(sa.Column("shape_set_id", sa.Integer, nullable=False), sa.Column("samples", sa.Text, nullable=False))
    if dialect == "postgresql":
        # No index of the ids: nothing looks a reading up by its id, and the index cost a fifth of
        # a reading's bytes (23 of ~118). The sequence alone hands them out, each once.
        op.execute(f'ALTER TABLE meter_readings DROP CONSTRAINT "{_primary_key("meter_readings")}"')
    packer = _Packer()
    _copy("meter_readings_spelled", ["sampled_values"], packer)
    if packer.sets:
        op.bulk_insert(
            sa.table("meter_shape_sets", sa.column("id"), sa.column("digest"), sa.column("definition")),
            [{"id": i, "digest": hashlib.sha256(orjson.dumps(key)).hexdigest(), "definition": orjson.dumps(key).decode()}
             for key, i in packer.sets.items()],
        )
        shapes = [{"set_id": i, "position": p, **dict(zip(SHAPE_FIELDS, shape))}
                  for key, i in packer.sets.items() for p, shape in enumerate(key)]
        if shapes:
            op.bulk_insert(sa.table("meter_shapes", *(sa.column(c) for c in ("set_id", "position", *SHAPE_FIELDS))),
                           shapes)
        if dialect == "postgresql":
            op.execute("SELECT setval(pg_get_serial_sequence('meter_shape_sets', 'id'), (SELECT max(id) FROM meter_shape_sets))")
    op.create_index("ix_meter_readings_transaction", "meter_readings", ["transaction_id", "timestamp"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.execute(_view_sql(dialect))


class _Number(str):
    """A JSON number's text, as it stands."""


class _Spreader:
    """New readings as old ones (every field of every sampled value spelled out)."""

    columns = ("id", "charge_point_id", "connector_id", "transaction_id", "timestamp", "sampled_values")

    def __init__(self, sets: dict[int, list[Any]]) -> None:
        self.sets = sets

    def __call__(self, row: Any) -> dict[str, Any]:
        texts = json.loads(row.samples, parse_float=_Number, parse_int=_Number)
        typed = orjson.loads(row.samples)
        fields = []
        for shape, text, stored in zip(self.sets[row.shape_set_id], texts, typed):
            unit, raw_unit, measurand, phase, context, location, fmt, multiplier, factor = shape
            signed = None
            if type(stored) is list:
                raw, value = stored[0], stored[1]
                signed = stored[2] if len(stored) > 2 else None
            elif type(stored) is str:
                raw, value = stored, None
            else:
                raw, value = str(text), float(text) * multiplier * factor
            one = [value, unit, raw, raw_unit, measurand, phase, context, location, fmt]
            fields.append(one if signed is None else [*one, signed])
        values = {k: v for k, v in row._asdict().items() if k not in ("shape_set_id", "samples")}
        return {**values, "sampled_values": orjson.dumps(fields).decode()}


def downgrade() -> None:
    bind = op.get_bind()
    sets = {
        row.set_id: [] for row in bind.execute(sa.text("SELECT id AS set_id FROM meter_shape_sets"))
    }
    for row in bind.execute(sa.text(f"SELECT set_id, {', '.join(SHAPE_FIELDS)} FROM meter_shapes ORDER BY set_id, position")):
        sets.setdefault(row.set_id, []).append(tuple(row)[1:])
    _set_aside("meter_readings_packed")
    _readings_table(sa.Column("sampled_values", sa.Text, nullable=False))
    _copy("meter_readings_packed", ["shape_set_id", "samples"], _Spreader(sets))
    op.create_index("ix_meter_readings_transaction", "meter_readings", ["transaction_id", "timestamp"])
    op.drop_table("meter_shapes")
    op.drop_table("meter_shape_sets")
    op.execute(_old_view_sql(bind.dialect.name))
