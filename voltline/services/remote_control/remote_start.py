"""Remote start: RemoteStartTransaction, and the transaction it leads to.

OCPP answers a RemoteStartTransaction (2.0.1: RequestStartTransaction) with Accepted or Rejected;
the transaction follows in a StartTransaction (2.0.1: a TransactionEvent Started) from the charge
point. Every remote start is kept in `remote_starts`, and the transaction that follows is linked to
it by TransactionService, whether it arrives before or after the charge point's answer was read:
on 1.6 by charge point, id tag and connector; on 2.0.1 by the `remoteStartId` the request carried,
which is the remote start's own id. Waiting for the start reads the link, whichever made it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.authorization.authorize import ACCEPTED, AuthorizationContext, authorize
from voltline.services.clock import now
from voltline.ocpp.commands import Answer, ChargingProfileSpec, Reply, StartAnswer, StartCharging
from voltline.services.remote_control.commands import CommandService, Send
from voltline.services.errors import Conflict, Invalid, NotFound
from voltline.services.smart_charging.service import install_profile, require_storable_profile
from voltline.store import tables as t
from voltline.store.database import Store
from voltline.services.remote_control.views import RemoteStart, remote_start_select as _select

log = logging.getLogger("voltline.remote_start")

REQUESTED, REJECTED, FAILED, STARTED = "Requested", "Rejected", "Failed", "Started"
START_201 = "RequestStartTransaction"  # the action whose request carries a remoteStartId


class RemoteStartService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register(StartCharging, self._effect)

    async def start(
        self,
        identity: str,
        id_tag: str,
        *,
        connector_id: int | None = None,
        evse_id: int | None = None,
        charging_profile: ChargingProfileSpec | None = None,
        check_tag: bool = True,
        pick_connector: bool = True,
        wait: bool = False,
        wait_timeout: float = 30.0,
        timeout: float | None = None,
    ) -> tuple[Reply[Answer], RemoteStart]:
        """Ask the charge point to start charging for `id_tag`; return its reply and the remote
        start. With `wait`, return once the transaction has started (or `wait_timeout` ran out)."""
        if check_tag:
            async with self._store.read() as conn:
                # Would the StartTransaction that follows be accepted? (ConcurrentTx included.)
                info = await authorize(conn, id_tag, AuthorizationContext.START)
            if info.status != ACCEPTED:
                raise Invalid(
                    f"id tag {id_tag} is {info.status}: the remote start was not sent",
                    code="id_tag_not_accepted",
                    details={"id_tag_status": info.status},
                )
        if connector_id is None and evse_id is None and pick_connector:
            free = await self.free_location(identity)
            if free is not None:
                evse_id, connector_id = free
        request = StartCharging(id_tag, connector_id, charging_profile, evse_id=evse_id,
                                id_token_type=await self._token_type(id_tag))
        # Subscribed before sending: the transaction may start before the answer is read.
        async with self._bus.subscribe() as events:
            reply, remote_start = await self._send(identity, request, lambda r: self._commands.call(identity, r, timeout))
            if wait and remote_start.status == ACCEPTED:
                remote_start = await self._wait_started(remote_start, events, wait_timeout)
        return reply, remote_start

    async def free_connector(self, identity: str) -> int | None:
        """An Available connector with no active transaction and no reservation for someone else
        (1.6's number; on 2.0.1 the connector within its EVSE, see `free_location`).

        None when the charge point has reported no connectors (it will pick one itself); a
        Conflict when it has, and none is free."""
        free = await self.free_location(identity)
        return free[1] if free is not None else None

    async def free_location(self, identity: str) -> tuple[int | None, int] | None:
        """`(evse_id, connector_id)` of a free connector as stored (evse_id None on 1.6).

        On 2.0.1 a transaction the cable started (TxStartPoint EVConnected) waits for its
        authorization: a remote start for it is OCPP 2.0.1 F02 (cable plugged in first), and such
        a connector is taken first, the driver being at the car."""
        c, tx, rv = t.connectors.c, t.transactions.c, t.reservations.c
        # 1.6 rows have no EVSE; 2.0.1 ones number connectors within theirs, and reserve an EVSE.
        same_evse = sa.func.coalesce(tx.evse_id, 0) == sa.func.coalesce(c.evse_id, 0)
        # One statement: each round trip is a turn of a loaded event loop for the operator.
        running = (tx.charge_point_id == identity, tx.connector_id == c.connector_id, same_evse, tx.stopped_at.is_(None))
        charging = sa.exists().where(*running)
        unauthorized = sa.exists().where(*running, c.evse_id.is_not(None), sa.func.coalesce(tx.id_tag, "") == "")
        reserved = sa.exists().where(
            rv.charge_point_id == identity, rv.connector_id == sa.func.coalesce(c.evse_id, c.connector_id),
            rv.status == "Reserved",
        )
        connectors = await self._store.fetch_all(
            sa.select(c.evse_id, c.connector_id, c.status, charging.label("charging"), reserved.label("reserved"),
                      unauthorized.label("unauthorized"))
            .where(c.charge_point_id == identity, c.connector_id > 0)
            .order_by(sa.func.coalesce(c.evse_id, 0), c.connector_id)
        )
        if not connectors:
            return None
        for row in connectors:
            if row.unauthorized and row.status == "Occupied":
                return row.evse_id, int(row.connector_id)
        for row in connectors:
            if row.status == "Available" and not row.charging and not row.reserved:
                return row.evse_id, int(row.connector_id)
        raise Conflict(f"charge point {identity} has no free connector", code="no_free_connector")

    async def _token_type(self, id_tag: str) -> str | None:
        """The id tag's IdTokenEnumType, for a 2.0.1 station (None: not a tag Voltline knows)."""
        row = await self._store.fetch_one(sa.select(t.id_tags.c.token_type).where(t.id_tags.c.id_tag == id_tag))
        return row.token_type if row is not None else None

    async def stop(self, identity: str, transaction_id: int, *, timeout: float | None = None) -> Reply[Answer]:
        """Ask the charge point to stop Voltline's transaction `transaction_id`, named as the
        charge point named it (2.0.1's transactionId is the station's string)."""
        tx = t.transactions.c
        row = await self._store.fetch_one(
            sa.select(tx.ocpp_transaction_id, tx.stopped_at).where(tx.id == transaction_id, tx.charge_point_id == identity)
        )
        if row is None:
            raise NotFound(f"no transaction {transaction_id} on {identity}")
        if row.stopped_at is not None:
            raise Conflict(f"transaction {transaction_id} has stopped already", code="transaction_stopped")
        return await self._commands.stop_charging(
            identity, transaction_id, ocpp_transaction_id=row.ocpp_transaction_id, timeout=timeout
        )

    async def get(self, remote_start_id: int) -> RemoteStart:
        row = await self._store.fetch_one(_select().where(t.remote_starts.c.id == remote_start_id))
        if row is None:
            raise NotFound(f"no remote start {remote_start_id}")
        return _remote_start(row)

    # -- the command's domain effect -----------------------------------------------------------

    async def _effect(self, identity: str, request: StartCharging, send: Send[StartCharging]) -> Reply[Answer]:
        reply, _ = await self._send(identity, request, send)
        return reply

    async def _send(
        self, identity: str, request: StartCharging, send: Send[StartCharging]
    ) -> tuple[Reply[Answer], RemoteStart]:
        """Record the remote start, send it, record the answer; return the answer and the remote
        start as stored.

        Each step is one statement committed on its own (Store.commit_one): on a loaded database
        an operator's command then waits for no batch of charge point writes. It needs no order
        with them either: the row is committed before the CALL goes out, so a StartTransaction
        that follows always finds it (TransactionService matches Requested and Accepted remote
        starts), and the answer is recorded only on a row still Requested, so it never undoes a
        start that came first."""
        profile = request.charging_profile
        if profile is not None:
            require_storable_profile(profile)
        requested_at = now()
        rs = t.remote_starts.c
        inserted = await self._store.commit_one(
            t.remote_starts.insert()
            .values(
                charge_point_id=identity,
                connector_id=request.connector_id,
                id_tag=request.id_tag,
                status=REQUESTED,
                requested_at=requested_at,
                # An operator's own remoteStartId (a RequestStartTransaction written by hand):
                # the station's TransactionEvent names this one.
                ocpp_remote_start_id=request.remote_start_id,
            )
            .returning(rs.id)
        )
        remote_start_id = int(inserted[0].id)
        still_requested = (rs.id == remote_start_id) & (rs.status == REQUESTED)
        if request.remote_start_id is None:  # 2.0.1 carries it, for the transaction to name
            request = replace(request, remote_start_id=remote_start_id)
        try:
            reply = await send(request)
        except Exception:
            await self._store.commit_one(t.remote_starts.update().where(still_requested).values(status=FAILED))
            raise
        status = ACCEPTED if reply.result.status == ACCEPTED else REJECTED
        # The remoteStartId it went out with, on 2.0.1 (1.6 has none).
        sent_id = request.remote_start_id if reply.action == START_201 else None
        settled = await self._store.commit_one(
            t.remote_starts.update().where(still_requested).values(status=status, ocpp_remote_start_id=sent_id)
            .returning(rs.id)
        )
        already = reply.result.ocpp_transaction_id if isinstance(reply.result, StartAnswer) else None
        if settled and status == ACCEPTED and already is not None:
            settled = not await self._link_started(identity, remote_start_id, already)
        if settled:
            remote_start = RemoteStart(
                id=remote_start_id, charge_point_id=identity, connector_id=request.connector_id,
                id_tag=request.id_tag, status=status, transaction_id=None, requested_at=requested_at,
                ocpp_remote_start_id=sent_id,
            )
        else:  # the charge point's StartTransaction was stored first
            remote_start = await self.get(remote_start_id)
        if status == ACCEPTED and profile is not None:
            # A 2.0.1 profile is the EVSE's; 1.6's connector N is EVSE N.
            where = request.evse_id if request.evse_id is not None else request.connector_id
            await self._install_profile(identity, remote_start_id, where, profile)
        self._bus.publish(
            Event(
                "remote_start",
                identity,
                {
                    "remote_start_id": remote_start_id,
                    "id_tag": request.id_tag,
                    "connector_id": request.connector_id,
                    "status": reply.result.status,
                    "transaction_id": remote_start.transaction_id,
                },
            )
        )
        return reply, remote_start

    async def _link_started(self, identity: str, remote_start_id: int, ocpp_transaction_id: str) -> bool:
        """A 2.0.1 station that had started the transaction already names it in its answer: the
        remote start led to that transaction, when it is stored (else its TransactionEvent will
        link it). Whether it was linked."""
        rs, tx = t.remote_starts.c, t.transactions.c
        started = await self._store.fetch_one(
            sa.select(tx.id).where(tx.charge_point_id == identity, tx.ocpp_transaction_id == ocpp_transaction_id)
        )
        if started is None:
            return False

        async def link(conn: AsyncConnection) -> bool:
            linked = (await conn.execute(
                t.remote_starts.update()
                .where(rs.id == remote_start_id, rs.transaction_id.is_(None))
                .values(transaction_id=started.id, status=STARTED)
                .returning(rs.id)
            )).first()
            if linked is not None:
                # Both ways, as a TransactionEvent naming the remoteStartId links them: the event
                # that follows finds the remote start taken and links nothing.
                await conn.execute(
                    t.transactions.update()
                    .where(tx.id == started.id, tx.remote_start_id.is_(None))
                    .values(remote_start_id=remote_start_id)
                )
            return linked is not None

        return await self._store.write(link)

    async def _install_profile(
        self, identity: str, remote_start_id: int, connector_id: int | None, profile: ChargingProfileSpec
    ) -> None:
        """A charge point that accepted a remote start with a charging profile has installed it
        (OCPP 1.6 §5.11: a TxProfile for the transaction it starts). Its transaction, once
        started, is linked to it (here, or by the StartTransaction when that comes later)."""
        rs, tx = t.remote_starts.c, t.transactions.c

        async def install(conn: AsyncConnection) -> tuple[int, int]:
            started = (
                await conn.execute(
                    sa.select(tx.id, tx.connector_id)
                    .select_from(t.remote_starts.join(t.transactions, tx.id == rs.transaction_id))
                    .where(rs.id == remote_start_id)
                )
            ).first()
            connector = started.connector_id if started is not None else connector_id or 0
            profile_id = await install_profile(
                conn, identity, connector, profile,
                transaction_id=started.id if started is not None else None, remote_start_id=remote_start_id,
            )
            return profile_id, connector

        profile_id, connector = await self._store.write(install)
        self._bus.publish(
            Event("charging_profile.set", identity,
                  {"id": profile_id, "connector_id": connector, "charging_profile_id": profile.charging_profile_id})
        )

    async def _wait_started(
        self, remote_start: RemoteStart, events: asyncio.Queue[Event], wait_timeout: float
    ) -> RemoteStart:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_timeout
        while remote_start.transaction_id is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(min(remaining, 1.0)):
                    while True:
                        event = await events.get()
                        if event.type == "transaction.started" and event.charge_point_id == remote_start.charge_point_id:
                            break
            except TimeoutError:
                pass  # look again: in a cluster the start may be stored by another node
            remote_start = await self.get(remote_start.id)
        return remote_start


def _remote_start(row: Any) -> RemoteStart:
    return RemoteStart.model_validate(row)
