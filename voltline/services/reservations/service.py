"""Reservations: ReserveNow stores them, StartTransaction consumes them (TransactionService),
the expiry sweep ends them, CancelReservation cancels them."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.ocpp.commands import Answer, CancelReservation, Reply, ReserveConnector
from voltline.services.clock import now
from voltline.services.remote_control.commands import CommandService, Send, require_storable
from voltline.services.errors import ChargePointOffline, Conflict, Invalid, NotFound
from voltline.services.reservations.views import RESERVED, Reservation, reservation_of
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.reservations")

# Requested (sent, no answer yet) → Reserved → Used | Expired | Cancelled; or the charge point's
# refusal: Occupied, Faulted, Unavailable, Rejected.
REQUESTED, USED, EXPIRED, CANCELLED = "Requested", "Used", "Expired", "Cancelled"
STATUSES = (REQUESTED, RESERVED, USED, EXPIRED, CANCELLED, "Occupied", "Faulted", "Unavailable", "Rejected")


class ReservationService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register(ReserveConnector, self._reserve_now)
        commands.register(CancelReservation, self._cancel_reservation)

    async def reserve(
        self,
        identity: str,
        connector_id: int,
        id_tag: str,
        expiry_date: datetime,
        *,
        parent_id_tag: str | None = None,
        timeout: float | None = None,
    ) -> tuple[Reply[Answer], Reservation]:
        """Reserve a connector (0: any) until `expiry_date`; the reservation keeps the answer."""
        if expiry_date <= now():
            raise Invalid("expiry_date must lie in the future")
        if not self._commands.is_connected(identity):
            # Checked before an id is spent on a reservation that cannot be sent.
            raise ChargePointOffline(f"charge point {identity} is offline: ReserveNow was not sent")
        values = {
            "charge_point_id": identity,
            "connector_id": connector_id,
            "id_tag": id_tag,
            "parent_id_tag": parent_id_tag,
            "expiry_date": expiry_date,
            "status": REQUESTED,
        }

        async def allocate(conn: AsyncConnection) -> int:
            # The database hands out the id (a sequence; AUTOINCREMENT on SQLite): never one in
            # use, on any node, nor one used before. The generic command endpoint may store
            # reservations under ids an operator chose, which a PostgreSQL sequence does not
            # know of: one it hands out again is skipped.
            while True:
                reservation_id = await conn.scalar(_ALLOCATE[conn.dialect.name], values)
                if reservation_id is not None:
                    return int(reservation_id)

        reservation_id = await self._store.write(allocate)
        # 2.0.1 names the token's type: the id tag's, when Voltline knows it.
        token = await self._store.fetch_one(sa.select(t.id_tags.c.token_type).where(t.id_tags.c.id_tag == id_tag))
        request = ReserveConnector(reservation_id, connector_id, id_tag, expiry_date, parent_id_tag,
                                   token.token_type if token is not None else None)
        try:
            reply = await self._reserve_now(identity, request, lambda r: self._commands.call(identity, r, timeout))
        except Exception:
            await self._store.write(
                lambda conn: conn.execute(
                    t.reservations.delete().where(t.reservations.c.id == reservation_id, t.reservations.c.status == REQUESTED)
                )
            )
            raise
        return reply, await self.get(reservation_id)

    async def cancel(self, reservation_id: int, *, timeout: float | None = None) -> tuple[Reply[Answer], Reservation]:
        reservation = await self.get(reservation_id)
        if reservation.status != RESERVED:
            raise Conflict(f"reservation {reservation_id} is {reservation.status}", code="reservation_not_active")
        reply = await self._commands.send(reservation.charge_point_id, CancelReservation(reservation_id), timeout)
        return reply, await self.get(reservation_id)

    async def get(self, reservation_id: int) -> Reservation:
        row = await self._store.fetch_one(sa.select(t.reservations).where(t.reservations.c.id == reservation_id))
        if row is None:
            raise NotFound(f"no reservation {reservation_id}")
        return _reservation(row)

    async def expire(self) -> list[int]:
        """Mark reservations past their expiry as Expired; return their ids."""
        at = now()
        c = t.reservations.c

        async def sweep(conn: AsyncConnection) -> list[tuple[int, str]]:
            due = (
                await conn.execute(
                    sa.select(c.id, c.charge_point_id).where(c.status == RESERVED, c.expiry_date <= at)
                )
            ).all()
            if due:
                await conn.execute(
                    t.reservations.update()
                    .where(c.id.in_([row.id for row in due]), c.status == RESERVED)
                    .values(status=EXPIRED, updated_at=at)
                )
            return [(row.id, row.charge_point_id) for row in due]

        expired = await self._store.write(sweep)
        for reservation_id, identity in expired:
            self._bus.publish(Event("reservation.expired", identity, {"reservation_id": reservation_id}))
        return [reservation_id for reservation_id, _ in expired]

    async def run_expiry(self, interval: float = 10.0) -> None:
        """The background sweep: expire due reservations every `interval` seconds."""
        while True:
            try:
                await self.expire()
            except Exception:
                log.exception("the reservation expiry sweep failed")
            await asyncio.sleep(interval)

    # -- domain effects of the commands --------------------------------------------------------

    async def _reserve_now(self, identity: str, request: ReserveConnector, send: Send[ReserveConnector]) -> Reply[Answer]:
        require_storable(request, "reservation_id", "connector_id")
        reservation_id = request.reservation_id
        owner = await self._store.fetch_one(
            sa.select(t.reservations.c.charge_point_id).where(t.reservations.c.id == reservation_id)
        )
        if owner is not None and owner.charge_point_id != identity:
            raise Conflict(
                f"reservation id {reservation_id} belongs to charge point {owner.charge_point_id}",
                code="reservation_id_in_use",
            )
        reply = await send(request)
        answer = reply.result.status
        status = RESERVED if answer == "Accepted" else answer or "Rejected"
        values = {
            "charge_point_id": identity,
            "connector_id": request.connector_id,
            "id_tag": request.id_tag,
            "parent_id_tag": request.parent_id_tag,
            "expiry_date": request.expiry_date,
            "status": status,
            "transaction_id": None,
            "updated_at": now(),
        }
        c = t.reservations.c

        async def store(conn: AsyncConnection) -> None:
            existing = await conn.scalar(sa.select(c.status).where(c.id == reservation_id))
            if existing is None:
                await conn.execute(t.reservations.insert().values(id=reservation_id, **values))
            elif status == RESERVED or existing == REQUESTED:
                # Accepted with a known id replaces that reservation (OCPP 1.6 §5.13); a refusal
                # leaves a standing reservation as it was.
                await conn.execute(t.reservations.update().where(c.id == reservation_id).values(values))

        await self._store.write(store)
        self._bus.publish(
            Event("reservation.created" if status == RESERVED else "reservation.refused", identity,
                  {"reservation_id": reservation_id, "connector_id": request.connector_id, "status": status})
        )
        return reply

    async def _cancel_reservation(
        self, identity: str, request: CancelReservation, send: Send[CancelReservation]
    ) -> Reply[Answer]:
        require_storable(request, "reservation_id")
        reply = await send(request)
        if reply.result.accepted:
            c = t.reservations.c
            await self._store.write(
                lambda conn: conn.execute(
                    t.reservations.update()
                    .where(c.id == request.reservation_id, c.charge_point_id == identity, c.status.in_((RESERVED, REQUESTED)))
                    .values(status=CANCELLED, updated_at=now())
                )
            )
            self._bus.publish(Event("reservation.cancelled", identity, {"reservation_id": request.reservation_id}))
        return reply


_ALLOCATE = {
    name: dialect.insert(t.reservations).on_conflict_do_nothing(index_elements=["id"]).returning(t.reservations.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def _reservation(row: Any) -> Reservation:
    return reservation_of(row)
