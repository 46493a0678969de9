"""Charging sessions: start, meter values, stop — idempotent, and correct when messages come late.

Charge points repeat a StartTransaction whose answer they lost and deliver queued StopTransaction
and MeterValues after reconnecting, hours late and out of order. Each is applied to the right
transaction, and none creates a second one.

A session whose StopTransaction never comes is closed by Voltline itself, with its energy up to
its last meter value and a `stop_note` saying why: when a new transaction starts on its
connector, when its charge point reboots without it (`reconciliation`), or when an operator
closes it. A StopTransaction that still comes later replaces those estimated values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.transactions import meter_values as mv
from voltline.services.authorization.authorize import ACCEPTED, AuthorizationContext, IdTagInfo, authorize
from voltline.services.clock import now
from voltline.services.errors import Conflict, Invalid, NotFound
from voltline.services.reports.recorder import Rollups
from voltline.services.reports.adding import Grains
from voltline.services.reports.charging import add_charging_time
from voltline.services.transactions.reconciliation import LostTransaction, SessionsAfterReboot
from voltline.services.remote_control.remote_start import REQUESTED
from voltline.services.transactions import rules
from voltline.services.transactions.events import (
    DEFAULT_STOP_REASON, UPDATED, EventResult, TransactionEventData, apply_event,
)
from voltline.services.transactions.shapes import ShapeSets
from voltline.services.transactions.open_events import OpenTransaction, OpenTransactions, event_row, read_open
from voltline.store import tables as t
from voltline.store.tables import DEFAULT_TOKEN_TYPE
from voltline.store.database import Store

log = logging.getLogger("voltline.transactions")

LIVE_MEASURANDS = (mv.ENERGY_REGISTER, mv.POWER, "SoC")  # what a live reading shows

START, STOP = AuthorizationContext.START, AuthorizationContext.STOP

# A RemoteStartTransaction is matched to a StartTransaction that follows within this window.
REMOTE_START_WINDOW = timedelta(minutes=10)

CLOSED_REASON = "Other"
"""The stop reason of a transaction Voltline closes itself (a new one started on its connector,
its charge point rebooted without it, an operator closed it). OCPP's Reason has no value for "the
charge point never said": PowerLoss or Reboot would be a guess, so "Other", as OCPP offers for any
other reason, with `stop_note` saying what happened."""

NOTE_LENGTH = 255  # the stop_note column's


@dataclass(slots=True)
class StartResult:
    transaction_id: int
    id_tag_info: IdTagInfo
    repeated: bool
    # Transactions this start closed: their connector's new session says they are over.
    closed: list[ClosedTransaction] = field(default_factory=list)
    # The reservation it used, or why the one it named was left as it was.
    reservation_used: int | None = None
    reservation_refused: str | None = None
    # Open transactions on the connector that started after this one: left open.
    left_open: list[int] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class ClosedTransaction:
    transaction_id: int
    meter_stop: int
    note: str
    stopped_at: datetime | None = None


def live_key(charge_point_id: str, evse_id: int | None, connector_id: int) -> tuple[str, int]:
    """The key of a connector's live reading in TransactionService.live: a 2.0.1 EVSE charges one
    transaction at a time, whichever of its connectors; a 1.6 connector N is EVSE N."""
    return (charge_point_id, connector_id if evse_id is None else evse_id)


@dataclass(slots=True)
class LiveReading:
    """The newest readings of a charging connector, for live views without a database query."""

    transaction_id: int | None
    energy_wh: float | None = None
    power_w: float | None = None
    soc: float | None = None
    at: datetime | None = None
    # On 2.0.1 the transaction's EVSE and its connector there (the key names the EVSE alone);
    # None on 1.6, whose key is the connector.
    evse_id: int | None = None
    connector_id: int | None = None

    def on(self, evse_id: int | None, connector_id: int) -> bool:
        """Whether this is the reading of the connector numbered so (`evse_id` None on 1.6)."""
        return self.evse_id is None or (self.evse_id, self.connector_id) == (evse_id, connector_id)


class TransactionService:
    def __init__(self, store: Store, bus: EventBus, rollups: Rollups | None = None) -> None:
        self._store = store
        self._bus = bus
        self.rollups = rollups or Rollups(store, enabled=False)
        self.live: dict[tuple[str, int], LiveReading] = {}
        self.open_events = OpenTransactions()
        self.shapes = ShapeSets(store)
        self.after_reboot = SessionsAfterReboot(store, self._close_lost)

    # What a booting charge point says about the sessions it still holds (see reconciliation).
    async def rebooted(self, identity: str, at: datetime) -> None:
        await self.after_reboot.booted(identity, at)

    async def connector_reported(
        self, identity: str, connector_id: int, status: str, timestamp: datetime | None, evse_id: int | None = None
    ) -> list[ClosedTransaction]:
        return await self.after_reboot.connector_reported(identity, connector_id, status, timestamp, evse_id)

    async def start(
        self,
        identity: str,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: datetime,
        reservation_id: int | None = None,
    ) -> StartResult:
        start = {
            "charge_point_id": identity,
            "connector_id": connector_id,
            "id_tag": id_tag,
            "started_at": timestamp,
            "meter_start": meter_start,
        }

        async def repeated(conn: AsyncConnection, transaction_id: int) -> StartResult:
            # The charge point lost our answer and asks again: same transaction, same verdict.
            info = await authorize(conn, id_tag, START, exclude_transactions=(transaction_id,))
            return StartResult(transaction_id, info, repeated=True)

        async def start_tx(conn: AsyncConnection) -> StartResult:
            # This very start (a repeat), and the connector's open transactions: one statement.
            found = (await conn.execute(_START_OR_OPEN, start)).all()
            for row in found:
                if row.repeat:
                    return await repeated(conn, row.id)
            # A connector charges one transaction at a time: one still open there lost its
            # StopTransaction (a power loss, a reboot) and ends where this one begins, whatever
            # the verdict on this one (the charge point has started it: it is stored, and it
            # stops it when refused). One that started later is left alone: this start is a
            # late one of an earlier session.
            superseded = [row for row in found if not row.repeat and row.started_at <= timestamp]
            later = [row.id for row in found if not row.repeat and row.started_at > timestamp]
            info = await authorize(conn, id_tag, START, exclude_transactions=[row.id for row in superseded])
            reservation, refused = await rules.fitting_reservation(conn, identity, connector_id, id_tag, info, reservation_id, timestamp)
            transaction_id = await conn.scalar(
                _INSERT_START[conn.dialect.name],
                {
                    **start, "id_tag_status": info.status, "reservation_id": reservation,
                    # 1.6 tells no token type: the tag's as registered, else an id tag's default.
                    "id_token_type": info.token_type or DEFAULT_TOKEN_TYPE,
                },
            )
            if transaction_id is None:
                # Another node stored this very start meanwhile (the unique key of a start).
                return await repeated(conn, await conn.scalar(_FIND_START, start))
            closed = [await _close(conn, row, connector_id, timestamp, transaction_id) for row in superseded]
            if reservation is not None:
                await rules.use_reservation(conn, reservation, transaction_id)
            remote_start = await _match_remote_start(conn, identity, connector_id, id_tag, transaction_id)
            # On 1.6 the transactionId on the wire is the integer id, known only now.
            await conn.execute(
                _SET_WIRE_ID, {"b_id": transaction_id, "b_wire_id": str(transaction_id), "b_remote_start": remote_start}
            )
            return StartResult(transaction_id, info, False, closed, reservation, refused, later)

        result: StartResult = await self._store.write(start_tx)
        if result.repeated:
            return result
        for closed in result.closed:
            log.warning("%s: transaction %s %s", identity, closed.transaction_id, closed.note)
        if result.left_open:
            log.warning(
                "%s: transaction %s started on connector %s before its open transactions %s: they stay open",
                identity, result.transaction_id, connector_id, result.left_open,
            )
        if result.reservation_refused:
            log.warning(
                "%s: transaction %s named reservation %s, which %s: the reservation is left as it was",
                identity, result.transaction_id, reservation_id, result.reservation_refused,
            )
        for closed in result.closed:
            self._closed_rollup(closed)
            self._publish_closed(identity, connector_id, closed)
        self._started(
            identity, connector_id, result.transaction_id, id_tag, meter_start, timestamp, result.id_tag_info.status,
            result.reservation_used,
        )
        return result

    async def stop(
        self,
        identity: str,
        transaction_id: int,
        meter_stop: int,
        timestamp: datetime,
        *,
        id_tag: str | None = None,
        reason: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
    ) -> IdTagInfo | None:
        samples = mv.normalize(transaction_data) if transaction_data else []
        encoded = mv.encode(samples)
        await self.shapes.know(encoded)

        async def stop_tx(conn: AsyncConnection) -> tuple[bool, int | None, IdTagInfo | None, bool]:
            tx = t.transactions.c
            row = (
                await conn.execute(
                    sa.select(tx.connector_id, tx.stopped_at, tx.stop_note).where(
                        tx.id == transaction_id, tx.charge_point_id == identity
                    )
                )
            ).first()
            info = await authorize(conn, id_tag, STOP) if id_tag else None
            if row is None:
                return False, None, info, False
            applied = row.stopped_at is None
            # Stopped by Voltline itself (stop_note), the charge point's own stop still counts.
            if row.stopped_at is None or row.stop_note is not None:
                await conn.execute(
                    t.transactions.update()
                    .where(tx.id == transaction_id)
                    .values(
                        meter_stop=meter_stop,
                        stopped_at=timestamp,
                        stop_reason=reason or DEFAULT_STOP_REASON,  # OCPP: an absent reason means Local
                        stop_id_tag=id_tag,
                        stop_note=None,
                    )
                )
                if samples:
                    rows = mv.readings(encoded, self.shapes.ids, identity, row.connector_id, transaction_id)
                    await conn.execute(t.meter_readings.insert(), [dict(zip(mv.READING_COLUMNS, r)) for r in rows])
            # else: a repeated StopTransaction: the first one was stored, this one changes nothing.
            return True, row.connector_id, info, applied

        known, connector_id, info, applied = await self._store.write(stop_tx)
        if not known:
            # Answered all the same: the charge point must not retry this forever. The message log
            # keeps what it sent.
            log.warning("%s stopped unknown transaction %s", identity, transaction_id)
            return info
        self._stopped(identity, connector_id, transaction_id, meter_stop, timestamp, reason or DEFAULT_STOP_REASON, samples if applied else None)
        return info

    def _grains(self) -> Grains | None:
        """The rollups' grains while they are kept (None: off)."""
        return self.rollups.grains if self.rollups.enabled else None

    async def event(self, identity: str, event: TransactionEventData) -> EventResult:
        """Apply one event of a transaction told as events (OCPP 2.0.1's TransactionEvent; the
        rules are in voltline/services/transactions/events.py), then tell the rest of Voltline
        what the 1.6 start and stop tell it."""
        samples = mv.normalize(event.meter_value) if event.meter_value else []
        key = (identity, event.ocpp_transaction_id)
        if (
            event.event_type == UPDATED and event.id_token is None and event.remote_start_id is None
            and event.reservation_id is None
        ):
            tx = self.open_events.updated_in_place(
                key, event.seq_no, event.timestamp, event.evse_id, event.connector_id, samples
            )
            if tx is not None:
                return await self._updated_in_place(identity, event, samples, tx)
        # The exact path decides, and what it finds is learnt again once it is committed.
        before = self.open_events.get(key)
        told = before.charging_state if before is not None else None
        self.open_events.forget(key)
        encoded = mv.encode(samples)
        await self.shapes.know(encoded)

        grains = self._grains()

        async def apply(conn: AsyncConnection) -> tuple[EventResult, OpenTransaction | None]:
            result = await apply_event(conn, identity, event, samples, encoded, self.shapes.ids)
            if result.ended and grains is not None:  # its charging time, now that all of it is known
                await add_charging_time(conn, grains, result.transaction_id)
            return result, None if result.stopped else await read_open(conn, result.transaction_id)

        result, known = await self._store.write(apply)
        self.open_events.learn(key, known)
        if result.repeated:
            return result
        transaction_id, place = result.transaction_id, result.place
        if known is not None:
            if event.charging_state is not None and event.seq_no == known.highest_seq_no:
                known.charging_state = event.charging_state  # the newest event of an open transaction
                if event.charging_state != told:
                    self._charging_state_told(identity, place, transaction_id, event)
            else:
                known.charging_state = told  # an older event (or one without a state) changes nothing
        details = {"ocpp_transaction_id": event.ocpp_transaction_id, "evse_id": place}
        if result.reservation_refused:
            log.warning(
                "%s: transaction %s named reservation %s, which %s: the reservation is left as it was",
                identity, event.ocpp_transaction_id, event.reservation_id, result.reservation_refused,
            )
        started_at = result.started_at or event.timestamp
        if not result.created:
            self._located(identity, place, transaction_id, result.connector_id)
        if result.created:
            self._started(
                identity, place, transaction_id, result.id_tag, result.meter_start, started_at, result.id_tag_status,
                result.reservation_used, metered=result.metered, open=not result.stopped, details=details,
                connector_id=result.connector_id,
            )
        elif result.metered and (result.ended or not result.stopped):
            # The first register reading of a session that began without one (of one ended long
            # ago, the rollups have nothing to add).
            self.rollups.started(
                transaction_id, identity, result.connector_id, result.id_tag, result.meter_start, started_at,
                result.id_tag_status, evse_id=place,
            )
        elif result.reservation_used is not None:
            self._bus.publish(Event(
                "reservation.used", identity, {"reservation_id": result.reservation_used, "transaction_id": transaction_id}
            ))
        if result.identified:
            self.rollups.identified(transaction_id, identity, result.id_tag, result.id_tag_status, started_at)
        if samples:
            self.rollups.meter_values(transaction_id, samples)
            self._note_live(identity, place, transaction_id, samples)
        if result.ended and result.meter_stop is not None and result.stopped_at is not None:
            self._stopped(
                identity, place, transaction_id, result.meter_stop, result.stopped_at,
                result.stop_reason or DEFAULT_STOP_REASON, [], details=details,
            )
        return result

    async def _updated_in_place(
        self, identity: str, event: TransactionEventData, samples: list[mv.SampledValue], tx: OpenTransaction
    ) -> EventResult:
        """An Updated event that adds its meter values and nothing else (see open_events): its
        event row and readings committed together, as a MeterValues' readings are. Its EVSE and
        connector are the ones the exact path last located the transaction at."""
        place = tx.evse_id or 0
        rows = await self.shapes.rows(samples, identity, place, tx.transaction_id) if samples else []
        stored = event_row(
            identity, event.ocpp_transaction_id, event.seq_no, tx.transaction_id, event.event_type,
            event.trigger_reason, event.timestamp, event.offline, event.charging_state, now(),
        )
        try:
            await self._store.write(inserts=((t.transaction_events, [stored]), (t.meter_readings, rows)))
        except BaseException:
            # Not stored (the database away, or this seqNo stored meanwhile by a repeat on the
            # exact path): the index no longer knows what is, so the exact path decides next.
            self.open_events.forget((identity, event.ocpp_transaction_id))
            raise
        if samples:
            self.rollups.meter_values(tx.transaction_id, samples)
            self._note_live(identity, place, tx.transaction_id, samples)
        if event.charging_state not in (None, tx.charging_state) and event.seq_no == tx.highest_seq_no:
            tx.charging_state = event.charging_state
            self._charging_state_told(identity, place, tx.transaction_id, event)
        return EventResult(
            tx.transaction_id, None, place=place, connector_id=tx.connector_id, id_tag=tx.id_tag,
            id_tag_status=tx.id_tag_status, meter_start=tx.meter_start, started_at=tx.started_at, samples=samples,
        )

    async def transaction_event(self, identity: str, **event: Any) -> EventResult:
        """`event` with TransactionEventData's fields: for a version's handlers, which cannot name
        the domain's types."""
        data = TransactionEventData(**event)
        result = await self.event(identity, data)
        if not data.offline:  # sent now, not queued from before a boot: the station holds it
            self.after_reboot.continued(identity, result.transaction_id)
        return result

    async def close(
        self,
        transaction_id: int,
        *,
        closed_by: str,
        meter_stop: int | None = None,
        reason: str | None = None,
        stopped_at: datetime | None = None,
    ) -> ClosedTransaction:
        """An operator ends a session without its charge point (it is gone, or it answers Rejected
        to a RemoteStopTransaction because it no longer has the session).

        The meter reading to close at defaults to the last Energy.Active.Import.Register reading
        up to `stopped_at` (default now), else the meter start: what is known to have been
        charged. Recorded as stopped by Voltline (`stop_note`), so a StopTransaction the charge
        point still delivers replaces these values. Raises NotFound, Conflict (stopped already),
        Invalid (a reading below the start, a stop before the start or in the future)."""
        at = now()
        # Without a time, the last reading whenever it was taken: the charge point's clock may
        # run ahead of ours.
        last_energy, bound = (
            (rules.LAST_ENERGY, {"at": stopped_at}) if stopped_at is not None else (rules.LAST_ENERGY_EVER, {})
        )
        stopped_at = stopped_at or at
        note = f"closed by operator {closed_by} without the charge point" + (f": {reason}" if reason else "")

        async def close_tx(conn: AsyncConnection) -> tuple[str, ClosedTransaction, int]:
            row = (
                await conn.execute(
                    sa.select(_tx.charge_point_id, _tx.connector_id, _tx.meter_start, _tx.started_at, _tx.stopped_at)
                    .where(_tx.id == transaction_id)
                )
            ).first()
            if row is None:
                raise NotFound(f"no transaction {transaction_id}")
            if row.stopped_at is not None:
                raise Conflict(f"transaction {transaction_id} has stopped already", code="transaction_stopped")
            if stopped_at < row.started_at:
                raise Invalid(f"stopped_at {stopped_at.isoformat()} is before the start ({row.started_at.isoformat()})")
            if stopped_at > at:
                raise Invalid(f"stopped_at {stopped_at.isoformat()} is in the future")
            value = meter_stop
            if value is None:
                energy = await conn.scalar(last_energy, {"transaction_id": transaction_id, **bound})
                value = max(round(energy), row.meter_start) if energy is not None else row.meter_start
            if value < row.meter_start:
                raise Invalid(f"meter_stop {value} Wh is below the transaction's meter_start ({row.meter_start} Wh)")
            closed = ClosedTransaction(transaction_id, value, note[:NOTE_LENGTH], stopped_at)
            if not await _close_open(conn, closed, stopped_at, self._grains()):
                raise Conflict(f"transaction {transaction_id} has stopped already", code="transaction_stopped")
            return row.charge_point_id, closed, row.connector_id

        identity, closed, connector_id = await self._store.write(close_tx)
        log.warning("%s: transaction %s %s", identity, transaction_id, closed.note)
        self._closed_rollup(closed)
        self._forget_live(identity, connector_id, transaction_id)
        self._publish_closed(identity, connector_id, closed)
        return closed

    async def last_register(self, transaction_id: int) -> int | None:
        """The last Energy.Active.Import.Register reading of a transaction (Wh), if it has one."""
        async with self._store.read() as conn:
            energy = await conn.scalar(rules.LAST_ENERGY_EVER, {"transaction_id": transaction_id})
        return None if energy is None else round(energy)

    async def _close_lost(self, identity: str, place: int, lost: list[LostTransaction]) -> list[ClosedTransaction]:
        """Close the transactions a rebooted charge point no longer has (see reconciliation).
        `place`: the live readings' key beside the identity (the connector on 1.6, the EVSE on 2.0.1)."""

        async def close_all(conn: AsyncConnection) -> list[ClosedTransaction]:
            closed = []
            for tx in lost:
                row = (await conn.execute(
                    sa.select(_tx.meter_start, _tx.started_at).where(_tx.id == tx.transaction_id, _tx.stopped_at.is_(None))
                )).first()
                if row is None:  # its StopTransaction came meanwhile
                    continue
                if tx.reported_at is not None and tx.reported_at < row.started_at:
                    continue  # a status queued from before this transaction says nothing about it
                last = (await conn.execute(rules.LAST_ENERGY_EVER, {"transaction_id": tx.transaction_id})).first()
                meter_stop = row.meter_start if last is None else max(round(last.value), row.meter_start)
                # Where it was last seen charging, else by the reboot at the latest; never before
                # it began (the charge point's clock and ours differ).
                stopped_at = max(last.timestamp if last is not None else tx.stopped_by, row.started_at)
                result = ClosedTransaction(tx.transaction_id, meter_stop, tx.note[:NOTE_LENGTH], stopped_at)
                if await _close_open(conn, result, stopped_at, self._grains()):
                    closed.append(result)
            return closed

        closed: list[ClosedTransaction] = await self._store.write(close_all)
        for result in closed:
            log.warning("%s: transaction %s %s", identity, result.transaction_id, result.note)
            self._closed_rollup(result)
            self._forget_live(identity, place, result.transaction_id)
            self._publish_closed(identity, place, result)
        return closed

    # What every start and stop tells the rest of Voltline, whichever version's message brought
    # it: the live readings, the report rollups, the dashboard's live feed.

    def _started(
        self, identity: str, place: int, transaction_id: int, id_tag: str, meter_start: int, at: datetime,
        id_tag_status: str, reservation_used: int | None, *, metered: bool = True, open: bool = True,
        details: dict[str, Any] | None = None, connector_id: int | None = None,
    ) -> None:
        """`place`: the live readings' key beside the identity (live_key). `metered`: the meter
        start is a reading (a 2.0.1 transaction may begin before its first). `open`: not ended
        by the time it is known (an Ended delivered first). `connector_id`: on 2.0.1 the
        connector within the EVSE `place` (None on 1.6, whose `place` is the connector)."""
        if open:
            self.live[(identity, place)] = LiveReading(
                transaction_id, at=at, evse_id=None if connector_id is None else place, connector_id=connector_id
            )
        if metered:
            if connector_id is None:
                self.rollups.started(transaction_id, identity, place, id_tag, meter_start, at, id_tag_status)
            else:
                self.rollups.started(transaction_id, identity, connector_id, id_tag, meter_start, at, id_tag_status,
                                     evse_id=place)
        if reservation_used is not None:
            self._bus.publish(
                Event("reservation.used", identity, {"reservation_id": reservation_used, "transaction_id": transaction_id})
            )
        self._bus.publish(
            Event(
                "transaction.started",
                identity,
                {
                    "transaction_id": transaction_id,
                    "connector_id": place,
                    "id_tag": id_tag,
                    "meter_start": meter_start,
                    "id_tag_status": id_tag_status,
                    **(details or {}),
                },
            )
        )

    def _charging_state_told(self, identity: str, place: int, transaction_id: int, event: TransactionEventData) -> None:
        """A 2.0.1 session's chargingState, newly told: its connector says only Occupied."""
        self._bus.publish(Event(
            "transaction.charging_state", identity,
            {"transaction_id": transaction_id, "connector_id": place, "evse_id": place,
             "charging_state": event.charging_state, "ocpp_transaction_id": event.ocpp_transaction_id},
        ))

    def _stopped(
        self, identity: str, place: int | None, transaction_id: int, meter_stop: int, at: datetime, reason: str,
        samples: list[mv.SampledValue] | None, *, details: dict[str, Any] | None = None,
    ) -> None:
        """`samples`: the stop's own readings when the stop was applied (None: a repeat, or a stop
        of a session already stopped, which the rollups counted)."""
        if place is not None:
            self._forget_live(identity, place, transaction_id)
        if samples is not None:
            self.rollups.stopped(transaction_id, meter_stop, at, samples)
        self._bus.publish(
            Event(
                "transaction.stopped",
                identity,
                {"transaction_id": transaction_id, "connector_id": place, "meter_stop": meter_stop, "reason": reason,
                 **(details or {})},
            )
        )

    def _closed_rollup(self, closed: ClosedTransaction) -> None:
        if closed.stopped_at is not None:
            self.rollups.stopped(closed.transaction_id, closed.meter_stop, closed.stopped_at, estimated=True)

    def _forget_live(self, identity: str, connector_id: int, transaction_id: int) -> None:
        reading = self.live.get((identity, connector_id))
        if reading is not None and reading.transaction_id == transaction_id:
            del self.live[(identity, connector_id)]

    def disconnected(self, identity: str) -> None:
        """Its charge point's connection ended: another node may apply its next events."""
        self.open_events.forget_charge_point(identity)

    def _publish_closed(self, identity: str, connector_id: int, closed: ClosedTransaction) -> None:
        # Closed by Voltline: an event after this may move its meter stop (the exact path).
        self.open_events.forget_transaction(closed.transaction_id)
        self._bus.publish(
            Event(
                "transaction.stopped",
                identity,
                {"transaction_id": closed.transaction_id, "connector_id": connector_id,
                 "meter_stop": closed.meter_stop, "reason": CLOSED_REASON, "note": closed.note},
            )
        )

    async def meter_values(
        self, identity: str, connector_id: int, transaction_id: int | None, meter_value: list[dict[str, Any]]
    ) -> None:
        samples = mv.normalize(meter_value)
        rows = await self.shapes.rows(samples, identity, connector_id, transaction_id)
        await self._store.write(inserts=((t.meter_readings, rows),))
        self.rollups.meter_values(transaction_id, samples)
        self._note_live(identity, connector_id, transaction_id, samples)

    def _located(self, identity: str, evse_id: int, transaction_id: int, connector_id: int) -> None:
        """A 2.0.1 transaction's connector as its latest event names it (it may come after the start)."""
        self.rollups.located(transaction_id, evse_id, connector_id)
        reading = self.live.get((identity, evse_id))
        if reading is not None and reading.transaction_id == transaction_id:
            reading.evse_id, reading.connector_id = evse_id, connector_id

    def _note_live(
        self, identity: str, connector_id: int, transaction_id: int | None, samples: list[mv.SampledValue]
    ) -> None:
        if transaction_id is None:
            return
        reading = self.live.get((identity, connector_id))
        if reading is None or reading.transaction_id != transaction_id:
            return
        latest = mv.latest_of(samples, LIVE_MEASURANDS)
        energy, power, soc = latest.get(mv.ENERGY_REGISTER), latest.get(mv.POWER), latest.get("SoC")
        if energy is not None:
            reading.energy_wh = energy
        if power is not None:
            reading.power_w = power
        if soc is not None:
            reading.soc = soc
        reading.at = samples[-1].timestamp if samples else reading.at
        if self._bus.has_subscribers:
            self._bus.publish(
                Event(
                    "meter_values",
                    identity,
                    {
                        "connector_id": connector_id,
                        "transaction_id": transaction_id,
                        "energy_wh": reading.energy_wh,
                        "power_w": reading.power_w,
                        "soc": reading.soc,
                    },
                )
            )

    async def restore_live(self) -> None:
        """Rebuild live readings of active transactions after a restart."""
        tx = t.transactions.c
        rows = await self._store.fetch_all(
            sa.select(tx.id, tx.charge_point_id, tx.evse_id, tx.connector_id)
            .where(tx.stopped_at.is_(None))
            .order_by(tx.id)  # the newest of a connector's, should it have several
        )
        for row in rows:
            # Keyed as a start keys it: a 2.0.1 transaction by its EVSE, whose connector 1 is
            # not another EVSE's.
            self.live[live_key(row.charge_point_id, row.evse_id, row.connector_id)] = LiveReading(
                row.id, evse_id=row.evse_id, connector_id=None if row.evse_id is None else row.connector_id
            )


