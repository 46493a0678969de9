"""The read model of transactions and meter values, for the REST API and the dashboard alike.

The energy of a session is written here once, as one SQL expression: meterStop − meterStart
once stopped, else the newest Energy.Active.Import.Register reading − meterStart (0 before the
first). Lists, details, exports and the overview's totals all read that expression, so every
page and every API answer show the same number, before and after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Literal, TypeVar

import orjson
import sqlalchemy as sa
from pydantic import Field

from voltline.services.clock import now
from voltline.services.errors import NotFound
from voltline.services.pacing import Pacer
from voltline.services.paging import Page, decode_cursor, encode_cursor, fetch_page
from voltline.services.read_model import ReadModel
from voltline.services.transactions import meter_values as mv
from voltline.services.transactions.meter_pages import MeterValueFilter, fetch_meter_page
from voltline.services.transactions.service import LiveReading, live_key
from voltline.store import tables as t
from voltline.store.database import Store

ACTIVE, STOPPED = "Active", "Stopped"
EXPORT_CHUNK = 1000  # transactions per query of an export
# Transactions an export sends a second at most (services.pacing): about a fifth of a core for
# making their CSV; 42,000 transactions in 8.4 s, a million in under 4 minutes.
EXPORT_RATE = 5000
MISSING_SHOWN = 1000  # seqNos a transaction's gap list shows at most
T = TypeVar("T")

_tx = t.transactions.c
_ev = t.transaction_events.c


class TransactionView(ReadModel):
    id: int = Field(description="Voltline's id, unique system-wide (on OCPP 1.6 the transactionId itself)")
    charge_point_id: str
    connector_id: int
    id_tag: str = Field(description="empty while a 2.0.1 transaction's id token has not been named yet")
    id_tag_status: str
    reservation_id: int | None
    meter_start: int = Field(description="Wh")
    meter_stop: int | None = Field(description="Wh")
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: float = Field(description="meter_stop − meter_start; while active, the latest register − meter_start")
    duration_s: int
    stop_reason: str | None
    stop_id_tag: str | None
    status: Literal["Active", "Stopped"]
    stop_note: str | None = Field(
        None, description="set when Voltline closed the transaction itself (its StopTransaction never came), saying why"
    )
    ocpp_transaction_id: str | None = Field(None, description="the transactionId as on the wire; on OCPP 1.6 str(id)")
    evse_id: int | None = Field(None, description="the EVSE (OCPP 2.0.1); null on 1.6")
    id_token_type: str | None = Field(None, description="the type of the id token that started it (IdTokenEnumType)")
    remote_start_id: int | None = Field(None, description="the remote start that led to it, if one did")


SIGNED_DATA = "SignedData"


class SignedMeterValue(ReadModel):
    """Signed meter data as the charge point sent it. 1.6 sends it as a sampled value of format
    SignedData (the value alone, e.g. an OCMF string that names its own method and key); 2.0.1
    as signedMeterValue with the signing and encoding method and the public key beside it."""

    signed_meter_data: str = Field(description="exactly as the charge point sent it")
    signing_method: str | None = Field(None, description="OCPP 2.0.1; null on 1.6 (the data names its own)")
    encoding_method: str | None = None
    public_key: str | None = None


class SampleView(ReadModel):
    """One sampled value, as a transaction's detail lists it."""

    timestamp: datetime
    value: float | None = Field(description="normalized (Wh, W, …) when numeric; null for signed data")
    measurand: str
    unit: str | None
    phase: str | None
    context: str
    location: str
    format: str
    raw_value: str
    raw_unit: str | None
    signed_meter_value: SignedMeterValue | None = Field(None, description="signed meter data, verbatim")


class MeterValueView(SampleView):
    id: int
    charge_point_id: str
    connector_id: int
    transaction_id: int | None


