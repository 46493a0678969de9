"""A transaction told as a series of events (OCPP 2.0.1's TransactionEvent), applied to the one
transaction model both versions share.

A 2.0.1 charging station numbers the events of a transaction (seqNo) and may deliver them late,
out of order (`offline`: queued while it had no connection) and more than once. So the state of
a transaction never depends on the order they arrive in:

- the first event of an unknown transactionId creates the transaction, whatever its type (an
  Updated or an Ended whose Started is still queued); Voltline's integer `id` is allocated as for
  1.6, the transactionId kept as `ocpp_transaction_id`;
- every event is kept in `transaction_events` by (transaction, seqNo): a repeat changes nothing
  and is answered as the first was, and the seqNos never seen are the transaction's gaps;
- the start time is the Started's (the earliest event's until it comes), the stop time, reason
  and stop token the Ended's only; an event after the Ended adds its meter values and leaves the
  transaction ended: nothing reopens it;
- the meter start is the first Energy.Active.Import.Register reading, the meter stop the last one
  at or before the Ended (DESIGN §5), both taken from all readings stored so far, so readings that
  come late move them to where they belong;
- the id token may come with any event before the Ended (a transaction started on EVConnected is
  authorized later): the transaction takes its id tag and type then.

The most common event, a periodic Updated of an open transaction, would change nothing here but
add its event row and readings: open_events.py applies those without this module, from what the
last event applied here left, and leaves every other event to `apply_event`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.authorization.authorize import AuthorizationContext, IdTagInfo, authorize
from voltline.services.clock import now
from voltline.services.transactions import meter_values as mv
from voltline.services.transactions import rules
from voltline.store import tables as t

STARTED, UPDATED, ENDED = "Started", "Updated", "Ended"
DEFAULT_STOP_REASON = "Local"  # OCPP: an Ended without stoppedReason, a StopTransaction without reason
NO_TOKEN = ""
"""The id tag (and its status) of a transaction whose id token has not been named yet."""


@dataclass(frozen=True, slots=True)
class TransactionEventData:
    """One TransactionEvent, in no version's spelling. `meter_value` is OCPP's meterValue list as
    sent (meter_values.normalize reads both versions' shapes)."""

    event_type: str  # Started | Updated | Ended
    timestamp: datetime
    trigger_reason: str
    seq_no: int
    ocpp_transaction_id: str
    offline: bool = False
    charging_state: str | None = None
    stopped_reason: str | None = None
    id_token: str | None = None
    token_type: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    meter_value: list[dict[str, Any]] = field(default_factory=list)
    remote_start_id: int | None = None
    reservation_id: int | None = None


@dataclass(slots=True)
class EventResult:
    """What applying an event did, for the answer and for what the service tells the rest."""

    transaction_id: int
    id_tag_info: IdTagInfo | None  # the verdict on the event's id token, if it named one
    repeated: bool = False
    created: bool = False
    ended: bool = False  # this event ended the transaction
    identified: bool = False  # this event named the transaction's id token
    metered: bool = False  # this event brought the transaction's first register reading
    stopped: bool = False  # ended, by this event or an earlier one
    place: int = 0  # the EVSE: the live readings' and the readings' connector number
    connector_id: int = 0  # the connector within that EVSE, as the transaction's row keeps it
    id_tag: str = NO_TOKEN
    id_tag_status: str = NO_TOKEN
    meter_start: int = 0
    meter_stop: int | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    reservation_used: int | None = None
    reservation_refused: str | None = None
    remote_start_id: int | None = None
    samples: list[mv.SampledValue] = field(default_factory=list)


_tx = t.transactions.c
_ev = t.transaction_events.c
_COLUMNS = (
    _tx.id, _tx.evse_id, _tx.connector_id, _tx.id_tag, _tx.id_tag_status, _tx.meter_start, _tx.started_at,
    _tx.stopped_at, _tx.stop_note, _tx.stop_reason, _tx.meter_stop, _tx.reservation_id, _tx.remote_start_id,
)
_FIND = sa.select(*_COLUMNS).where(
    _tx.charge_point_id == sa.bindparam("charge_point_id"), _tx.ocpp_transaction_id == sa.bindparam("ocpp_transaction_id")
)
# The unique keys decide, not a look first: two nodes may store the same event at once.
_INSERT_TRANSACTION = {
    name: dialect.insert(t.transactions)
    .on_conflict_do_nothing(index_elements=["charge_point_id", "ocpp_transaction_id"])
    .returning(_tx.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_EVENT = {
    name: dialect.insert(t.transaction_events)
    .on_conflict_do_nothing(index_elements=["transaction_id", "seq_no"])
    .returning(_ev.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


async def apply_event(
    conn: AsyncConnection, identity: str, event: TransactionEventData, samples: list[mv.SampledValue],
    encoded: list[mv.Reading], set_ids: Mapping[tuple[mv.Shape, ...], int],
) -> EventResult:
    """Apply `event` (its meter values normalized as `samples`, encoded as `encoded`, whose shape
    sets' ids `set_ids` has) in the database; see the module's docstring for the rules. Run by Store.write: it may run more than once, so it does nothing
    outside the database."""
    key = {"charge_point_id": identity, "ocpp_transaction_id": event.ocpp_transaction_id}
    row = (await conn.execute(_FIND, key)).first()
    created = row is None
    if row is None:
        row = await _create(conn, identity, event, samples)
    transaction_id: int = row.id
    result = EventResult(transaction_id, None, created=created, samples=samples)

    stored_event = await conn.scalar(
        _INSERT_EVENT[conn.dialect.name],
        {
            **key, "seq_no": event.seq_no, "transaction_id": transaction_id, "event_type": event.event_type,
            "trigger_reason": event.trigger_reason, "timestamp": event.timestamp, "offline": event.offline,
            "charging_state": event.charging_state, "received_at": now(),
        },
    )
    token_context = AuthorizationContext.STOP if event.event_type == ENDED else AuthorizationContext.START
    if stored_event is None:
        # A repeat: the first was applied; the same verdict, this transaction not counted against its tag.
        result.repeated = True
        if event.id_token is not None:
            result.id_tag_info = await authorize(conn, event.id_token, token_context, token_type=event.token_type,
                                                 exclude_transactions=(transaction_id,))
        return result

    values: dict[str, Any] = {}
    evse_id = row.evse_id if event.evse_id is None else event.evse_id
    if event.evse_id is not None and (event.evse_id != row.evse_id or event.connector_id not in (None, row.connector_id)):
        values["evse_id"] = event.evse_id
        values["connector_id"] = event.connector_id or row.connector_id
    result.place = place = evse_id or 0
    result.connector_id = values.get("connector_id", row.connector_id)

    # The id token: the verdict answers the event; the first one before the end names the transaction.
    id_tag, id_tag_status = row.id_tag, row.id_tag_status
    if event.id_token is not None:
        info = await authorize(conn, event.id_token, token_context, token_type=event.token_type,
                               exclude_transactions=(transaction_id,))
        result.id_tag_info = info
        if event.event_type != ENDED and row.id_tag == NO_TOKEN:
            id_tag, id_tag_status = event.id_token, info.status
            values.update(id_tag=id_tag, id_tag_status=id_tag_status, id_token_type=event.token_type)
            result.identified = not created
    result.id_tag, result.id_tag_status = id_tag, id_tag_status

    registers = _has_register(samples)
    # Whether the transaction had a meter start reading before this event's readings.
    had_first = not created and registers and await conn.scalar(rules.FIRST_ENERGY, {"transaction_id": transaction_id}) is not None
    if samples:
        readings = mv.readings(encoded, set_ids, identity, place, transaction_id)
        await conn.execute(t.meter_readings.insert(), [dict(zip(mv.READING_COLUMNS, r)) for r in readings])

    started_at = row.started_at
    if event.event_type == STARTED or event.timestamp < started_at:
        started_at = event.timestamp
        values["started_at"] = started_at

    meter_start = row.meter_start
    if registers:
        first = await conn.scalar(rules.FIRST_ENERGY, {"transaction_id": transaction_id})
        result.metered = not had_first
        meter_start = round(first)
        values["meter_start"] = meter_start

    stopped_at, stop_reason, meter_stop, stop_note = row.stopped_at, row.stop_reason, row.meter_stop, row.stop_note
    # Stopped by Voltline itself (stop_note): the station's own Ended still counts.
    if event.event_type == ENDED and (row.stopped_at is None or row.stop_note is not None):
        result.ended = row.stopped_at is None
        stopped_at, stop_reason, stop_note = event.timestamp, event.stopped_reason or DEFAULT_STOP_REASON, None
        values.update(stopped_at=stopped_at, stop_reason=stop_reason, stop_id_tag=event.id_token, stop_note=None)
    # Ended by the station (not closed by Voltline): its meter stop follows the readings known so far.
    if stopped_at is not None and stop_note is None and (registers or "stopped_at" in values):
        last = await conn.scalar(rules.LAST_ENERGY, {"transaction_id": transaction_id, "at": stopped_at})
        meter_stop = meter_start if last is None else round(last)
        values["meter_stop"] = meter_stop

    if event.remote_start_id is not None and row.remote_start_id is None:
        remote_start = await _remote_start_of(conn, identity, event.remote_start_id)
        if remote_start is not None:
            await rules.link_remote_start(conn, remote_start, transaction_id, place)
            values["remote_start_id"] = result.remote_start_id = remote_start

    if event.reservation_id is not None and row.reservation_id is None and id_tag != NO_TOKEN:
        info = result.id_tag_info or await authorize(conn, id_tag)
        reservation, result.reservation_refused = await rules.fitting_reservation(
            conn, identity, place, id_tag, info, event.reservation_id, started_at
        )
        if reservation is not None:
            await rules.use_reservation(conn, reservation, transaction_id)
            values["reservation_id"] = result.reservation_used = reservation

    if values:
        await conn.execute(t.transactions.update().where(_tx.id == transaction_id).values(values))
    result.meter_start, result.meter_stop = meter_start, meter_stop
    result.started_at, result.stopped_at, result.stop_reason = started_at, stopped_at, stop_reason
    result.stopped = stopped_at is not None
    return result


async def _create(
    conn: AsyncConnection, identity: str, event: TransactionEventData, samples: list[mv.SampledValue]
) -> Any:
    """The transaction an event of an unknown transactionId begins, as much as that event tells;
    the rest of `apply_event` fills in what it says beyond that."""
    evse_id = event.evse_id if event.evse_id is not None else 0
    values = {
        "charge_point_id": identity,
        "ocpp_transaction_id": event.ocpp_transaction_id,
        "evse_id": evse_id,
        # 2.0.1 names the connector only once it is known (evse.connectorId is optional): until
        # then the EVSE's first.
        "connector_id": event.connector_id or (1 if evse_id else 0),
        "id_tag": NO_TOKEN,
        "id_tag_status": NO_TOKEN,
        "started_at": event.timestamp,
        "meter_start": 0,
    }
    await conn.scalar(_INSERT_TRANSACTION[conn.dialect.name], values)
    # Inserted here or, meanwhile, by another node: either way the row of this transactionId.
    return (await conn.execute(_FIND, values)).first()


def _has_register(samples: list[mv.SampledValue]) -> bool:
    return any(s.measurand == mv.ENERGY_REGISTER and s.phase is None and s.value is not None for s in samples)


async def _remote_start_of(conn: AsyncConnection, identity: str, remote_start_id: int) -> int | None:
    """The remote start of this charge point, not yet linked, that went out with the
    `remote_start_id` the station names: the link is exact, never a guess by tag and time. Voltline
    sends a remote start's own id; an operator's RequestStartTransaction keeps the id it was
    written with (the newest such, should an operator use one twice)."""
    rs = t.remote_starts.c
    return await conn.scalar(  # type: ignore[no-any-return]
        sa.select(rs.id)
        .where(sa.func.coalesce(rs.ocpp_remote_start_id, rs.id) == remote_start_id, rs.charge_point_id == identity,
               rs.transaction_id.is_(None))
        .order_by(rs.id.desc()).limit(1)
    )
