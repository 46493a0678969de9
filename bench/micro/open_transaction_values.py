"""What a meter value costs the server's CPU through the transaction service and the store, apart
from the noise of a shared host and of the network: scenario 1's three variants, 1,000 charge
points on a fresh SQLite file, each sending one meter value of four sampled values a round —
1.6 MeterValues of no transaction, 1.6 MeterValues of an open transaction, and a 2.0.1
TransactionEvent Updated applied in place — with the report rollups kept and flushed as the
server does (every `--flush-every` rounds), the garbage collector tuned as the server tunes it. CPU time of this process per meter value, the best
of `--repeat` sittings, the first rounds (the index and the caches warming) left out.

    python bench/micro/open_transaction_values.py [--rounds 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from voltline.app import tune_garbage_collector
from voltline.bus.events import EventBus
from voltline.services.reports.recorder import Rollups
from voltline.services.transactions.service import TransactionService
from voltline.store import tables as t
from voltline.store.database import Store
from voltline.store.migrate import ensure_schema

CHARGE_POINTS = 1000
VARIANTS = ("1.6", "1.6-tx", "2.0.1")


def meter_value(wh: int, at: datetime) -> list[dict[str, Any]]:
    return [{"timestamp": at.isoformat().replace("+00:00", "Z"), "sampledValue": [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh",
         "context": "Sample.Periodic", "location": "Outlet"},
        {"value": "7360", "measurand": "Power.Active.Import", "unit": "W", "context": "Sample.Periodic"},
        {"value": "32.0", "measurand": "Current.Import", "unit": "A", "phase": "L1", "context": "Sample.Periodic"},
        {"value": "230.0", "measurand": "Voltage", "unit": "V", "phase": "L1-N", "context": "Sample.Periodic"},
    ]}]


async def sitting(variant: str, folder: Path, rounds: int, warm: int, flush_every: int) -> float:
    store = Store(f"sqlite:///{folder / f'{variant}.db'}")
    await ensure_schema(store.engine)
    rollups = Rollups(store)
    service = TransactionService(store, EventBus(), rollups)
    identities = [f"CP-{cp:05d}" for cp in range(CHARGE_POINTS)]
    await store.write(lambda conn: conn.execute(t.charge_points.insert(), [{"id": i} for i in identities]))
    start = datetime.now(UTC).replace(microsecond=0)
    transactions: list[int | None] = [None] * CHARGE_POINTS
    if variant == "1.6-tx":
        for n, identity in enumerate(identities):
            transactions[n] = (await service.start(identity, 1, f"TAG-{n}", 0, start)).transaction_id
    elif variant == "2.0.1":
        for identity in identities:
            await service.transaction_event(
                identity, event_type="Started", timestamp=start, trigger_reason="CablePluggedIn", seq_no=0,
                ocpp_transaction_id=f"tx-{identity}", evse_id=1, connector_id=1, meter_value=meter_value(0, start),
            )
        assert len(service.open_events) == CHARGE_POINTS  # every Updated is applied in place

    async def one(n: int, identity: str, r: int) -> None:
        at = start + timedelta(seconds=r + 1)
        values = meter_value(10 * (r + 1), at)
        if variant == "2.0.1":
            await service.transaction_event(
                identity, event_type="Updated", timestamp=at, trigger_reason="MeterValuePeriodic", seq_no=r + 1,
                ocpp_transaction_id=f"tx-{identity}", charging_state="Charging", meter_value=values,
            )
        else:
            await service.meter_values(identity, 1, transactions[n], values)

    spent = 0.0
    for r in range(rounds):
        t0 = time.process_time()
        # A round's meter values arrive together, as a burst of frames does.
        await asyncio.gather(*(one(n, identity, r) for n, identity in enumerate(identities)))
        if (r + 1) % flush_every == 0:
            await rollups.flush()
        if r >= warm:
            spent += time.process_time() - t0
    await store.close()
    return spent / ((rounds - warm) * CHARGE_POINTS)


async def main(rounds: int, repeat: int, flush_every: int, variants: list[str]) -> None:
    best = {variant: float("inf") for variant in variants}
    for _ in range(repeat):
        for variant in variants:  # interleaved: each variant sees the same drift of the host
            with tempfile.TemporaryDirectory() as tmp:
                best[variant] = min(best[variant], await sitting(variant, Path(tmp), rounds, 5, flush_every))
    for variant in variants:
        ratio = f" ({best[variant] / best['1.6']:.2f} x 1.6)" if "1.6" in best else ""
        print(f"{variant:7s} {best[variant] * 1e6:6.1f} us of CPU per meter value{ratio}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flush-every", type=int, default=20, help="rounds between two flushes of the rollups")
    parser.add_argument("--default-gc", action="store_true", help="keep Python's collector as it is, not as the server tunes it")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="of " + ", ".join(VARIANTS))
    args = parser.parse_args()
    if not args.default_gc:
        tune_garbage_collector()  # as `voltline serve` does
    asyncio.run(main(args.rounds, args.repeat, args.flush_every, args.variants.split(",")))