@dataclass(slots=True, frozen=True)
class TransactionFilter:
    """Which transactions a list or an export shows (the API's query and the dashboard's form)."""

    charge_point_id: str | None = None
    connector_id: int | None = None
    id_tag: str | None = None
    active: bool | None = None  # True: still charging; False: stopped
    started_from: datetime | None = None  # started at or after
    started_to: datetime | None = None  # started before
    ocpp_transaction_id: str | None = None  # the transactionId as on the wire

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        for column, value in (
            (_tx.charge_point_id, self.charge_point_id), (_tx.connector_id, self.connector_id), (_tx.id_tag, self.id_tag),
            (_tx.ocpp_transaction_id, self.ocpp_transaction_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.active is not None:
            query = query.where(_tx.stopped_at.is_(None) if self.active else _tx.stopped_at.is_not(None))
        if self.started_from is not None:
            query = query.where(_tx.started_at >= self.started_from)
        if self.started_to is not None:
            query = query.where(_tx.started_at < self.started_to)
        return query


def _latest_register() -> sa.ScalarSelect[Any]:
    m = t.meter_values.c
    return (
        sa.select(m.value)
        .where(
            m.transaction_id == _tx.id,
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


def energy_wh() -> sa.ColumnElement[Any]:
    """The energy of a session, Wh: the one rule (see the module's docstring)."""
    return sa.case(
        (sa.and_(_tx.stopped_at.is_not(None), _tx.meter_stop.is_not(None)), _tx.meter_stop - _tx.meter_start),
        else_=sa.func.coalesce(_latest_register() - _tx.meter_start, 0),
    )


def _select() -> sa.Select[Any]:
    return sa.select(t.transactions, energy_wh().label("energy_wh"))


class TransactionViews:
    def __init__(self, store: Store, live: dict[tuple[str, int], LiveReading]) -> None:
        self._store = store
        # The newest power reading of each charging connector, kept by the transaction service.
        self._live = live

    async def transactions(
        self, where: TransactionFilter, *, limit: int = 50, offset: int = 0, after: str | None = None
    ) -> Page[TransactionView]:
        """Newest first, with the total; `after` is the `next_cursor` of the page before."""
        at = now()
        return await fetch_page(
            self._store, where.apply(_select()), (_tx.id.desc(),), limit, offset, lambda row: _transaction(row, at),
            after=None if after is None else _tx.id < decode_cursor(after, "tx", int)[0],
            cursor_of=lambda row: encode_cursor("tx", row.id),
        )

    async def newest(self, where: TransactionFilter, *, limit: int, offset: int = 0) -> list[TransactionView]:
        """Newest first, without counting them all (a page that only asks whether more follow)."""
        rows = await self._store.query_all(where.apply(_select()).order_by(_tx.id.desc()).limit(limit).offset(offset))
        at = now()
        return [_transaction(row, at) for row in rows]

    async def active(self, charge_point_id: str | None = None) -> list[TransactionView]:
        """The open sessions (of one charge point), oldest first."""
        query = TransactionFilter(charge_point_id=charge_point_id, active=True).apply(_select())
        rows = await self._store.query_all(query.order_by(_tx.started_at))
        at = now()
        return [_transaction(row, at) for row in rows]

    async def stream(self, where: TransactionFilter, render: Callable[[list[TransactionView]], T]) -> AsyncIterator[T]:
        """Every matching transaction, oldest first, in chunks, each made into `render(chunk)`
        (the CSV export's lines) where the read runs: in the read's thread, so that neither the
        rows nor the file are made on the event loop's thread."""
        query = where.apply(_select())
        at: datetime = now()
        last_id: int | None = 0

        def chunk(conn: sa.Connection, after: int) -> tuple[T, int | None]:
            rows = conn.execute(query.where(_tx.id > after).order_by(_tx.id).limit(EXPORT_CHUNK)).all()
            last = rows[-1].id if len(rows) == EXPORT_CHUNK else None
            return render([_transaction(row, at) for row in rows]), last

        # A chunk a statement, each from the last id on (by the primary key): no connection nor
        # snapshot is held between chunks, while the export waits for its pace or its client.
        pace = Pacer(EXPORT_RATE)
        while last_id is not None:
            async with self._store.query() as conn:
                rendered, last_id = await conn.run_sync(chunk, last_id)
            yield rendered
            if last_id is not None:
                await pace.done(EXPORT_CHUNK)

    async def transaction(self, transaction_id: int) -> TransactionView:
        row = await self._store.query_one(_select().where(_tx.id == transaction_id))
        if row is None:
            raise NotFound(f"no transaction {transaction_id}")
        return _transaction(row, now())

    async def samples(self, transaction_id: int, limit: int | None = None) -> list[MeterValueView]:
        """A transaction's sampled values, oldest first."""
        m = t.meter_values.c
        query = sa.select(t.meter_values).where(m.transaction_id == transaction_id).order_by(m.timestamp, m.id)
        return [_meter_value(row) for row in await self._store.query_all(query if limit is None else query.limit(limit))]

    async def missing_seq_nos(self, transaction_id: int) -> list[int]:
        """The gaps in a 2.0.1 transaction's events: the seqNos below the highest received that
        were not (yet) received. A station numbers a transaction's events from 0 (E01)."""
        ev = t.transaction_events.c
        rows = await self._store.query_all(
            sa.select(ev.seq_no).where(ev.transaction_id == transaction_id).order_by(ev.seq_no)
        )
        seen = [row.seq_no for row in rows]
        if not seen:
            return []
        present = set(seen)
        # At most MISSING_SHOWN: a station whose seqNos jump by millions must not cost a page that.
        return list(islice((n for n in range(min(0, seen[0]), seen[-1]) if n not in present), MISSING_SHOWN))

    async def energy_since(self, since: datetime) -> float:
        """Wh delivered by the sessions that finished at or after `since` and by those still open."""
        async with self._store.query() as conn:
            value = await conn.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(energy_wh()), 0)).where(
                    sa.or_(_tx.stopped_at >= since, _tx.stopped_at.is_(None))
                )
            )
        return float(value or 0)

    async def charging_states(self, transaction_ids: list[int]) -> dict[int, str]:
        """The newest chargingState each of these transactions' events told (OCPP 2.0.1: its
        connector says only Occupied while in use), by transaction id; none for 1.6 sessions."""
        if not transaction_ids:
            return {}
        # Each transaction's events backwards by the (transaction_id, seqNo) index, stopping at
        # the first with a state (the newest, as a rule): not a scan of a long session's events.
        newest = (
            sa.select(_ev.charging_state)
            .where(_ev.transaction_id == _tx.id, _ev.charging_state.is_not(None))
            .order_by(_ev.seq_no.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = sa.select(_tx.id.label("transaction_id"), newest.label("charging_state")).where(_tx.id.in_(transaction_ids))
        rows = await self._store.query_all(query)
        return {row.transaction_id: row.charging_state for row in rows if row.charging_state is not None}

    async def active_count(self) -> int:
        async with self._store.query() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).where(_tx.stopped_at.is_(None))) or 0)

    def power_w(self, transaction: TransactionView) -> float | None:
        """The newest power reading of an open session, when this node has one in memory."""
        reading = self._live.get(live_key(transaction.charge_point_id, transaction.evse_id, transaction.connector_id))
        if transaction.stopped_at is not None or reading is None or reading.transaction_id != transaction.id:
            return None
        return reading.power_w

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
        """Oldest first; `after` is the `next_cursor` of the page before (see meter_pages)."""
        where = MeterValueFilter(
            charge_point_id=charge_point_id, connector_id=connector_id, transaction_id=transaction_id,
            measurand=measurand, time_from=time_from, time_to=time_to,
        )
        cursor = None if after is None else decode_cursor(after, "mv", datetime, int)
        return await fetch_meter_page(self._store, where, limit, offset, _meter_value, after=cursor)


