"""Sessions a rebooted charge point no longer holds, closed by one documented rule.

OCPP 1.6 has no message that lists the transactions a charge point holds. What it does have: after
a reboot the charge point sends a BootNotification and then reports each connector's status, and a
connector with a transaction in progress reports Charging, SuspendedEV or SuspendedEVSE. So, for
the transactions open on a charge point when it boots, the connector's next StatusNotification
(the first one after the boot that is stored as its newest status) decides:

- Charging, SuspendedEV, SuspendedEVSE: the charge point still holds the transaction. It stays
  open, and this boot decides nothing more about it.
- Available, Preparing, Reserved, Unavailable, Finishing: no transaction is in progress on a
  connector in that state (OCPP 1.6 §4.9 and its status diagram): the charge point no longer has
  it, and Voltline closes it — stop reason Other, meter stop and stop time those of its last
  Energy.Active.Import.Register reading (else the meter start, and the boot), `stop_note` "closed
  after reboot: connector N reported S".
- Faulted says neither (a fault can interrupt a session and clear again): the connector's status
  after it decides.

A status whose own timestamp is older than the transaction's start (queued long ago) decides
nothing about it. A StopTransaction the charge point still delivers replaces the estimated values,
as for every stop Voltline made itself: a 1.6 charge point may report Available before it sends
the StopTransaction it queued while offline, and that is fine. The next StartTransaction on the
connector also closes an open transaction, reboot or not (see transactions).

A 2.0.1 station is held to the same rule per EVSE and connector: after its BootNotification, the
StatusNotification of a connector of an EVSE with a transaction still open decides it (Occupied
holds one; Available, Reserved, Unavailable none: "closed after reboot: EVSE E connector C
reported S"), unless the station carried that transaction on first: a TransactionEvent it sends
after the boot, not `offline` (queued from before), says it still holds it, and the status then
decides nothing about it. An Ended the station delivers later replaces Voltline's stop, as a
StopTransaction does on 1.6.

The open transactions are looked up at the boot — boots that arrive together share one query, so
a fleet booting after a power cut costs a few queries, not one per charge point — and kept in
memory by the node holding the connection until each of their connectors has decided; a
StatusNotification costs one dict lookup. A node that restarts in between leaves them to the next
start on the connector, or an operator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from voltline.store import tables as t
from voltline.store.database import Store

if TYPE_CHECKING:
    from voltline.services.transactions.service import ClosedTransaction

STILL_HOLDS = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE", "Occupied"})
"""A connector in one of these has a transaction in progress (Occupied: 2.0.1's)."""
HOLDS_NONE = frozenset({"Available", "Preparing", "Reserved", "Unavailable", "Finishing"})
"""A connector in one of these has none. Faulted is in neither: it decides nothing."""


@dataclass(slots=True, frozen=True)
class LostTransaction:
    """An open transaction that its rebooted charge point reported it no longer has."""

    transaction_id: int
    note: str
    # It ended by the reboot at the latest (its stop time when it has no meter reading).
    stopped_by: datetime
    # The status's own timestamp (None: it gave none), to compare with the transaction's start.
    reported_at: datetime | None


Closer = Callable[[str, int, list[LostTransaction]], Awaitable[list["ClosedTransaction"]]]
"""Closes the lost transactions of a charge point at one place (the live readings' key beside the
identity: the connector on 1.6, the EVSE on 2.0.1)."""

Place = tuple[int | None, int]
"""(EVSE, connector) as the charge point numbers them; the EVSE None on 1.6."""


@dataclass(slots=True)
class _Boot:
    at: datetime
    # Place → the transactions open there at the boot, until its status decides.
    undecided: dict[Place, list[int]]


class SessionsAfterReboot:
    def __init__(self, store: Store, close: Closer) -> None:
        self._store = store
        self._close = close
        self._boots: dict[str, _Boot] = {}
        # Boots waiting for the next look-up of open transactions, and the task doing them.
        self._asking: dict[str, list[asyncio.Future[dict[Place, list[int]]]]] = {}
        self._looking: asyncio.Task[None] | None = None

    async def booted(self, identity: str, at: datetime) -> None:
        """The charge point booted at `at`: its open transactions wait for their connector's status."""
        undecided = await self._open_transactions(identity)
        if undecided:
            self._boots[identity] = _Boot(at, undecided)
        else:
            self._boots.pop(identity, None)

    async def _open_transactions(self, identity: str) -> dict[Place, list[int]]:
        future: asyncio.Future[dict[Place, list[int]]] = asyncio.get_running_loop().create_future()
        self._asking.setdefault(identity, []).append(future)
        if self._looking is None:
            self._looking = asyncio.create_task(self._look_up())
        return await future

    async def _look_up(self) -> None:
        """Answer every boot waiting, a few hundred charge points per query, until none waits."""
        try:
            while self._asking:
                batch, self._asking = self._asking, {}
                identities = list(batch)
                try:
                    found: dict[str, dict[Place, list[int]]] = {}
                    async with self._store.read() as conn:
                        for i in range(0, len(identities), _PER_QUERY):
                            rows = await conn.execute(_OPEN, {"charge_points": identities[i : i + _PER_QUERY]})
                            for row in rows:
                                place = (row.evse_id, row.connector_id)
                                found.setdefault(row.charge_point_id, {}).setdefault(place, []).append(row.id)
                except Exception as exc:  # each boot waiting fails as it would have on its own
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for identity, futures in batch.items():
                    for future in futures:
                        if not future.done():  # its boot may have been given up meanwhile
                            future.set_result(found.get(identity, {}))
        finally:
            self._looking = None

    def continued(self, identity: str, transaction_id: int) -> None:
        """The charge point sent an event of this transaction after its boot (2.0.1, not offline):
        it holds it, whatever its connector reports next."""
        boot = self._boots.get(identity)
        if boot is None:
            return
        for place, waiting in list(boot.undecided.items()):
            if transaction_id in waiting:
                waiting.remove(transaction_id)
                if not waiting:
                    del boot.undecided[place]
        if not boot.undecided:
            del self._boots[identity]

    async def connector_reported(
        self, identity: str, connector_id: int, status: str, timestamp: datetime | None, evse_id: int | None = None
    ) -> list[ClosedTransaction]:
        """A StatusNotification stored as the connector's newest: close what it says is gone.
        `evse_id`: the connector's EVSE on 2.0.1 (None on 1.6)."""
        boot = self._boots.get(identity)
        if boot is None:
            return []
        place = (evse_id, connector_id)
        waiting = boot.undecided.get(place)
        if waiting is None or status not in STILL_HOLDS and status not in HOLDS_NONE:
            return []
        del boot.undecided[place]
        if not boot.undecided:
            del self._boots[identity]
        if status in STILL_HOLDS:
            return []
        where = f"connector {connector_id}" if evse_id is None else f"EVSE {evse_id} connector {connector_id}"
        note = f"closed after reboot: {where} reported {status}"
        lost = [LostTransaction(transaction_id, note, boot.at, timestamp) for transaction_id in waiting]
        return await self._close(identity, connector_id if evse_id is None else evse_id, lost)


_tx = t.transactions.c
_PER_QUERY = 500
# Found by the open transactions' partial index (charge point, connector).
_OPEN = sa.select(_tx.id, _tx.charge_point_id, _tx.evse_id, _tx.connector_id).where(
    _tx.charge_point_id.in_(sa.bindparam("charge_points", expanding=True)), _tx.stopped_at.is_(None)
)
