"""The database schema, as SQLAlchemy Core tables: one definition for SQLite and PostgreSQL.

Core rather than ORM instances: the OCPP hot path inserts thousands of rows a second and needs no
identity map. Alembic migrations (store/migrations) are written against these definitions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


Id = sa.String(255)
ID_TOKEN_LENGTH = 36
"""The longest id token stored: OCPP 2.0.1's IdTokenType.idToken (1.6's idTag is at most 20:
what a 1.6 charge point can be sent is checked where its messages are written, v16/outbound)."""
IdTagStr = sa.String(ID_TOKEN_LENGTH)

charge_points = sa.Table(
    "charge_points",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("description", sa.String(255)),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("registration_status", sa.String(16)),
    sa.Column("vendor", sa.String(50)),  # 1.6 sends up to 20 characters, 2.0.1 up to 50
    sa.Column("model", sa.String(20)),
    sa.Column("serial_number", sa.String(25)),
    sa.Column("charge_box_serial_number", sa.String(25)),
    sa.Column("firmware_version", sa.String(50)),
    sa.Column("iccid", sa.String(20)),
    sa.Column("imsi", sa.String(20)),
    sa.Column("meter_type", sa.String(25)),
    sa.Column("meter_serial_number", sa.String(25)),
    # The OCPP version of its current or last connection ("1.6", "2.0.1"), written as it connects.
    sa.Column("ocpp_version", sa.String(16)),
    # Per charge point overrides: some chargers break on WebSocket pings or deviate from a schema.
    sa.Column("ping_interval", sa.Float),
    sa.Column("lenient_actions", sa.JSON, nullable=False, default=list),
    # OCPP security profile 0-3 (services/security/connections.py): what a connection must prove.
    sa.Column("security_profile", sa.SmallInteger, nullable=False, default=0, server_default="0"),
    sa.Column("connected", sa.Boolean, nullable=False, default=False),
    sa.Column("connected_node", sa.String(64)),
    sa.Column("connected_at", UTCDateTime),
    sa.Column("disconnected_at", UTCDateTime),
    sa.Column("last_seen_at", UTCDateTime),
    sa.Column("last_heartbeat_at", UTCDateTime),
    sa.Column("last_boot_at", UTCDateTime),
    sa.Column("remote_address", sa.String(64)),
    sa.Column("firmware_status", sa.String(32)),
    sa.Column("firmware_status_at", UTCDateTime),
    sa.Column("diagnostics_status", sa.String(32)),
    sa.Column("diagnostics_status_at", UTCDateTime),
    sa.Column("log_status", sa.String(32)),
    sa.Column("log_status_at", UTCDateTime),
    sa.Column("local_list_version", sa.Integer),
    # The heartbeat interval its last BootNotification was answered with, seconds.
    sa.Column("heartbeat_interval", sa.Integer),
    sa.Column("boot_reason", sa.String(32)),  # of its latest boot: 2.0.1's BootReasonEnumType, null on 1.6
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
)

connectors = sa.Table(
    "connectors",
    metadata,
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    # As the charge point numbers them: on 1.6 `connector_id` is 1..n (0: the charge point) and
    # `evse_id` null; on 2.0.1 `evse_id` is 1..n and `connector_id` 1..m within it. The domain's
    # view of both is voltline.services.location.
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("evse_id", sa.Integer),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_code", sa.String(32), nullable=False, default="NoError"),
    sa.Column("info", sa.String(50)),
    sa.Column("vendor_id", sa.String(255)),
    sa.Column("vendor_error_code", sa.String(50)),
    sa.Column("status_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
)

CONNECTOR_EVSE_KEY = sa.func.coalesce(connectors.c.evse_id, sa.literal_column("0"))
"""The EVSE part of a connector's key: 0 for the rows numbered as 1.6 numbers them (2.0.1 reports
no status for an EVSE 0, so the numberings never meet). Upserts name this very expression."""

sa.Index("uq_connectors_location", connectors.c.charge_point_id, CONNECTOR_EVSE_KEY, connectors.c.connector_id, unique=True)

DEFAULT_TOKEN_TYPE = "ISO14443"
"""The IdTokenEnumType of an id tag nobody gave one: an RFID card, what a 1.6 idTag almost always
is (1.6 has no token types). voltline.services.authorization.tokens holds the list."""

id_tags = sa.Table(
    "id_tags",
    metadata,
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, default="Accepted"),
    sa.Column("expiry_date", UTCDateTime),
    sa.Column("parent_id_tag", IdTagStr),
    sa.Column("description", sa.String(255)),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    # How many transactions the tag may have active at once (ConcurrentTx beyond): 1 as SteVe
    # has it; 0 for no limit (a fleet card shared by several vehicles).
    sa.Column("max_active_transactions", sa.Integer, nullable=False, default=1, server_default="1"),
    # OCPP 2.0.1's IdTokenEnumType (ISO14443, ISO15693, eMAID, KeyCode, Central, Local, ...).
    sa.Column("token_type", sa.String(20), nullable=False, default=DEFAULT_TOKEN_TYPE, server_default=DEFAULT_TOKEN_TYPE),
)

_open = sa.text("stopped_at IS NULL")
ONE_SIX = sa.text("evse_id IS NULL")
"""The transactions (and connectors) of 1.6 charge points: numbered without EVSEs."""

transactions = sa.Table(
    "transactions",
    metadata,
    # The OCPP transactionId: an integer unique across the whole system.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("id_tag", IdTagStr, nullable=False),
    sa.Column("id_tag_status", sa.String(16), nullable=False),
    sa.Column("reservation_id", sa.Integer),
    sa.Column("meter_start", sa.BigInteger, nullable=False),
    sa.Column("meter_stop", sa.BigInteger),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime),
    sa.Column("stop_reason", sa.String(32)),
    sa.Column("stop_id_tag", IdTagStr),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    # Set when Voltline closed the transaction itself, saying why (a new transaction started on
    # its connector and its StopTransaction never came). A StopTransaction that still comes
    # replaces that stop: the charge point's own values are better than ours.
    sa.Column("stop_note", sa.String(255)),
    # The transactionId as on the wire: `str(id)` on 1.6, the charge point's own string on 2.0.1.
    sa.Column("ocpp_transaction_id", sa.String(36)),
    sa.Column("evse_id", sa.Integer),  # null on 1.6, as for connectors
    sa.Column("id_token_type", sa.String(20)),  # the IdTokenEnumType of the token that started it
    sa.Column("remote_start_id", sa.Integer),  # the remote start (remote_starts.id) that led to it
    # A StartTransaction the charge point repeats is this very row (the key of its idempotency,
    # kept by the database across nodes). Led by the connector and its start times, it also
    # serves a connector's history.
    # Only of 1.6 rows (evse_id null, migration 0015): a 2.0.1 transaction is found by its
    # transactionId, and its connector numbers repeat on every EVSE.
    sa.Index(
        "uq_transactions_start", "charge_point_id", "connector_id", "started_at", "id_tag", "meter_start", unique=True,
        sqlite_where=ONE_SIX, postgresql_where=ONE_SIX,
    ),
    sa.Index("ix_transactions_id_tag", "id_tag"),
    sa.Index("ix_transactions_started_at", "started_at"),
    # The few active transactions among many stopped ones: a StartTransaction looks up those of
    # its connector and those of its tag.
    sa.Index("ix_transactions_open_connector", "charge_point_id", "connector_id", sqlite_where=_open, postgresql_where=_open),
    sa.Index("ix_transactions_open_id_tag", "id_tag", sqlite_where=_open, postgresql_where=_open),
    sa.Index("uq_transactions_ocpp_id", "charge_point_id", "ocpp_transaction_id", unique=True),
    # OCPP's transactionId is never handed out twice, even after its charge point was deleted.
    sqlite_autoincrement=True,
)

meter_readings = sa.Table(
    "meter_readings",
    metadata,
    # The key, handed out by the database; on PostgreSQL without an index (migration 0022): no
    # read looks a reading up by it.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.Integer),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    # One OCPP meterValue entry (migration 0022): what its sampled values say about themselves
    # (measurand, unit, phase, context, location, format) is the row of `meter_shape_sets` named
    # here; `samples` holds only their values, a JSON array in that set's order (services.transactions.meter_values.encode).
    # A reading of four sampled values took ~450 bytes with every field spelled out; now 74 on
    # SQLite, 95 on PostgreSQL (bench scenario 1; in a session 116 and 135, its index entry added).
    sa.Column("shape_set_id", sa.Integer, nullable=False),
    sa.Column("samples", sa.Text, nullable=False),
    # Only by transaction, and only the readings that belong to one: every index costs each
    # MeterValues, and one led by the charge point (inserted all over the tree) about tripled
    # SQLite's cost per row.
    sa.Index(
        "ix_meter_readings_transaction", "transaction_id", "timestamp",
        sqlite_where=sa.text("transaction_id IS NOT NULL"), postgresql_where=sa.text("transaction_id IS NOT NULL"),
    ),
    # The order of the meter values list, (timestamp, id) (migration 0023): a deep page walks it
    # instead of sorting every reading. Timestamps come nearly in order: inserts land at its end.
    sa.Index("ix_meter_readings_timestamp", "timestamp"),
)

meter_shape_sets = sa.Table(
    "meter_shape_sets",
    metadata,
    # The shapes of a reading's sampled values, in order, as JSON (meter_values.definition): each
    # distinct one stored once, found again by its SHA-256 (a set of thousands of shapes is longer
    # than PostgreSQL indexes). Never changed or deleted.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("definition", sa.Text, nullable=False),
)

meter_shapes = sa.Table(
    "meter_shapes",
    metadata,
    # The shape of the sampled value at `position` of a set's readings: its fields as the
    # `meter_values` view shows them, and how its value follows from the number stored
    # (value = number × multiplier × factor, as meter_values.normalize computed it).
    sa.Column("set_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("unit", sa.Text),
    sa.Column("raw_unit", sa.Text),
    sa.Column("measurand", sa.Text, nullable=False),
    sa.Column("phase", sa.Text),
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("multiplier", sa.Float, nullable=False),
    sa.Column("factor", sa.Float, nullable=False),
)

SAMPLE_FIELDS = ("value", "unit", "raw_value", "raw_unit", "measurand", "phase", "context", "location", "format")
"""The fields of one sampled value, as the `meter_values` view shows them. `value` is normalized
(Wh, W, …) when the format is Raw and the value numeric; `raw_value` and `raw_unit` keep what the
charge point sent (signed meter data stays verbatim). A 2.0.1 sampled value with a
signedMeterValue has a tenth field, that object as received (SIGNED_FIELD)."""

SIGNED_FIELD = "signed_meter_value"

SAMPLES_PER_READING = 4096
"""Spacing of the `meter_values` ids: reading id × this + the sampled value's place in it."""

