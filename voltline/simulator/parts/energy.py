"""The energy flow: what each connector may draw (hardware, charging profiles, the station's share)
and the meter registers it advances, step by step in simulated time."""

from __future__ import annotations

from datetime import datetime, timedelta

from voltline.simulator.connector import Connector
from voltline.simulator.parts.base import StationBase

STEP_SECONDS = 5.0  # integration step of the energy flow, in simulated seconds


class EnergyPart(StationBase):
    """Power offered and drawn, and the meter registers."""

    def meter_wh(self, connector_id: int) -> int:
        connector = self.connector(connector_id)
        self.advance(connector, self.clock.now())
        return int(connector.register_wh)

    # -- energy flow -----------------------------------------------------------------------

    def offered_w(self, connector: Connector, at: datetime) -> float:
        """What the station lets this connector draw at `at`: hardware, profiles, station share."""
        tx = connector.transaction
        limit = self.max_power_w
        own = self.profiles.connector_limit(
            connector.connector_id,
            at,
            tx.started_at if tx else at,
            transaction_running=tx is not None,
            transaction_id=tx.transaction_id if tx else None,
        )
        if own is not None:
            limit = min(limit, own)
        station = self.profiles.station_limit(at)
        if station is not None:
            # The station-wide maximum is shared by the connectors that are drawing power.
            drawing = sum(1 for c in self.connectors.values() if c.transaction and c.ev and not c.ev.satisfied)
            limit = min(limit, station / max(1, drawing))
        return max(0.0, limit)

    def _update_power(self, connector: Connector, at: datetime) -> None:
        if connector.transaction is None:
            connector.power_w = connector.offered_w = 0.0
            return
        connector.offered_w = self.offered_w(connector, at)
        ev = connector.ev
        accepted = ev.acceptance_w() if ev is not None and connector.fault is None else 0.0
        connector.power_w = min(accepted, connector.offered_w)

    def advance(self, connector: Connector, now: datetime) -> None:
        """Let energy flow from the connector's last update until `now`."""
        if connector.last_update is None or connector.transaction is None:
            connector.last_update = now
            self._update_power(connector, now)
            return
        moment = connector.last_update
        while moment < now:
            step = min(STEP_SECONDS, (now - moment).total_seconds())
            self._update_power(connector, moment)
            if connector.power_w > 0 and connector.ev is not None:
                connector.register_wh += connector.ev.absorb(connector.power_w * step / 3600.0)
            moment += timedelta(seconds=step)
        connector.last_update = now
        self._update_power(connector, now)
        connector.transaction._live_register = int(connector.register_wh)

    def advance_all(self) -> None:
        now = self.clock.now()
        for connector in self.connectors.values():
            self.advance(connector, now)

    def wake_all(self) -> None:
        for connector in self.connectors.values():
            connector.wake.set()

    def _time_to_change(self, connector: Connector, now: datetime, horizon: float) -> float:
        """Simulated seconds until the flow changes character (EV satisfied, taper, a profile step),
        so status changes are reported when they happen, not at the next meter sample."""
        soonest = horizon
        ev, power = connector.ev, connector.power_w
        if ev is not None and power > 0:
            room = ev.battery_wh * (100.0 - ev.soc) / 100.0
            if ev.energy_wanted_wh is not None:
                room = min(room, ev.energy_wanted_wh - ev.delivered_wh)
            soonest = min(soonest, max(1.0, room / power * 3600.0))
        tx = connector.transaction
        boundaries = self.profiles.boundaries(now, now + timedelta(seconds=horizon), tx.started_at if tx else now)
        later = [(b - now).total_seconds() for b in boundaries if b > now]
        if later:
            soonest = min(soonest, max(0.5, min(later)))
        return soonest
