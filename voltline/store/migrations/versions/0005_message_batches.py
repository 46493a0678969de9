"""The message log stored a batch of frames per row; `messages` becomes a view over them

A row per frame cost a B-tree insert and two index entries per frame, the biggest single cost of
a busy server. One row now holds a charge point's frames of one flush as a JSON array; the view
`messages` shows every frame as a row of its own, with the columns the table had.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The fields of one frame, in their order in `frames` (tables.FRAME_FIELDS).
FIELDS = ("created_at", "direction", "message_type", "message_id", "action", "error_code", "payload")
SPACING = 4096  # tables.FRAMES_PER_BATCH
COLUMNS = ("direction", "message_type", "message_id", "action", "error_code", "payload", "created_at")


def _view_sql(dialect: str, batches: str = "message_batches") -> str:
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
            f", b.first_at AS batch_first_at, b.last_at AS batch_last_at FROM {batches} AS b CROSS JOIN LATERAL"
            " jsonb_array_elements(b.frames::jsonb) WITH ORDINALITY AS f(value, ordinality)"
        )
    fields = ", ".join(f"json_extract(f.value, '$[{i}]') AS {name}" for i, name in enumerate(FIELDS))
    return (
        f"CREATE VIEW messages AS SELECT b.id * {SPACING} + f.key AS id, b.id AS batch_id, b.charge_point_id, "
        + fields + f", b.first_at AS batch_first_at, b.last_at AS batch_last_at FROM {batches} AS b,"
        " json_each(b.frames) AS f"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "message_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frame_count", sa.Integer, nullable=False),
        sa.Column("frames", sa.Text, nullable=False),
    )
    op.create_index("ix_message_batches_last_at", "message_batches", ["last_at", "frame_count"])
    op.create_index(
        "ix_message_batches_block_cp", "message_batches", [sa.text("(id >> 12)"), "charge_point_id", "id"]
    )
    # Every logged frame becomes a batch of one, in the order it was logged.
    if dialect == "postgresql":
        stamp = "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        frame = f"json_build_array(json_build_array({stamp}, " + ", ".join(FIELDS[1:]) + "))::text"
    else:  # SQLite keeps the timestamp as text in the very format of the frames
        frame = "json_array(json_array(created_at, " + ", ".join(FIELDS[1:]) + "))"
    op.execute(
        "INSERT INTO message_batches (charge_point_id, first_at, last_at, frame_count, frames)"
        f" SELECT charge_point_id, created_at, created_at, 1, {frame} FROM messages ORDER BY id"
    )
    op.drop_table("messages")
    op.execute(_view_sql(dialect))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW messages")
    op.rename_table("message_batches", "message_batches_packed")
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("charge_point_id", sa.String(255), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("message_type", sa.SmallInteger, nullable=False),
        sa.Column("message_id", sa.String(64)),
        sa.Column("action", sa.String(64)),
        sa.Column("error_code", sa.String(40)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index("ix_messages_block_cp", "messages", [sa.text("(id >> 12)"), "charge_point_id", "id"])
    columns = "charge_point_id, " + ", ".join(COLUMNS)
    frames = _view_sql(dialect, "message_batches_packed").removeprefix("CREATE VIEW messages AS ")
    op.execute(f"INSERT INTO messages ({columns}) SELECT {columns} FROM ({frames}) AS frames ORDER BY id")
    op.drop_table("message_batches_packed")
