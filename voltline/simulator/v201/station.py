"""One simulated OCPP 2.0.1 charging station.

It shares the version-free parts with the 1.6 charge point (connection life cycle and back-off,
energy flow, reboot, clock, transport, TLS, maintenance) and adds 2.0.1's own: EVSEs with
connectors, TransactionEvents, the device model. The CS→CP handlers build on those parts; this
module binds them, as `voltline.simulator.station` does for 1.6.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from voltline.ocpp.rpc import Handler
from voltline.simulator.connector import Connector
from voltline.simulator.parts.connection import ConnectionPart
from voltline.simulator.parts.energy import EnergyPart
from voltline.simulator.parts.reboot import RebootPart
from voltline.simulator.v201 import handlers, reports, upkeep
from voltline.simulator.v201.records import Transaction201
from voltline.simulator.v201.transactions import TransactionEventsPart

HANDLERS: dict[str, Handler] = {**handlers.HANDLERS, **reports.HANDLERS, **upkeep.HANDLERS}


class SimulatedChargingStation(TransactionEventsPart, ConnectionPart, EnergyPart, RebootPart):
    """A 2.0.1 charging station with `evses` EVSEs of `connectors_per_evse` connectors each."""

    handlers: ClassVar[Mapping[str, Handler]] = HANDLERS
    ocpp_version = "2.0.1"

    def offered_w(self, connector: Connector, at: datetime) -> float:
        # No energy before the transaction is authorized (TxStartPoint EVConnected starts it earlier).
        tx = connector.transaction
        if isinstance(tx, Transaction201) and not tx.authorized:
            return 0.0
        return super().offered_w(connector, at)