async def _match_remote_start(
    conn: AsyncConnection, identity: str, connector_id: int, id_tag: str, transaction_id: int
) -> int | None:
    """The remote start this new transaction follows, if any, linked to it (its id returned)."""
    rs = t.remote_starts.c
    candidate = (
        await conn.execute(
            sa.select(rs.id)
            .where(
                rs.charge_point_id == identity,
                rs.id_tag == id_tag,
                # Requested too: the charge point may start before its Accepted has been read.
                rs.status.in_((REQUESTED, ACCEPTED)),
                rs.transaction_id.is_(None),
                rs.requested_at >= now() - REMOTE_START_WINDOW,
                sa.or_(rs.connector_id.is_(None), rs.connector_id == connector_id),
            )
            .order_by(rs.requested_at)
            .limit(1)
        )
    ).first()
    if candidate is not None:
        await rules.link_remote_start(conn, candidate.id, transaction_id, connector_id)
        return candidate.id  # type: ignore[no-any-return]
    return None


# Statements built once: constructing a Core statement per message costs more than running it.
_tx = t.transactions.c
_START_KEY = ("charge_point_id", "connector_id", "started_at", "id_tag", "meter_start")
_FIND_START = sa.select(_tx.id).where(
    *(getattr(_tx, name) == sa.bindparam(name, type_=getattr(_tx, name).type) for name in _START_KEY)
)
# A union rather than an OR: each half is found by its own index (the start's key; the open
# transactions' partial index), where an OR walked the connector's whole history.
_START_OR_OPEN = sa.union_all(
    _FIND_START.add_columns(_tx.meter_start, _tx.started_at, sa.literal_column("1").label("repeat")),
    sa.select(_tx.id, _tx.meter_start, _tx.started_at, sa.literal_column("0").label("repeat")).where(
        _tx.charge_point_id == sa.bindparam("charge_point_id"),
        _tx.connector_id == sa.bindparam("connector_id"),
        _tx.stopped_at.is_(None),
    ),
)
# The unique key of a start decides, not a look first: two nodes may store the same start at once.
_INSERT_START = {
    name: dialect.insert(t.transactions)
    .on_conflict_do_nothing(index_elements=list(_START_KEY), index_where=t.ONE_SIX)
    .returning(_tx.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_SET_WIRE_ID = (
    t.transactions.update()
    .where(_tx.id == sa.bindparam("b_id"))
    .values(ocpp_transaction_id=sa.bindparam("b_wire_id"), remote_start_id=sa.bindparam("b_remote_start"))
)
async def _close(conn: AsyncConnection, row: Any, connector_id: int, at: datetime, new_id: int) -> ClosedTransaction:
    """Close an open transaction where the next one on its connector began: its energy up to its
    last meter value (none: nothing charged as far as we know)."""
    energy = await conn.scalar(rules.LAST_ENERGY, {"transaction_id": row.id, "at": at})
    meter_stop = round(energy) if energy is not None else row.meter_start
    note = f"closed by Voltline: transaction {new_id} started on connector {connector_id} without a StopTransaction for it"
    closed = ClosedTransaction(row.id, meter_stop, note, at)
    await _close_open(conn, closed, at)
    return closed


async def _close_open(conn: AsyncConnection, closed: ClosedTransaction, at: datetime, grains: Grains | None = None) -> bool:
    """Record a stop Voltline made itself, if the transaction is still open. Its `stop_note` lets
    the charge point's own StopTransaction replace it when that still comes. With `grains`, a
    session told as events (2.0.1) adds its charging time to the rollups (reports/charging.py)."""
    result = await conn.execute(
        t.transactions.update()
        .where(_tx.id == closed.transaction_id, _tx.stopped_at.is_(None))
        .values(meter_stop=closed.meter_stop, stopped_at=at, stop_reason=CLOSED_REASON, stop_note=closed.note)
    )
    if result.rowcount and grains is not None:
        await add_charging_time(conn, grains, closed.transaction_id)
    return bool(result.rowcount)
