"""A command's REST round trip in a cluster: sent through the node holding the charge point's
connection (local) and through another node (over the Redis command link), one after another.

Starts two real nodes (separate processes) on a PostgreSQL database and a Redis server of its
own, connects one charge point (the `ocpp` package's ChargePoint, answering DataTransfer at once)
to node A, then sends `--count` DataTransfer commands through A and as many through B,
interleaved, and prints p50/p99/max of each. No other load: the link's own cost.

    .venv/bin/python bench/micro/cluster_link.py --count 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.cluster.harness import cluster_of  # noqa: E402
from tests.cluster.test_commands import reachable, station  # noqa: E402
from tests.conftest import POSTGRES_URL, postgres_admin  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(count: int) -> None:
    name = f"voltline_bench_cluster_{uuid.uuid4().hex[:6]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        with tempfile.TemporaryDirectory() as directory:
            async for cluster in cluster_of(f"{base}/{name}", Path(directory)):
                a, b = await cluster.start("A", "B", log_level="WARNING")
                async with station(a, "CP-BENCH"):
                    await reachable(b, "CP-BENCH")
                    times: dict[str, list[float]] = {"local (A)": [], "cross-node (B→A)": []}
                    path = "/api/v1/charge-points/CP-BENCH/commands/DataTransfer"
                    async with a.api() as on_a, b.api() as on_b:  # kept open: no connect in the timings
                        for i in range(count):
                            for label, api in (("local (A)", on_a), ("cross-node (B→A)", on_b)):
                                started = time.perf_counter()
                                response = await api.post(path, json={"vendorId": "bench", "data": str(i)})
                                times[label].append((time.perf_counter() - started) * 1000)
                                assert response.status_code == 200, response.text
                for label, values in times.items():
                    print(
                        f"{label:18} n={len(values)} p50={statistics.median(values):.2f} ms "
                        f"p99={_percentile(values, 0.99):.2f} ms max={max(values):.2f} ms"
                    )
    finally:
        with contextlib.suppress(Exception):
            await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    asyncio.run(main(parser.parse_args().count))
