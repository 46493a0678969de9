"""What a 2.0.1 station keeps beyond the version-free parts: each EVSE's connectors (an EVSE is
the simulator's `Connector`, whose energy and transaction it owns) and the transaction with its
event sequence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voltline.simulator.session import Transaction


@dataclass(eq=False)
class Plug:
    """One connector of an EVSE: the cable the EV uses, or one that waits while another is used."""

    evse_id: int
    connector_id: int
    operative: bool = True
    scheduled_operative: bool | None = None  # a ChangeAvailability waiting for the transaction to end
    in_use: bool = False  # the EV is plugged in here
    status: str = "Available"
    reported: str | None = None  # the last connectorStatus the CSMS acknowledged


@dataclass(eq=False)
class Transaction201(Transaction):
    """A 2.0.1 transaction: its id is the station's own string, `connector_id` is the EVSE, and
    every TransactionEvent sent for it is numbered (seqNo from 0) and kept in `events`."""

    plug_id: int = 1
    id_token: dict[str, Any] | None = None  # None until authorized (TxStartPoint EVConnected)
    remote_start_id: int | None = None
    charging_state: str | None = None
    seq_no: int = 0
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def authorized(self) -> bool:
        return self.id_token is not None

    def next_seq_no(self) -> int:
        seq_no, self.seq_no = self.seq_no, self.seq_no + 1
        return seq_no
