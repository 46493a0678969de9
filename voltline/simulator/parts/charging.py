"""The running transaction's loop, the same for both OCPP versions: energy flows, a sample is
taken every `MeterValueSampleInterval` seconds from the start, statuses follow the flow, and an
EV that is full and wants to go unplugs. Only what a sample sends differs by version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from voltline.simulator.connector import Connector
from voltline.simulator.parts.base import StationBase
from voltline.simulator.session import Transaction


async def charge(station: StationBase, connector: Connector, tx: Transaction, sample: Callable[[], None]) -> None:
    """Run `tx` on `connector` until it ends, calling `sample` at each periodic sample."""
    next_sample: datetime | None = None
    while connector.transaction is tx:
        now = station.clock.now()
        station.advance(connector, now)
        ev = connector.ev
        if ev is not None and ev.satisfied and ev.unplug_when_full:
            station._unplug(connector)
            return
        interval = station.config.get_int("MeterValueSampleInterval")
        wait = 300.0
        if interval > 0:
            if next_sample is None:
                next_sample = tx.started_at + timedelta(seconds=interval)
            if now >= next_sample:
                sample()
                while next_sample <= now:
                    next_sample += timedelta(seconds=interval)
            wait = (next_sample - now).total_seconds()
        else:
            next_sample = None
        station.refresh(connector)
        wait = min(wait, station._time_to_change(connector, now, wait))
        connector.wake.clear()
        await station.clock.wait(connector.wake, max(wait, 0.001))
