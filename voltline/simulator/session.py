"""The electric vehicle on the cable and the transaction the station keeps for it.

The vehicle decides how much power it accepts: its on-board charger's maximum until 80 % state of
charge, then a linear taper (constant-voltage phase) down to a trickle at 100 %. The station decides
how much it offers (hardware and charging profiles); the smaller of the two flows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TAPER_FROM_SOC = 80.0
TRICKLE = 0.05  # fraction of the maximum still drawn just below 100 %, so a charge does finish


@dataclass(slots=True)
class ElectricVehicle:
    battery_wh: float = 60_000.0
    soc: float = 20.0  # percent
    max_power_w: float = 11_000.0
    energy_wanted_wh: float | None = None  # the driver leaves (or the EV stops) after this much
    unplug_when_full: bool = False
    delivered_wh: float = 0.0

    @property
    def satisfied(self) -> bool:
        """The EV takes no more energy: battery full or the driver's wish met."""
        if self.soc >= 100.0:
            return True
        return self.energy_wanted_wh is not None and self.delivered_wh >= self.energy_wanted_wh

    def acceptance_w(self) -> float:
        if self.satisfied:
            return 0.0
        if self.soc < TAPER_FROM_SOC:
            return self.max_power_w
        share = (100.0 - self.soc) / (100.0 - TAPER_FROM_SOC)
        return self.max_power_w * max(TRICKLE, share)

    def absorb(self, energy_wh: float) -> float:
        """Take up to `energy_wh`; returns what was actually taken (never more than wanted)."""
        room = self.battery_wh * (100.0 - self.soc) / 100.0
        if self.energy_wanted_wh is not None:
            room = min(room, self.energy_wanted_wh - self.delivered_wh)
        taken = max(0.0, min(energy_wh, room))
        self.delivered_wh += taken
        self.soc = min(100.0, self.soc + taken / self.battery_wh * 100.0)
        return taken


@dataclass(eq=False)
class Transaction:
    """One charging session as the station records it.

    `transaction_id` stays None until the central system answers StartTransaction (which may be
    much later, after a reconnect); a 2.0.1 station chooses its own, a string."""

    connector_id: int
    id_tag: str
    meter_start: int
    started_at: datetime
    reservation_id: int | None = None
    transaction_id: int | str | None = None
    id_tag_info: dict[str, Any] | None = None
    meter_stop: int | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    meter_values: list[dict[str, Any]] = field(default_factory=list, repr=False)
    begin_sample: dict[str, Any] | None = field(default=None, repr=False)
    end_sample: dict[str, Any] | None = field(default=None, repr=False)
    _confirmed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.stopped_at is None

    @property
    def energy_wh(self) -> int:
        """Energy so far (or in total once stopped), as the meter register shows it."""
        end = self.meter_stop if self.meter_stop is not None else self._live_register
        return max(0, end - self.meter_start)

    _live_register: int = field(default=0, repr=False)

    def confirm(self, transaction_id: int | str, id_tag_info: dict[str, Any]) -> None:
        self.transaction_id = transaction_id
        self.id_tag_info = id_tag_info
        self._confirmed.set()

    async def wait_confirmed(self, timeout: float = 30.0) -> int | str:
        """Wait (real seconds) until the central system has answered the transaction's start.
        The default outlasts a lost answer: the start is sent again after the call timeout."""
        async with asyncio.timeout(timeout):
            await self._confirmed.wait()
        assert self.transaction_id is not None
        return self.transaction_id
