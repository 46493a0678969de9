"""Background traffic for demos and load: drivers arrive at random, charge, and leave.

Each connector runs its own loop of idle time (exponential, so arrivals look like a Poisson
process) and a session of random size; all randomness comes from the station's seeded generator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from voltline.simulator.simulator import Simulator
from voltline.simulator.station import SimulatedChargePoint


async def drive_connector(
    cp: SimulatedChargePoint,
    connector_id: int,
    id_tags: Sequence[str],
    *,
    mean_idle_s: float = 600.0,
    energy_kwh: tuple[float, float] = (5.0, 40.0),
) -> None:
    rng = cp.rng
    while True:
        await cp.clock.sleep(rng.expovariate(1.0 / mean_idle_s))
        connector = cp.connectors[connector_id]
        if connector.ev is not None or connector.transaction is not None or connector.status != "Available":
            continue
        tx = await cp.plug_in(
            connector_id,
            rng.choice(list(id_tags)),
            energy_kwh=round(rng.uniform(*energy_kwh), 1),
            soc=rng.uniform(10.0, 60.0),
            max_power_w=rng.choice((7_400.0, 11_000.0, 22_000.0)),
            unplug_when_full=True,
        )
        if tx is None:
            # Not authorized: the driver gives up and takes the car away.
            await cp.clock.sleep(rng.uniform(20.0, 60.0))
            await cp.unplug(connector_id)
            continue
        with contextlib.suppress(TimeoutError):
            await cp.wait_until(lambda c=connector, t=tx: c.transaction is not t, timeout=None)


async def run_traffic(simulator: Simulator, id_tags: Sequence[str], mean_idle_s: float = 600.0) -> None:
    """Drive every connector of every charge point until cancelled."""
    await asyncio.gather(
        *(
            drive_connector(cp, connector_id, id_tags, mean_idle_s=mean_idle_s)
            for cp in simulator
            for connector_id in cp.connectors
        )
    )