views = sa.MetaData()
"""Views, created by the migrations (metadata.create_all must not make tables of them)."""

meter_values = sa.Table(
    "meter_values",
    views,
    # A view (migration 0004, over the shapes since 0020): every sampled value of
    # `meter_readings` as a row of its own, so reads filter, sort and page sampled values in SQL.
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("reading_id", sa.BigInteger, nullable=False),
    sa.Column("charge_point_id", Id, nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.Integer),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("unit", sa.String(16)),
    sa.Column("raw_value", sa.Text, nullable=False),
    sa.Column("raw_unit", sa.String(16)),
    sa.Column("measurand", sa.String(40), nullable=False),
    sa.Column("phase", sa.String(8)),
    sa.Column("context", sa.String(24), nullable=False),
    sa.Column("location", sa.String(8), nullable=False),
    sa.Column("format", sa.String(12), nullable=False),
    # The 2.0.1 signedMeterValue of the sampled value, as JSON text exactly as received (migration 0015).
    sa.Column("signed_meter_value", sa.Text),
)

message_batches = sa.Table(
    "message_batches",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
    sa.Column("frame_count", sa.Integer, nullable=False),
    # The OCPP message log: one charge point's frames of one flush (services.message_log), a JSON
    # array of arrays, each in the order of FRAME_FIELDS, compressed with zstd (store.log_bodies).
    # A row per frame cost SQLite a row and two index entries per frame; the frames as JSON text
    # cost about 340 bytes each; compressed with a dictionary trained on the log, about 25.
    sa.Column("body", sa.LargeBinary, nullable=False),
    # The message_dictionaries row the body was compressed with (none: zstd without one).
    sa.Column("dictionary_id", sa.Integer),
    # Time ranges and pruning; with the frame counts, the whole log's size without unpacking it.
    sa.Index("ix_message_batches_last_at", "last_at", "frame_count"),
)

