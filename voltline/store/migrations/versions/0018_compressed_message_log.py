"""The message log's batches compressed with zstd and a dictionary trained on the log itself

A logged frame cost about 350 bytes on disk (bench scenario 1, SQLite): its fields and the frame
as JSON text inside a JSON array, with the text's quotes escaped. `message_batches.frames` (text)
becomes `body`, the same JSON compressed with zstd, and `dictionary_id`, the row of the new table
`message_dictionaries` it was compressed with. The rows already logged are compressed here with
a dictionary trained on the newest of them. The `messages` view goes: a database cannot unpack a
body, so the frames are matched where they are read (services.message_log.search).

The downgrade unpacks every body back into `frames` (the text as it was) and makes the view again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Callable, Iterator

import sqlalchemy as sa
import zstandard
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CHUNK = 2000  # batches read and written at a time
SAMPLES = 4000  # batches the dictionary is trained on (store.log_bodies.TRAINING_SAMPLES)
DICTIONARY_BYTES = 32 * 1024  # store.log_bodies.DICTIONARY_BYTES
LEVEL = 3

# The view of migration 0005, made again by the downgrade.
FIELDS = ("created_at", "direction", "message_type", "message_id", "action", "error_code", "payload")
SPACING = 4096  # tables.FRAMES_PER_BATCH


def _view_sql(dialect: str) -> str:
    if dialect == "postgresql":
        def field(i: int, name: str) -> str:
            text = f"f.value ->> {i}"
            if name == "created_at":
                return f"(({text})::timestamp AT TIME ZONE 'UTC') AS created_at"
            if name == "message_type":
                return f"({text})::smallint AS message_type"
            return f"{text} AS {name}"

        return (
            f"CREATE VIEW messages AS SELECT b.id * {SPACING} + f.ordinality - 1 AS id, b.id AS batch_id,"
            " b.charge_point_id, " + ", ".join(field(i, n) for i, n in enumerate(FIELDS)) +
            ", b.first_at AS batch_first_at, b.last_at AS batch_last_at FROM message_batches AS b CROSS JOIN LATERAL"
            " jsonb_array_elements(b.frames::jsonb) WITH ORDINALITY AS f(value, ordinality)"
        )
    fields = ", ".join(f"json_extract(f.value, '$[{i}]') AS {name}" for i, name in enumerate(FIELDS))
    return (
        f"CREATE VIEW messages AS SELECT b.id * {SPACING} + f.key AS id, b.id AS batch_id, b.charge_point_id, "
        + fields + ", b.first_at AS batch_first_at, b.last_at AS batch_last_at FROM message_batches AS b,"
        " json_each(b.frames) AS f"
    )


def _batches_table(name: str, packed: bool) -> sa.Table:
    body = (
        [sa.Column("body", sa.LargeBinary, nullable=False), sa.Column("dictionary_id", sa.Integer)]
        if packed else [sa.Column("frames", sa.Text, nullable=False)]
    )
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frame_count", sa.Integer, nullable=False),
        *body,
    )


def _replace_batches(packed: bool, convert: Callable[[sa.Connection, sa.Table], Iterator[dict[str, object]]]) -> None:
    """Move message_batches into a table of the other shape, row by row through `convert`,
    keeping ids, and give it the indexes of migration 0005."""
    bind = op.get_bind()
    op.drop_index("ix_message_batches_last_at", table_name="message_batches")
    op.drop_index("ix_message_batches_block_cp", table_name="message_batches")
    op.rename_table("message_batches", "message_batches_old")
    old = _batches_table("message_batches_old", not packed)
    new = _batches_table("message_batches", packed)
    new.create(bind)
    rows: list[dict[str, object]] = []
    for row in convert(bind, old):
        rows.append(row)
        if len(rows) >= CHUNK:
            bind.execute(new.insert(), rows)
            rows = []
    if rows:
        bind.execute(new.insert(), rows)
    op.drop_table("message_batches_old")
    op.create_index("ix_message_batches_last_at", "message_batches", ["last_at", "frame_count"])
    op.create_index("ix_message_batches_block_cp", "message_batches", [sa.text("(id >> 12)"), "charge_point_id", "id"])
    if bind.dialect.name == "postgresql":  # the new table's sequence goes on after the ids kept
        # Made while the old table's still had the usual name: give it that name back.
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('message_batches', 'id')")).scalar_one()
        if sequence.rpartition(".")[2] != "message_batches_id_seq":
            op.execute(f"ALTER SEQUENCE {sequence} RENAME TO message_batches_id_seq")
        op.execute(
            "SELECT setval(pg_get_serial_sequence('message_batches', 'id'), COALESCE(MAX(id), 0) + 1, false)"
            " FROM message_batches"
        )


def _in_order(bind: sa.Connection, table: sa.Table, *columns: str) -> Iterator[sa.Row]:  # type: ignore[type-arg]
    """Every row of `table` by id, a chunk at a time (the log may be large)."""
    last = None
    while True:
        statement = sa.select(*(table.c[name] for name in columns)).order_by(table.c.id).limit(CHUNK)
        if last is not None:
            statement = statement.where(table.c.id > last)
        chunk = bind.execute(statement).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id


META = ("id", "charge_point_id", "first_at", "last_at", "frame_count")


def upgrade() -> None:
    bind = op.get_bind()
    dictionaries = op.create_table(
        "message_dictionaries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.execute("DROP VIEW messages")
    old = _batches_table("message_batches", False)
    newest = bind.execute(sa.select(old.c.frames).order_by(old.c.id.desc()).limit(SAMPLES)).scalars().all()
    dictionary_id = None
    compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False, write_content_size=True, write_dict_id=False)
    try:
        trained = zstandard.train_dictionary(DICTIONARY_BYTES, [text.encode()[:4096] for text in newest])
    except zstandard.ZstdError:
        trained = None  # too few batches (or too alike) to train on: compressed without a dictionary
    if trained is not None:
        dictionary_id = bind.execute(
            dictionaries.insert().values(created_at=sa.func.now(), content=trained.as_bytes())
            .returning(dictionaries.c.id)
        ).scalar_one()
        compressor = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=trained, write_checksum=False, write_content_size=True, write_dict_id=False
        )

    def packed(conn: sa.Connection, table: sa.Table) -> Iterator[dict[str, object]]:
        for row in _in_order(conn, table, *META, "frames"):
            yield {**{name: row[i] for i, name in enumerate(META)},
                   "body": compressor.compress(row.frames.encode()), "dictionary_id": dictionary_id}

    _replace_batches(True, packed)


def downgrade() -> None:
    bind = op.get_bind()
    d = sa.Table("message_dictionaries", sa.MetaData(), autoload_with=bind)
    contents = {row.id: zstandard.ZstdCompressionDict(bytes(row.content)) for row in bind.execute(sa.select(d))}
    decompressors = {i: zstandard.ZstdDecompressor(dict_data=c) for i, c in contents.items()}
    decompressors[None] = zstandard.ZstdDecompressor()

    def unpacked(conn: sa.Connection, table: sa.Table) -> Iterator[dict[str, object]]:
        for row in _in_order(conn, table, *META, "body", "dictionary_id"):
            frames = decompressors[row.dictionary_id].decompress(bytes(row.body)).decode()
            yield {**{name: row[i] for i, name in enumerate(META)}, "frames": frames}

    _replace_batches(False, unpacked)
    op.drop_table("message_dictionaries")
    op.execute(_view_sql(bind.dialect.name))
