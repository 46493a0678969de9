"""What the report rollups cost scenario 1, measured apart from the noise of a shared host: the
recorder's work per MeterValues (in memory), and a flush of what 1,000 charging charge points
gather between two flushes (one row per charge point and hour, to the hourly, daily, monthly and
by-tag rollups) on a real database. CPU time, the best of several rounds.

    python bench/micro/report_rollups.py [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from voltline.services.reports.recorder import Rollups
from voltline.services.transactions import meter_values as mv
from voltline.store.database import Store
from voltline.store.migrate import ensure_schema

CHARGE_POINTS = 1000


def meter_value(wh: int, at: datetime) -> list[dict[str, object]]:
    return [{"timestamp": at.isoformat(), "sampledValue": [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7360", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "32.0", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        {"value": "230.0", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
    ]}]


async def main(url: str, rounds: int) -> None:
    store = Store(url)
    await ensure_schema(store.engine)
    rollups = Rollups(store)
    start = datetime.now(UTC).replace(microsecond=0)
    for cp in range(CHARGE_POINTS):
        rollups.started(cp + 1, f"CP-{cp}", 1, f"TAG-{cp}", 0, start, "Accepted")
    samples = [mv.normalize(meter_value(10 * (i + 1), start + timedelta(seconds=i + 1))) for i in range(200)]
    best_step = best_flush = float("inf")
    for r in range(rounds):
        t0 = time.process_time()
        for i, sample in enumerate(samples):
            for cp in range(CHARGE_POINTS):
                rollups.meter_values(cp + 1, sample)
        best_step = min(best_step, (time.process_time() - t0) / (len(samples) * CHARGE_POINTS))
        t0 = time.process_time()
        await rollups.flush()
        best_flush = min(best_flush, time.process_time() - t0)
        samples = [mv.normalize(meter_value(10 * (i + 1) + 2000 * (r + 1), start + timedelta(seconds=i + 1 + 200 * (r + 1))))
                   for i in range(200)]
    await store.close()
    print(f"{url.split(':')[0]}: per MeterValues {best_step * 1e6:.1f} us of CPU in the recorder;"
          f" a flush of {CHARGE_POINTS} charge points' rows {best_flush * 1000:.1f} ms of CPU in this process")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url")
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    url = a.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'rollups.db'}"
    asyncio.run(main(url, a.rounds))