def series(samples: list[MeterValueView], transaction: TransactionView) -> dict[str, list[list[Any]]]:
    """Energy (Wh delivered since the start) and power (W) over time, for the session chart.

    Energy starts at zero when the session starts and ends at its energy_wh when it has stopped."""
    energy: list[list[Any]] = [[transaction.started_at.astimezone(UTC).isoformat(), 0]]
    power: list[list[Any]] = []
    for sample in samples:
        if sample.value is None or sample.phase is not None:
            continue
        at = sample.timestamp.astimezone(UTC).isoformat()
        if sample.measurand == mv.ENERGY_REGISTER:
            energy.append([at, sample.value - transaction.meter_start])
        elif sample.measurand == mv.POWER:
            power.append([at, sample.value])
    if transaction.stopped_at is not None and transaction.meter_stop is not None:
        energy.append([transaction.stopped_at.astimezone(UTC).isoformat(), transaction.energy_wh])
    energy.sort(key=lambda point: datetime.fromisoformat(point[0]))
    return {"energy": energy, "power": power}


def _transaction(row: Any, at: datetime) -> TransactionView:
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
        energy_wh=float(row.energy_wh),
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
    fields = dict(row._mapping)
    signed = fields.pop(t.SIGNED_FIELD, None)
    view = MeterValueView.model_validate(fields)
    if signed is not None:  # 2.0.1's signedMeterValue, as received
        data = orjson.loads(signed)
        view.signed_meter_value = SignedMeterValue(
            signed_meter_data=data["signedMeterData"], signing_method=data.get("signingMethod"),
            encoding_method=data.get("encodingMethod"), public_key=data.get("publicKey"),
        )
    elif row.format == SIGNED_DATA:
        view.signed_meter_value = SignedMeterValue(signed_meter_data=row.raw_value)
    return view
