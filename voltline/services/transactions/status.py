"""Whether a transaction is really over, asking its charging station (OCPP 2.0.1 GetTransactionStatus).

A stored transaction may look ended, or still going, while its station holds queued events of
it (it was offline): an Ended still in the station's queue is not a closed transaction, nor is
one whose last readings are still to come. `closed` is true only when the station says the
transaction is not going on and has no message of it left to deliver.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from voltline.ocpp.commands import ReadTransactionStatus
from voltline.services.errors import Invalid, NotFound
from voltline.services.remote_control.commands import CommandService
from voltline.store import tables as t
from voltline.store.database import Store

_tx = t.transactions.c


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    transaction_id: int
    ocpp_transaction_id: str
    charge_point_id: str
    ongoing_indicator: bool | None  # the station's ongoingIndicator
    messages_in_queue: bool  # the station's messagesInQueue
    stopped: bool  # as stored: an Ended (or a close) was applied
    closed: bool  # not going on and nothing of it queued: what is stored is all there will be


class TransactionStatusService:
    def __init__(self, store: Store, commands: CommandService) -> None:
        self._store = store
        self._commands = commands

    async def ask(self, transaction_id: int, timeout: float | None = None) -> TransactionStatus:
        """Ask the transaction's station. Raises NotFound, Invalid (a 1.6 transaction: 1.6 has no
        such message), and the command errors (offline, timeout, a CALLERROR)."""
        row = await self._store.fetch_one(
            sa.select(_tx.charge_point_id, _tx.ocpp_transaction_id, _tx.evse_id, _tx.stopped_at).where(
                _tx.id == transaction_id
            )
        )
        if row is None:
            raise NotFound(f"no transaction {transaction_id}")
        if row.evse_id is None:
            raise Invalid(
                f"transaction {transaction_id} is of an OCPP 1.6 charge point, which has no GetTransactionStatus",
                code="not_supported_by_version",
            )
        reply = await self._commands.send(row.charge_point_id, ReadTransactionStatus(row.ocpp_transaction_id), timeout)
        read = reply.result
        return TransactionStatus(
            transaction_id=transaction_id,
            ocpp_transaction_id=row.ocpp_transaction_id,
            charge_point_id=row.charge_point_id,
            ongoing_indicator=read.ongoing,
            messages_in_queue=read.messages_in_queue,
            stopped=row.stopped_at is not None,
            closed=read.ongoing is False and not read.messages_in_queue,
        )
