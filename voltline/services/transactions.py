"""Charging sessions: start, meter values, stop — idempotent, and correct when messages come late.

Charge points repeat a StartTransaction whose answer they lost and deliver queued StopTransaction
and MeterValues after reconnecting, hours late and out of order. Each is applied to the right
transaction, and none creates a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services import meter_values as mv
from voltline.services.authorization import ACCEPTED, IdTagInfo, authorize
from voltline.services.clock import now
from voltline.services.remote_start import REQUESTED, STARTED
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.transactions")

# A RemoteStartTransaction is matched to a StartTransaction that follows within this window.
REMOTE_START_WINDOW = timedelta(minutes=10)


@dataclass(slots=True)
class StartResult:
    transaction_id: int
    id_tag_info: IdTagInfo
    repeated: bool


@dataclass(slots=True)
class LiveReading:
    """The newest readings of a charging connector, for live views without a database query."""

    transaction_id: int | None
    energy_wh: float | None = None
    power_w: float | None = None
    soc: float | None = None
    at: datetime | None = None


class TransactionService:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus
        self.live: dict[tuple[str, int], LiveReading] = {}

    async def start(
        self,
        identity: str,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: datetime,
        reservation_id: int | None = None,
    ) -> StartResult:
        async def start_tx(conn: AsyncConnection) -> StartResult:
            tx = t.transactions.c
            existing = (
                await conn.execute(
                    sa.select(tx.id).where(
                        tx.charge_point_id == identity,
                        tx.connector_id == connector_id,
                        tx.id_tag == id_tag,
                        tx.started_at == timestamp,
                        tx.meter_start == meter_start,
                    )
                )
            ).first()
            if existing is not None:
                # The charge point lost our answer and asks again: same transaction, same verdict.
                info = await authorize(conn, id_tag, exclude_transaction=existing.id)
                return StartResult(existing.id, info, repeated=True)
            info = await authorize(conn, id_tag)
            transaction_id = (
                await conn.execute(
                    t.transactions.insert()
                    .values(
                        charge_point_id=identity,
                        connector_id=connector_id,
                        id_tag=id_tag,
                        id_tag_status=info.status,
                        reservation_id=reservation_id,
                        meter_start=meter_start,
                        started_at=timestamp,
                    )
                    .returning(tx.id)
                )
            ).scalar_one()
            if reservation_id is not None:
                await conn.execute(
                    t.reservations.update()
                    .where(t.reservations.c.id == reservation_id, t.reservations.c.charge_point_id == identity)
                    .values(status="Used", transaction_id=transaction_id)
                )
            await _match_remote_start(conn, identity, connector_id, id_tag, transaction_id)
            return StartResult(transaction_id, info, repeated=False)

        result = await self._store.write(start_tx)
        if not result.repeated:
            self.live[(identity, connector_id)] = LiveReading(result.transaction_id, at=timestamp)
            self._bus.publish(
                Event(
                    "transaction.started",
                    identity,
                    {
                        "transaction_id": result.transaction_id,
                        "connector_id": connector_id,
                        "id_tag": id_tag,
                        "meter_start": meter_start,
                        "id_tag_status": result.id_tag_info.status,
                    },
                )
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

        async def stop_tx(conn: AsyncConnection) -> tuple[bool, int | None, IdTagInfo | None]:
            tx = t.transactions.c
            row = (
                await conn.execute(
                    sa.select(tx.connector_id, tx.stopped_at, tx.meter_start).where(
                        tx.id == transaction_id, tx.charge_point_id == identity
                    )
                )
            ).first()
            info = await authorize(conn, id_tag, exclude_transaction=transaction_id) if id_tag else None
            if row is None:
                return False, None, info
            if row.stopped_at is None:
                await conn.execute(
                    t.transactions.update()
                    .where(tx.id == transaction_id)
                    .values(
                        meter_stop=meter_stop,
                        stopped_at=timestamp,
                        stop_reason=reason or "Local",  # OCPP: an absent reason means Local
                        stop_id_tag=id_tag,
                    )
                )
                if samples:
                    rows = mv.readings(samples, identity, row.connector_id, transaction_id)
                    await conn.execute(t.meter_readings.insert(), [dict(zip(mv.READING_COLUMNS, r)) for r in rows])
            # else: a repeated StopTransaction: the first one was stored, this one changes nothing.
            return True, row.connector_id, info

        known, connector_id, info = await self._store.write(stop_tx)
        if not known:
            # Answered all the same: the charge point must not retry this forever. The message log
            # keeps what it sent.
            log.warning("%s stopped unknown transaction %s", identity, transaction_id)
            return info
        if connector_id is not None:
            reading = self.live.get((identity, connector_id))
            if reading is not None and reading.transaction_id == transaction_id:
                del self.live[(identity, connector_id)]
        self._bus.publish(
            Event(
                "transaction.stopped",
                identity,
                {"transaction_id": transaction_id, "connector_id": connector_id, "meter_stop": meter_stop, "reason": reason or "Local"},
            )
        )
        return info

    async def meter_values(
        self, identity: str, connector_id: int, transaction_id: int | None, meter_value: list[dict[str, Any]]
    ) -> None:
        samples = mv.normalize(meter_value)
        await self._store.write(inserts=((t.meter_readings, mv.readings(samples, identity, connector_id, transaction_id)),))
        self._note_live(identity, connector_id, transaction_id, samples)

    def _note_live(
        self, identity: str, connector_id: int, transaction_id: int | None, samples: list[mv.SampledValue]
    ) -> None:
        if transaction_id is None:
            return
        reading = self.live.get((identity, connector_id))
        if reading is None or reading.transaction_id != transaction_id:
            return
        energy = mv.latest(samples, mv.ENERGY_REGISTER)
        power = mv.latest(samples, mv.POWER)
        soc = mv.latest(samples, "SoC")
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
        rows = await self._store.fetch_all(
            sa.select(t.transactions.c.id, t.transactions.c.charge_point_id, t.transactions.c.connector_id).where(
                t.transactions.c.stopped_at.is_(None)
            )
        )
        for row in rows:
            self.live[(row.charge_point_id, row.connector_id)] = LiveReading(row.id)


async def _match_remote_start(
    conn: AsyncConnection, identity: str, connector_id: int, id_tag: str, transaction_id: int
) -> None:
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
        await conn.execute(
            t.remote_starts.update().where(rs.id == candidate.id).values(transaction_id=transaction_id, status=STARTED)
        )
