"""Read models for operators: charge points with their live state, transactions with energy and
duration, meter values and the message log. Reads only; the rules they show are written here once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from voltline.services.message_log import search as message_search
from voltline.services.transactions import meter_values as mv
from voltline.services.clock import now
from voltline.services.errors import NotFound
from voltline.services.location import ConnectorRef
from voltline.services.paging import Page, decode_cursor, encode_cursor, fetch_page
from voltline.services.transactions.service import TransactionService
from voltline.store import tables as t
from voltline.store.database import Store

ACTIVE, STOPPED = "Active", "Stopped"
CHUNK_ROWS = 1000  # transactions a stream reads at a time
T = TypeVar("T")


@dataclass(slots=True)
class ConnectorView:
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    status_at: datetime | None
    transaction_id: int | None = None
    energy_wh: float | None = None
    power_w: float | None = None
    soc: float | None = None
    evse_id: int | None = None  # as the charge point numbers it: None on 1.6

    @property
    def location(self) -> ConnectorRef:
        """Where it is in the domain's terms (a 1.6 connector N is EVSE N's one connector)."""
        return ConnectorRef.from_stored(self.evse_id, self.connector_id)


@dataclass(slots=True)
class ChargePointView:
    id: str
    description: str | None
    connected: bool
    registration_status: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    charge_box_serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    ocpp_version: str | None
    has_password: bool
    security_profile: int
    ping_interval: float | None
    lenient_actions: list[str]
    last_heartbeat_at: datetime | None
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    remote_address: str | None
    firmware_status: str | None
    firmware_status_at: datetime | None
    diagnostics_status: str | None
    diagnostics_status_at: datetime | None
    local_list_version: int | None
    created_at: datetime
    updated_at: datetime
    connectors: list[ConnectorView] = field(default_factory=list)
    log_status: str | None = None  # the latest LogStatusNotification
    log_status_at: datetime | None = None
    heartbeat_interval: int | None = None  # seconds, as its last boot was answered


@dataclass(slots=True)
class TransactionView:
    id: int
    charge_point_id: str
    connector_id: int
    id_tag: str
    id_tag_status: str
    reservation_id: int | None
    meter_start: int
    meter_stop: int | None
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: float
    duration_s: int
    stop_reason: str | None
    stop_id_tag: str | None
    status: str
    stop_note: str | None = None  # why Voltline closed it itself, when it did
    ocpp_transaction_id: str | None = None  # the transactionId as on the wire: str(id) on 1.6
    evse_id: int | None = None  # None on 1.6, as for connectors
    id_token_type: str | None = None
    remote_start_id: int | None = None


@dataclass(slots=True, frozen=True)
class SignedMeterValue:
    """Signed meter data as the charge point sent it. 1.6 sends it as a sampled value of format
    SignedData (the value alone, e.g. an OCMF string that names its own method and key); 2.0.1
    as signedMeterValue with the signing and encoding method and the public key beside it."""

    signed_meter_data: str
    signing_method: str | None = None
    encoding_method: str | None = None
    public_key: str | None = None


SIGNED_DATA = "SignedData"


@dataclass(slots=True)
class MeterValueView:
    id: int
    charge_point_id: str
    connector_id: int
    transaction_id: int | None
    timestamp: datetime
    value: float | None
    unit: str | None
    measurand: str
    phase: str | None
    context: str
    location: str
    format: str
    raw_value: str
    raw_unit: str | None
    signed_meter_value: SignedMeterValue | None = None


@dataclass(slots=True)
class MessageView:
    id: int
    charge_point_id: str
    direction: str
    message_type: int
    message_id: str | None
    action: str | None
    error_code: str | None
    payload: str
    created_at: datetime


def natural_order(column: Any) -> tuple[Any, ...]:
    """CP-2 before CP-10: by the id without its trailing digits, then the shorter number first,
    then the id itself (a total order, so pages never overlap). `rtrim(x, chars)` is the same
    function in SQLite and PostgreSQL."""
    return (sa.func.rtrim(column, "0123456789"), sa.func.length(column), column)


def _latest_energy() -> sa.ScalarSelect[Any]:
    m = t.meter_values.c
    return (
        sa.select(m.value)
        .where(
            m.transaction_id == t.transactions.c.id,
            m.measurand == mv.ENERGY_REGISTER,
            m.phase.is_(None),
            m.value.is_not(None),
        )
        # In the order of the index on meter_readings (timestamp, then the row): no sort, and only
        # the newest readings are unpacked. Within one reading, the first such sampled value.
        .order_by(m.timestamp.desc(), m.reading_id.desc())
        .limit(1)
        .scalar_subquery()
    )


class Queries:
    def __init__(
        self,
        store: Store,
        transactions: TransactionService,
        is_connected: Any = None,
        last_heartbeat: Any = None,
        is_registered: Any = None,
    ) -> None:
        self._store = store
        self._transactions = transactions
        # The registry the handshake consults knows every charge point at once (and forgets a
        # deleted one at once): a lookup there saves a command a round trip to the database.
        self.is_registered = is_registered or (lambda identity: False)
        # Heartbeats reach the database in periodic flushes; this node's memory has the newest.
        self.last_heartbeat = last_heartbeat or (lambda identity: None)
        # The gateway knows a connection at once; the database a moment later (and for every node).
        self.is_connected = is_connected or (lambda identity: False)

    # -- charge points ---------------------------------------------------------------------------

    async def charge_points(
        self,
        *,
        connected: bool | None = None,
        registration_status: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ChargePointView]:
        c = t.charge_points.c
        query = sa.select(t.charge_points)
        if connected is not None:
            query = query.where(c.connected.is_(connected))
        if registration_status is not None:
            query = query.where(c.registration_status == registration_status)
        if search:
            query = query.where(
                sa.or_(*(col.contains(search, autoescape=True) for col in (c.id, c.description, c.vendor, c.model)))
            )
        page = await fetch_page(self._store, query, natural_order(c.id), limit, offset, lambda row: row)
        connectors = await self._connectors([row.id for row in page.items])
        return Page([self._view(row, connectors.get(row.id, [])) for row in page.items], page.total, limit, offset)

    async def charge_point(self, identity: str) -> ChargePointView:
        row = await self._store.query_one(sa.select(t.charge_points).where(t.charge_points.c.id == identity))
        if row is None:
            raise NotFound(f"no charge point {identity}")
        return self._view(row, (await self._connectors([identity])).get(identity, []))

    async def require_charge_point(self, identity: str) -> None:
        if self.is_registered(identity):
            return
        if await self._store.fetch_one(sa.select(t.charge_points.c.id).where(t.charge_points.c.id == identity)) is None:
            raise NotFound(f"no charge point {identity}")

    async def _connectors(self, identities: list[str]) -> dict[str, list[ConnectorView]]:
        if not identities:
            return {}
        c = t.connectors.c
        rows = await self._store.query_all(
            sa.select(t.connectors)
            .where(c.charge_point_id.in_(identities))
            .order_by(c.charge_point_id, t.CONNECTOR_EVSE_KEY, c.connector_id)
        )
        found: dict[str, list[ConnectorView]] = {}
        for row in rows:
            view = ConnectorView(
                row.connector_id, row.status, row.error_code, row.info, row.vendor_id, row.vendor_error_code, row.status_at,
                evse_id=row.evse_id,
            )
            live = self._transactions.live.get((row.charge_point_id, row.connector_id))
            if live is not None:
                view.transaction_id, view.energy_wh, view.power_w, view.soc = (
                    live.transaction_id, live.energy_wh, live.power_w, live.soc
                )
            found.setdefault(row.charge_point_id, []).append(view)
        return found

    def _view(self, row: Any, connectors: list[ConnectorView]) -> ChargePointView:
        return ChargePointView(
            id=row.id,
            description=row.description,
            connected=bool(self.is_connected(row.id) or row.connected),
            registration_status=row.registration_status,
            vendor=row.vendor,
            model=row.model,
            serial_number=row.serial_number,
            charge_box_serial_number=row.charge_box_serial_number,
            firmware_version=row.firmware_version,
            iccid=row.iccid,
            imsi=row.imsi,
            meter_type=row.meter_type,
            meter_serial_number=row.meter_serial_number,
            ocpp_version=row.ocpp_version,
            has_password=row.password_hash is not None,
            security_profile=row.security_profile or 0,
            ping_interval=row.ping_interval,
            lenient_actions=list(row.lenient_actions or ()),
            last_heartbeat_at=_newest(row.last_heartbeat_at, self.last_heartbeat(row.id)),
            last_seen_at=row.last_seen_at,
            last_boot_at=row.last_boot_at,
            connected_at=row.connected_at,
            disconnected_at=row.disconnected_at,
            remote_address=row.remote_address,
            firmware_status=row.firmware_status,
            firmware_status_at=row.firmware_status_at,
            diagnostics_status=row.diagnostics_status,
            diagnostics_status_at=row.diagnostics_status_at,
            local_list_version=row.local_list_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            connectors=connectors,
            log_status=row.log_status,
            log_status_at=row.log_status_at,
            heartbeat_interval=row.heartbeat_interval,
        )

    # -- transactions ----------------------------------------------------------------------------

    def _transactions_query(
        self,
        charge_point_id: str | None,
        connector_id: int | None,
        id_tag: str | None,
        active: bool | None,
        started_from: datetime | None,
        started_to: datetime | None,
        ocpp_transaction_id: str | None = None,
    ) -> sa.Select[Any]:
        c = t.transactions.c
        query = sa.select(t.transactions, _latest_energy().label("latest_energy"))
        for column, value in (
            (c.charge_point_id, charge_point_id), (c.connector_id, connector_id), (c.id_tag, id_tag),
            (c.ocpp_transaction_id, ocpp_transaction_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if active is not None:
            query = query.where(c.stopped_at.is_(None) if active else c.stopped_at.is_not(None))
        if started_from is not None:
            query = query.where(c.started_at >= started_from)
        if started_to is not None:
            query = query.where(c.started_at < started_to)
        return query

    async def transactions(
        self,
        *,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        id_tag: str | None = None,
        active: bool | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        ocpp_transaction_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: str | None = None,
    ) -> Page[TransactionView]:
        """Newest first; `after` is the `next_cursor` of the page before."""
        query = self._transactions_query(
            charge_point_id, connector_id, id_tag, active, started_from, started_to, ocpp_transaction_id
        )
        at = now()
        c = t.transactions.c
        return await fetch_page(
            self._store, query, (c.id.desc(),), limit, offset, lambda row: _transaction(row, at),
            after=None if after is None else c.id < decode_cursor(after, "tx", int)[0],
            cursor_of=lambda row: encode_cursor("tx", row.id),
        )

    async def stream_transactions(
        self, render: Callable[[list[TransactionView]], T], **filters: Any
    ) -> AsyncIterator[T]:
        """Every matching transaction, oldest first, in chunks of 1,000, each made into
        `render(chunk)` (the CSV export's lines) where the read runs: in the read's thread, so
        that neither the rows nor the file are made on the event loop's thread."""
        query = self._transactions_query(
            filters.get("charge_point_id"), filters.get("connector_id"), filters.get("id_tag"),
            filters.get("active"), filters.get("started_from"), filters.get("started_to"),
            filters.get("ocpp_transaction_id"),
        )
        at, last_id = now(), 0
        c = t.transactions.c

        def chunk(conn: sa.Connection, after: int) -> tuple[T, int | None]:
            rows = conn.execute(query.where(c.id > after).order_by(c.id).limit(CHUNK_ROWS)).all()
            last = rows[-1].id if len(rows) == CHUNK_ROWS else None
            return render([_transaction(row, at) for row in rows]), last

        while last_id is not None:
            async with self._store.query() as conn:
                rendered, last_id = await conn.run_sync(chunk, last_id)
            yield rendered

    async def transaction(self, transaction_id: int) -> tuple[TransactionView, list[MeterValueView]]:
        row = await self._store.query_one(
            self._transactions_query(None, None, None, None, None, None).where(t.transactions.c.id == transaction_id)
        )
        if row is None:
            raise NotFound(f"no transaction {transaction_id}")
        m = t.meter_values.c
        samples = await self._store.query_all(
            sa.select(t.meter_values).where(m.transaction_id == transaction_id).order_by(m.timestamp, m.id)
        )
        return _transaction(row, now()), [_meter_value(s) for s in samples]

    # -- meter values and the message log --------------------------------------------------------

    async def meter_values(
        self,
        *,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        transaction_id: int | None = None,
        measurand: str | None = None,
        time_from: datetime | None = None,
        time_to: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> Page[MeterValueView]:
        """Oldest first; `after` is the `next_cursor` of the page before."""
        c = t.meter_values.c
        query = sa.select(t.meter_values)
        for column, value in (
            (c.charge_point_id, charge_point_id), (c.connector_id, connector_id),
            (c.transaction_id, transaction_id), (c.measurand, measurand),
        ):
            if value is not None:
                query = query.where(column == value)
        if time_from is not None:
            query = query.where(c.timestamp >= time_from)
        if time_to is not None:
            query = query.where(c.timestamp < time_to)
        past = None
        if after is not None:
            at, last = decode_cursor(after, "mv", datetime, int)
            past = sa.or_(c.timestamp > at, sa.and_(c.timestamp == at, c.id > last))
        return await fetch_page(
            self._store, query, (c.timestamp, c.id), limit, offset, _meter_value,
            after=past, cursor_of=lambda row: encode_cursor("mv", row.timestamp, row.id),
        )

    async def messages(
        self,
        *,
        charge_point_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
        message_type: int | None = None,
        time_from: datetime | None = None,
        time_to: datetime | None = None,
        newest_first: bool = True,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> Page[MessageView]:
        """Newest (or oldest) first; `after` is the `next_cursor` of the page before."""
        c = t.messages.c
        query = sa.select(t.messages)
        for column, value in ((c.action, action), (c.direction, direction), (c.message_type, message_type)):
            if value is not None:
                query = query.where(column == value)
        # Each time bound twice: on the frame, and on its batch (which the batches' index finds).
        if time_from is not None:
            query = query.where(c.created_at >= time_from, c.batch_last_at >= time_from)
        if time_to is not None:
            query = query.where(c.created_at < time_to, c.batch_first_at < time_to)
        # A cursor is a frame id; its batch bounds the batches to read (their index finds them).
        last = None if after is None else decode_cursor(after, "msg", int)[0]
        page_query, before = query, None
        if last is not None:
            if newest_first:
                before = last
                page_query = query.where(c.id < last, c.batch_id <= last // t.FRAMES_PER_BATCH)
            else:
                page_query = query.where(c.id > last, c.batch_id >= last // t.FRAMES_PER_BATCH)
        async with self._store.query() as conn:
            if charge_point_id is None:
                if query.whereclause is None:  # the whole log: counted by batch, not unpacked
                    total = await conn.scalar(sa.select(sa.func.sum(t.message_batches.c.frame_count)))
                else:
                    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
                rows = await message_search.log_rows(
                    conn, page_query, limit=limit, offset=offset, newest_first=newest_first
                )
            else:
                # No index is led by the charge point (it slowed the log's writes): walk its blocks.
                total = await message_search.count_charge_point_rows(conn, query, charge_point_id)
                rows = await message_search.charge_point_rows(
                    conn, page_query, charge_point_id, limit=limit, offset=offset, newest_first=newest_first,
                    before=before,
                )
        next_cursor = encode_cursor("msg", rows[-1].id) if rows and len(rows) == limit else None
        return Page([_message(row) for row in rows], int(total or 0), limit, offset, next_cursor)


def _transaction(row: Any, at: datetime) -> TransactionView:
    if row.stopped_at is not None and row.meter_stop is not None:
        energy = float(row.meter_stop - row.meter_start)
    elif row.latest_energy is not None:
        energy = float(row.latest_energy) - row.meter_start
    else:
        energy = 0.0
    end = row.stopped_at or at
    return TransactionView(
        id=row.id,
        charge_point_id=row.charge_point_id,
        connector_id=row.connector_id,
        id_tag=row.id_tag,
        id_tag_status=row.id_tag_status,
        reservation_id=row.reservation_id,
        meter_start=row.meter_start,
        meter_stop=row.meter_stop,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        energy_wh=energy,
        duration_s=max(0, int((end - row.started_at).total_seconds())),
        stop_reason=row.stop_reason,
        stop_id_tag=row.stop_id_tag,
        status=ACTIVE if row.stopped_at is None else STOPPED,
        stop_note=row.stop_note,
        ocpp_transaction_id=row.ocpp_transaction_id,
        evse_id=row.evse_id,
        id_token_type=row.id_token_type,
        remote_start_id=row.remote_start_id,
    )


def _meter_value(row: Any) -> MeterValueView:
    return MeterValueView(
        row.id, row.charge_point_id, row.connector_id, row.transaction_id, row.timestamp, row.value, row.unit,
        row.measurand, row.phase, row.context, row.location, row.format, row.raw_value, row.raw_unit,
        SignedMeterValue(row.raw_value) if row.format == SIGNED_DATA else None,
    )


def _message(row: Any) -> MessageView:
    return MessageView(
        row.id, row.charge_point_id, row.direction, row.message_type, row.message_id, row.action, row.error_code,
        row.payload, row.created_at,
    )


def _newest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None
