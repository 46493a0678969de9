"""What this node knows of the open transactions told as events (OCPP 2.0.1), so that the most
common event of all, a periodic Updated with meter values, is applied without reading anything.

Such an event changes nothing in its transaction's row when
- its seqNo is one this transaction has not had (else it is a repeat, answered as the first was);
- it is no earlier than the transaction's start (else it moves the start);
- its register readings are no earlier than the transaction's first one, and there is one (else
  they move the meter start: see events.py);
- it names no id token, remote start, reservation, nor another EVSE or connector;
- the transaction is open (an event after the Ended may move the meter stop).
It is then two row inserts, the event and its readings, committed with 1.6's MeterValues in the
store's group-commit lane; the unique key of (transactionId, seqNo) stays the last word, should
two events of one seqNo meet there. Every other event takes the exact path (events.apply_event),
which reads the transaction again and teaches this index what it found.

An entry is learnt from the database by the exact path, within the write that applied the event,
and kept up to date by the events applied here. It is forgotten whenever what it says may no
longer hold: while an exact event of its transaction is in flight, when a write of its own failed,
when Voltline closes the transaction, and when its charge point disconnects (it may reconnect to
another node, which then applies its events). After a restart, a transaction's first event takes
the exact path and is learnt from there: nothing to restore at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.transactions import meter_values as mv
from voltline.services.transactions import rules
from voltline.store import tables as t

MAX_MISSING = 1000
"""Gaps in a transaction's seqNos kept in memory at most; a transaction with more takes the exact
path for every event (a station whose seqNos jump by millions must not cost memory for that)."""

Key = tuple[str, str]  # (charge point, transactionId)


@dataclass(slots=True)
class OpenTransaction:
    """An open transaction as its last exact event left it, and the seqNos applied since."""

    transaction_id: int
    evse_id: int
    connector_id: int
    started_at: datetime
    first_register_at: datetime | None  # None: no Energy.Active.Import.Register reading yet
    id_tag: str
    id_tag_status: str
    meter_start: int
    highest_seq_no: int
    missing: set[int]  # the seqNos below the highest not applied (yet)
    charging_state: str | None = None  # as the newest event told it, once one did

    def has_seen(self, seq_no: int) -> bool:
        return seq_no <= self.highest_seq_no and seq_no not in self.missing

    def takes(self, seq_no: int) -> bool:
        """Record `seq_no` as applied, if the gap it leaves fits in memory."""
        if seq_no in self.missing:
            self.missing.discard(seq_no)
            return True
        gap = seq_no - self.highest_seq_no - 1
        if len(self.missing) + gap > MAX_MISSING:
            return False
        self.missing.update(range(self.highest_seq_no + 1, seq_no))
        self.highest_seq_no = seq_no
        return True


class OpenTransactions:
    """The index: (charge point, transactionId) → OpenTransaction."""

    def __init__(self) -> None:
        self._open: dict[Key, OpenTransaction] = {}

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, key: Key) -> bool:
        return key in self._open

    def get(self, key: Key) -> OpenTransaction | None:
        return self._open.get(key)

    def updated_in_place(
        self, key: Key, seq_no: int, timestamp: datetime, evse_id: int | None, connector_id: int | None,
        samples: list[mv.SampledValue],
    ) -> OpenTransaction | None:
        """The transaction an Updated event (without token, remote start or reservation: the
        caller checks those) changes nothing of but its events and readings, its seqNo recorded
        as applied; None when the exact path must decide (see the module's docstring)."""
        tx = self._open.get(key)
        if tx is None or timestamp < tx.started_at or tx.has_seen(seq_no):
            return None
        if evse_id is not None and (evse_id != tx.evse_id or connector_id not in (None, tx.connector_id)):
            return None
        first = tx.first_register_at
        for sample in samples:
            if sample.measurand == mv.ENERGY_REGISTER and sample.phase is None and sample.value is not None:
                # The reading that would be first is the earliest: ties go to the older row.
                if first is None or sample.timestamp < first:
                    return None
        if not tx.takes(seq_no):
            del self._open[key]
            return None
        return tx

    def learn(self, key: Key, tx: OpenTransaction | None) -> None:
        if tx is None:
            self._open.pop(key, None)
        else:
            self._open[key] = tx

    def forget(self, key: Key) -> None:
        self._open.pop(key, None)

    def forget_transaction(self, transaction_id: int) -> None:
        """Voltline closed it (rare: a scan is cheaper than a second map kept on every event)."""
        for key in [key for key, tx in self._open.items() if tx.transaction_id == transaction_id]:
            del self._open[key]

    def forget_charge_point(self, identity: str) -> None:
        for key in [key for key in self._open if key[0] == identity]:
            del self._open[key]


_tx = t.transactions.c
_ev = t.transaction_events.c
_m = t.meter_values.c
_ROW = sa.select(
    _tx.evse_id, _tx.connector_id, _tx.started_at, _tx.id_tag, _tx.id_tag_status, _tx.meter_start, _tx.stopped_at
).where(_tx.id == sa.bindparam("transaction_id"))
_SEQ_NOS = sa.select(_ev.seq_no).where(_ev.transaction_id == sa.bindparam("transaction_id")).order_by(_ev.seq_no)
_FIRST_REGISTER_AT = rules.FIRST_ENERGY.with_only_columns(_m.timestamp)


async def read_open(conn: AsyncConnection, transaction_id: int) -> OpenTransaction | None:
    """The transaction as the index keeps it, read in the write that applied an exact event (so
    it is what that write committed); None when it is not open or its gaps are too many."""
    key = {"transaction_id": transaction_id}
    row = (await conn.execute(_ROW, key)).first()
    if row is None or row.stopped_at is not None:
        return None
    seen: list[int] = [row.seq_no for row in (await conn.execute(_SEQ_NOS, key)).all()]
    highest = seen[-1] if seen else -1
    lowest = min(0, seen[0]) if seen else 0
    if highest - lowest + 1 - len(seen) > MAX_MISSING:
        return None
    present = set(seen)
    missing = {n for n in range(lowest, highest) if n not in present}
    return OpenTransaction(
        transaction_id, row.evse_id, row.connector_id, row.started_at, await conn.scalar(_FIRST_REGISTER_AT, key),
        row.id_tag, row.id_tag_status, row.meter_start, highest, missing,
    )


def event_row(
    identity: str, ocpp_transaction_id: str, seq_no: int, transaction_id: int, event_type: str, trigger_reason: str,
    timestamp: datetime, offline: bool, charging_state: str | None, received_at: datetime,
) -> tuple[Any, ...]:
    """A transaction_events row as a tuple in the table's column order (the store's row inserts)."""
    return (
        identity, ocpp_transaction_id, seq_no, transaction_id, event_type, trigger_reason, timestamp, offline,
        charging_state, received_at,
    )