message_dictionaries = sa.Table(
    "message_dictionaries",
    metadata,
    # zstd dictionaries trained on the log's own frames (migration 0018). Never changed once
    # stored: a batch names the one it was compressed with, so older batches stay readable
    # when a newer dictionary is trained.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

FRAME_FIELDS = ("created_at", "direction", "message_type", "message_id", "action", "error_code", "payload")
"""The fields of one frame in a `message_batches` body. `created_at` is UTC text as SQLAlchemy
keeps DATETIME on SQLite ('YYYY-MM-DD HH:MM:SS.ffffff'); `payload` the frame exactly as it crossed
the wire."""

FRAMES_PER_BATCH = 4096
"""At most this many frames in a batch: a frame's id is its batch id × this + its place."""

MESSAGE_BLOCK_BITS = 12
"""The log's batches in blocks of 4,096 consecutive ids (see `message_block`). Migration 0003
(for the rows the log had then), 0005 and 0018 build the index with this very shift: another value
needs a migration of its own."""

message_block = message_batches.c.id.op(">>")(sa.literal_column(str(MESSAGE_BLOCK_BITS)))
"""The block of a batch. The log's per charge point index is led by it: an index led by the
charge point takes every new batch at a random place in a large B-tree, so each group commit
rewrote about one index page per connected charge point; led by the block, new entries land in
the few pages of the newest block. Queries must use this very expression (a literal shift, not
a parameter) for the index to apply; voltline.services.message_log.search walks a charge point's
batches block by block."""

sa.Index("ix_message_batches_block_cp", message_block, message_batches.c.charge_point_id, message_batches.c.id)

configuration = sa.Table(
    "charge_point_configuration",
    metadata,
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(500)),
    sa.Column("readonly", sa.Boolean, nullable=False, default=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
)

charge_point_events = sa.Table(
    "charge_point_events",
    metadata,
    # Status notifications that tell a story over time: firmware, diagnostics, logs, security.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(64)),
    sa.Column("request_id", sa.Integer),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("detail", sa.JSON),
    sa.Index("ix_charge_point_events_cp_time", "charge_point_id", "timestamp"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # the OCPP reservationId
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("id_tag", IdTagStr, nullable=False),
    sa.Column("parent_id_tag", IdTagStr),
    sa.Column("expiry_date", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("transaction_id", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    sa.Index("ix_reservations_cp", "charge_point_id", "connector_id"),
    sqlite_autoincrement=True,  # OCPP's reservationId: never handed out twice
)

charging_profiles = sa.Table(
    "charging_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("charging_profile_id", sa.Integer, nullable=False),
    sa.Column("stack_level", sa.Integer, nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("recurrency_kind", sa.String(16)),
    sa.Column("transaction_id", sa.Integer),
    sa.Column("valid_from", UTCDateTime),
    sa.Column("valid_to", UTCDateTime),
    sa.Column("charging_schedule", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    # A TxProfile sent with a RemoteStartTransaction: linked to the transaction that follows.
    sa.Column("remote_start_id", sa.Integer),
    sa.Index("ix_charging_profiles_cp", "charge_point_id", "connector_id"),
)

local_list_entries = sa.Table(
    "local_list_entries",
    metadata,
    # The local authorization list as last accepted by the charge point.
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expiry_date", UTCDateTime),
    sa.Column("parent_id_tag", IdTagStr),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=_now),
    # Grows with each password change and logout: dashboard sessions of an older epoch are over.
    sa.Column("session_epoch", sa.Integer, nullable=False, default=0, server_default="0"),
    # The IANA zone the dashboard shows times in for this operator; null: not chosen yet (UTC).
    sa.Column("time_zone", sa.String(64)),
)

transaction_events = sa.Table(
    "transaction_events",
    metadata,
    # Every OCPP 2.0.1 TransactionEvent applied (migration 0015): a repeat of (transaction,
    # seqNo) is found by the unique key and changes nothing; the seqNos missing between the
    # ones kept are the transaction's gaps.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("ocpp_transaction_id", sa.String(36), nullable=False),
    sa.Column("seq_no", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.Integer, nullable=False),  # transactions.id
    sa.Column("event_type", sa.String(8), nullable=False),  # Started | Updated | Ended
    sa.Column("trigger_reason", sa.String(32), nullable=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),  # the charge point's, as sent
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("charging_state", sa.String(16)),
    sa.Column("received_at", UTCDateTime, nullable=False),
    # One index, of two integers (migration 0021): the transaction id stands for (charge point,
    # transactionId) one to one, so this key refuses a repeat as the wide one did, and every read
    # goes by it. Each index more is one more place written per event.
    sa.Index("uq_transaction_events_transaction_seq", "transaction_id", "seq_no", unique=True),
)

remote_starts = sa.Table(
    "remote_starts",
    metadata,
    # A RemoteStartTransaction the operator asked for, matched to the StartTransaction that follows.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connector_id", sa.Integer),
    sa.Column("id_tag", IdTagStr, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("transaction_id", sa.Integer),
    sa.Column("requested_at", UTCDateTime, nullable=False, default=_now),
    # 2.0.1's remoteStartId as sent, when the operator wrote it (a RequestStartTransaction by
    # hand); null when Voltline numbered it, with the row's own id.
    sa.Column("ocpp_remote_start_id", sa.Integer),
    sa.Index("ix_remote_starts_cp", "charge_point_id", "requested_at"),
    sqlite_autoincrement=True,  # operators refer to it, and 2.0.1's remoteStartId: never reused
)

connector_status_history = sa.Table(
    "connector_status_history",
    metadata,
    # Every StatusNotification, in the charge point's time: how a fault developed, and the
    # timeline the status rollups are cut from (a late one is slotted in where it belongs).
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connector_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_code", sa.String(32), nullable=False),
    sa.Column("info", sa.String(50)),
    sa.Column("vendor_id", sa.String(255)),
    sa.Column("vendor_error_code", sa.String(50)),
    sa.Column("timestamp", UTCDateTime, nullable=False),  # the charge point's; ours when it gave none
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("evse_id", sa.Integer),  # null on 1.6, as for connectors
    sa.Index("ix_connector_status_history_connector", "charge_point_id", "connector_id", "timestamp"),
    sa.Index("ix_connector_status_history_cp_time", "charge_point_id", "timestamp"),
)

# Hourly rollups (services.reports): one row per UTC hour and key, added to as data arrives and
# rebuilt by `voltline reports rebuild`. Reports read these, never the sampled values.

ROLLUP_NO_EVSE = 0
"""`evse_id` of a per-connector rollup row numbered as 1.6 numbers it (null elsewhere, but a
primary key's column cannot be null on PostgreSQL). 2.0.1 numbers its EVSEs from 1, so the two
numberings never share a key; the reports show it as null again."""

report_energy = sa.Table(
    "report_energy",
    metadata,
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    # The EVSE of a 2.0.1 connector, 0 for one numbered as 1.6 numbers them (ROLLUP_NO_EVSE).
    sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
    sa.Column("connector_id", sa.Integer, primary_key=True),
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("energy_wh", sa.Float, nullable=False, default=0.0),
    # The highest Power.Active.Import sampled in the hour; null without power samples.
    sa.Column("peak_power_w", sa.Float),
    sa.Index("ix_report_energy_cp", "charge_point_id", "hour"),
    # An id tag's (or a parent's tags') energy over months reads hours: found by the tag.
    sa.Index("ix_report_energy_tag", "id_tag", "hour"),
)

report_sessions = sa.Table(
    "report_sessions",
    metadata,
    # Stopped sessions by the hour they started in, and by their energy and duration bucket.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    # The EVSE of a 2.0.1 connector, 0 for one numbered as 1.6 numbers them (ROLLUP_NO_EVSE).
    sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
    sa.Column("connector_id", sa.Integer, primary_key=True),
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("energy_bucket", sa.SmallInteger, primary_key=True),
    sa.Column("duration_bucket", sa.SmallInteger, primary_key=True),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
    sa.Column("duration_s", sa.Float, nullable=False, default=0.0),
    sa.Column("energy_wh", sa.Float, nullable=False, default=0.0),
    # Sessions whose meter values were missing, went backwards or jumped (their bad steps: 0 Wh).
    sa.Column("flagged", sa.Integer, nullable=False, default=0),
    sa.Index("ix_report_sessions_cp", "charge_point_id", "hour"),
    sa.Index("ix_report_sessions_tag", "id_tag", "hour"),
)

report_idle = sa.Table(
    "report_idle",
    metadata,
    # Time a connector stayed occupied after charging ended, by its session's start hour.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    # The EVSE of a 2.0.1 connector, 0 for one numbered as 1.6 numbers them (ROLLUP_NO_EVSE).
    sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
    sa.Column("connector_id", sa.Integer, primary_key=True),
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("idle_s", sa.Float, nullable=False, default=0.0),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
)

report_status = sa.Table(
    "report_status",
    metadata,
    # Seconds each connector spent in each status (closed spans; the current one is added at
    # read time from `connectors`), and how many notifications entered it.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    # The EVSE of a 2.0.1 connector, 0 for one numbered as 1.6 numbers them (ROLLUP_NO_EVSE).
    sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
    sa.Column("connector_id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("error_code", sa.String(32), primary_key=True),
    sa.Column("seconds", sa.Float, nullable=False, default=0.0),
    sa.Column("entries", sa.Integer, nullable=False, default=0),
    sa.Index("ix_report_status_cp", "charge_point_id", "hour"),
)

report_connectivity = sa.Table(
    "report_connectivity",
    metadata,
    # Seconds connected (closed connections; an open one is added at read time) and connections opened.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    sa.Column("connected_s", sa.Float, nullable=False, default=0.0),
    sa.Column("connects", sa.Integer, nullable=False, default=0),
)

report_failed_starts = sa.Table(
    "report_failed_starts",
    metadata,
    # kind: remote_start_rejected, invalid, blocked (Authorize or StartTransaction answered so).
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False, default=0),
)

ROLLUP_GRAINS = ("day", "month")
"""Each rollup also by day and by month of the reports' time zone (setting reports_time_zone):
`hour` then holds the UTC instant the local day or month begins. A year's report reads twelve
months and a few days and hours at its edges, not 8,760 hours of every charge point. Their key
leaves the id tag out (COARSE_DROPS): with it, a day or a month held as many rows as sessions."""

ROLLUP_TABLES = (report_energy, report_sessions, report_idle, report_status, report_connectivity, report_failed_starts)
COARSE_DROPS: dict[str, tuple[str, ...]] = {
    "report_energy": ("id_tag",), "report_sessions": ("id_tag",), "report_idle": ("id_tag",),
}


def _coarser(table: sa.Table, grain: str) -> sa.Table:
    name = f"{table.name}_{grain}"
    dropped = COARSE_DROPS.get(table.name, ())
    return sa.Table(
        name, metadata, *(column._copy() for column in table.columns if column.name not in dropped),
        sa.Index(f"ix_{name}_cp", "charge_point_id", "hour"),
    )


COARSER: dict[sa.Table, dict[str, sa.Table]] = {
    table: {grain: _coarser(table, grain) for grain in ROLLUP_GRAINS} for table in ROLLUP_TABLES
}

STATUS_CLASS_SECONDS = tuple(f"{name}_s" for name in ("charging", "occupied", "available", "unavailable", "faulted", "unknown"))
"""Seconds in each class of status (services.reports.classes), as utilisation shows them."""


def _status_classes(grain: str) -> sa.Table:
    name = f"report_status_class_{grain}"
    return sa.Table(
        name, metadata,
        sa.Column("hour", UTCDateTime, primary_key=True),
        sa.Column("charge_point_id", Id, primary_key=True),
        sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
        sa.Column("connector_id", sa.Integer, primary_key=True),
        *(sa.Column(column, sa.Float, nullable=False, default=0.0, server_default="0") for column in STATUS_CLASS_SECONDS),
        sa.Index(f"ix_{name}_cp", "charge_point_id", "hour"),
    )


STATUS_CLASSES_BY = {grain: _status_classes(grain) for grain in ROLLUP_GRAINS}
"""A connector's seconds per class of status and day or month of the reports' zone, one row
for its five or so rows by status and error code: utilisation over a year reads these for its
whole days and months."""

report_energy_tag_month = sa.Table(
    "report_energy_tag_month",
    metadata,
    # Energy per id tag and month of the reports' zone, whatever the charge point.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("energy_wh", sa.Float, nullable=False, default=0.0),
    sa.Column("peak_power_w", sa.Float),
)

report_sessions_tag_month = sa.Table(
    "report_sessions_tag_month",
    metadata,
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("id_tag", IdTagStr, primary_key=True),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
    # Sessions whose meter values were missing, went backwards or jumped: a parent's tags over a
    # year count them here, not in the hourly rows (some 70,000 for 50 of 2,000 tags).
    sa.Column("flagged", sa.Integer, nullable=False, default=0, server_default="0"),
)

report_session_starts_month = sa.Table(
    "report_session_starts_month",
    metadata,
    # The whole network's sessions by local hour of day and day of week (Monday 0), per month.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("hour_of_day", sa.SmallInteger, primary_key=True),
    sa.Column("day_of_week", sa.SmallInteger, primary_key=True),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
)

BY_TAG_MONTH = {report_energy: report_energy_tag_month, report_sessions: report_sessions_tag_month}


def _by_tag_day(month: sa.Table) -> sa.Table:
    name = month.name.replace("_month", "_day")
    return sa.Table(name, metadata, *(column._copy() for column in month.columns), sa.Index(f"ix_{name}_tag", "id_tag", "hour"))


BY_TAG_DAY = {hourly: _by_tag_day(month) for hourly, month in BY_TAG_MONTH.items()}
"""Energy and sessions per id tag and day of the reports' zone, whatever the charge point: a
year by id tag (or of a parent's tags) reads months, these days at its edges and a few hours."""

def _sessions_by_cp(grain: str) -> sa.Table:
    name = f"report_sessions_cp_{grain}"
    return sa.Table(
        name, metadata,
        sa.Column("hour", UTCDateTime, primary_key=True),
        sa.Column("charge_point_id", Id, primary_key=True),
        sa.Column("sessions", sa.Integer, nullable=False, default=0),
        sa.Index(f"ix_{name}_cp", "charge_point_id", "hour"),
    )


SESSIONS_BY_CP = {grain: _sessions_by_cp(grain) for grain in ROLLUP_GRAINS}
"""Sessions per charge point and day or month of the reports' zone, whatever the connector, id
tag or bucket: energy by charge point over a year reads one row per charge point and month (the
per-connector month rows by energy and duration bucket were some 175 a charge point)."""

NETWORK_DROPS = ("charge_point_id", "evse_id", "connector_id", "id_tag", "peak_power_w")


def _network(table: sa.Table, grain: str | None = None) -> sa.Table:
    name = f"{table.name}_net" + (f"_{grain}" if grain else "")
    return sa.Table(name, metadata, *(column._copy() for column in table.columns if column.name not in NETWORK_DROPS))


NETWORK = {table: _network(table) for table in (report_energy, report_sessions, report_idle)}
"""The whole network's energy, sessions (by energy and duration bucket) and idle time per hour,
whatever the charge point, connector or id tag (NETWORK_DROPS): an unfiltered report reads
these, 8,760 hours or 365 days a year (times the buckets), not a row per connector. Peak power
has its own (report_peak)."""
NETWORK_COARSER: dict[sa.Table, dict[str, sa.Table]] = {
    NETWORK[table]: {grain: _network(table, grain) for grain in ROLLUP_GRAINS} for table in NETWORK
}

issued_certificates = sa.Table(
    "issued_certificates",
    metadata,
    # Every certificate Voltline's certificate authority signed for a charge point. No foreign
    # key: a certificate outlives its charge point's row, and stays revocable and listed.
    sa.Column("serial", sa.String(40), primary_key=True),  # the X.509 serial number in lower-case hex
    sa.Column("charge_point_id", Id, nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),  # RFC 4514, e.g. "CN=CP-1,O=Voltline"
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("not_after", UTCDateTime, nullable=False),
    sa.Column("pem", sa.Text, nullable=False),
    # The charge point's answer to CertificateSigned: Pending until it came.
    sa.Column("delivery_status", sa.String(16), nullable=False, default="Pending"),
    sa.Column("issued_at", UTCDateTime, nullable=False, default=_now),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revocation_reason", sa.String(255)),
    # When a renewal was last asked for (ExtendedTriggerMessage SignChargePointCertificate).
    sa.Column("renewal_requested_at", UTCDateTime),
    sa.Index("ix_issued_certificates_cp", "charge_point_id", "not_after"),
)

installed_certificates = sa.Table(
    "installed_certificates",
    metadata,
    # Root certificates on a charge point, as it last reported them (GetInstalledCertificateIds)
    # or accepted them (InstallCertificate, DeleteCertificate). Named as OCSP does (RFC 6960).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), nullable=False),
    sa.Column("certificate_type", sa.String(32), nullable=False),
    sa.Column("hash_algorithm", sa.String(8), nullable=False),
    sa.Column("issuer_name_hash", sa.String(128), nullable=False),
    sa.Column("issuer_key_hash", sa.String(128), nullable=False),
    sa.Column("serial_number", sa.String(40), nullable=False),
    sa.Column("pem", sa.Text),  # known when installed through Voltline
    sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    sa.Index("ix_installed_certificates_cp", "charge_point_id", "certificate_type"),
)


# The device model of 2.0.1 charge points, one row per attribute of a variable of a component, as
# last reported (NotifyReport), read (GetVariables) or set (SetVariables). The key's optional parts
# are stored as '' and 0 (no EVSE or connector has id 0 in a device model) rather than NULL, so
# the key is unique on every backend and a report's rows are upserted on it.
device_variables = sa.Table(
    "device_variables",
    metadata,
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("component", sa.String(50), primary_key=True),
    sa.Column("component_instance", sa.String(50), primary_key=True, server_default=""),
    sa.Column("evse_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
    sa.Column("connector_id", sa.Integer, primary_key=True, server_default="0", autoincrement=False),
    sa.Column("variable", sa.String(50), primary_key=True),
    sa.Column("variable_instance", sa.String(50), primary_key=True, server_default=""),
    sa.Column("attribute_type", sa.String(8), primary_key=True, server_default="Actual"),
    sa.Column("value", sa.Text),
    sa.Column("mutability", sa.String(10)),
    sa.Column("persistent", sa.Boolean),
    sa.Column("constant", sa.Boolean),
    sa.Column("data_type", sa.String(16)),
    sa.Column("unit", sa.String(16)),
    sa.Column("min_limit", sa.Float),
    sa.Column("max_limit", sa.Float),
    sa.Column("values_list", sa.String(1000)),
    sa.Column("source", sa.String(8), nullable=False),  # report | get | set: what last wrote the value
    # The charge point's last answer on this attribute to GetVariables / SetVariables (Accepted,
    # RebootRequired, UnknownVariable...); None when it came from a report only.
    sa.Column("status", sa.String(32)),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_device_variables_cp_variable", "charge_point_id", "variable"),
)

device_reports = sa.Table(
    "device_reports",
    metadata,
    # Reports asked of a 2.0.1 charge point (GetBaseReport / GetReport) and their NotifyReport
    # parts as they come; also a report the station sent unasked (kind and requested_at None).
    sa.Column("charge_point_id", Id, sa.ForeignKey("charge_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(24)),  # FullInventory | ConfigurationInventory | SummaryInventory | Custom
    sa.Column("criteria", sa.JSON),  # a GetReport's componentVariable / componentCriteria
    sa.Column("status", sa.String(24)),  # the answer: Accepted | Rejected | NotSupported | EmptyResultSet
    sa.Column("requested_at", UTCDateTime),
    sa.Column("parts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("variables", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_seq_no", sa.Integer),
    sa.Column("generated_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),  # the part with tbc false arrived
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


report_peak = sa.Table(
    "report_peak",
    metadata,
    # The whole network's power in an hour (the sum of its charge points'); by day and month
    # (PEAK_COARSER) the highest hour's, and `at` that hour (the earliest of equal ones).
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("power_w", sa.Float, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

report_peak_cp = sa.Table(
    "report_peak_cp",
    metadata,
    # A charge point's power in an hour: over its rows in report_energy, the highest sample or
    # without one the hour's average (Wh over 1 h = W), summed.
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("charge_point_id", Id, primary_key=True),
    sa.Column("power_w", sa.Float, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_report_peak_cp_cp", "charge_point_id", "hour"),
)


def _peak_grain(table: sa.Table, grain: str) -> sa.Table:
    name = f"{table.name}_{grain}"
    indexes = [sa.Index(f"ix_{name}_cp", "charge_point_id", "hour")] if "charge_point_id" in table.c else []
    return sa.Table(name, metadata, *(column._copy() for column in table.columns), *indexes)


PEAK_COARSER: dict[sa.Table, dict[str, sa.Table]] = {
    table: {grain: _peak_grain(table, grain) for grain in ROLLUP_GRAINS} for table in (report_peak, report_peak_cp)
}
