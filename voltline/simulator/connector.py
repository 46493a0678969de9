"""One connector's physical and logical state, and the OCPP status that follows from it.

The status is derived from the state rather than set by hand, so every path that changes the state
(a plug, a fault, a profile, a reservation) produces the right StatusNotification and none is missed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from voltline.simulator.session import ElectricVehicle, Transaction


@dataclass(slots=True)
class Reservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    expires_at: datetime
    parent_id_tag: str | None = None


@dataclass(eq=False)
class Connector:
    connector_id: int
    register_wh: float = 0.0
    operative: bool = True
    scheduled_operative: bool | None = None  # a ChangeAvailability waiting for the transaction to end
    fault: tuple[str, str | None] | None = None  # (errorCode, info)
    ev: ElectricVehicle | None = None
    finished: bool = False  # the transaction ended but the cable is still plugged in
    transaction: Transaction | None = None
    reservation: Reservation | None = None
    power_w: float = 0.0
    offered_w: float = 0.0
    last_update: datetime | None = None
    status: str = "Available"
    error_code: str = "NoError"
    info: str | None = None
    reported: tuple[str, str] | None = None  # last (status, errorCode) the central system acknowledged
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def derive_status(self, station_operative: bool) -> tuple[str, str, str | None]:
        """(status, errorCode, info) as OCPP 1.6 §4.9 defines them for this state."""
        if self.fault is not None:
            return "Faulted", self.fault[0], self.fault[1]
        if self.connector_id == 0:
            return ("Available" if station_operative else "Unavailable"), "NoError", None
        if self.transaction is not None:
            if self.power_w > 0:
                return "Charging", "NoError", None
            if self.ev is None or self.ev.satisfied or self.offered_w > 0:
                # The station offers power but the EV takes none (full, or gone with the
                # transaction kept open because StopTransactionOnEVSideDisconnect is false).
                return "SuspendedEV", "NoError", None
            return "SuspendedEVSE", "NoError", None
        if not (self.operative and station_operative):
            return "Unavailable", "NoError", None
        if self.ev is not None and self.finished:
            return "Finishing", "NoError", None
        if self.reservation is not None:
            return "Reserved", "NoError", None
        if self.ev is not None:
            return "Preparing", "NoError", None
        return "Available", "NoError", None
