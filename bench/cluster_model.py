"""Issue 21, the model of a node: what one charge point costs a Voltline node in memory and CPU,
and what it costs the cluster's Redis, from which the charge points a node of a given size holds
follow.

One node at a time on a fresh PostgreSQL database, first without Redis (a single node), then as
a cluster node (with a Redis server of the run's own), each through the same two loads:
- idle: `--idle-charge-points` booted charge points held open (scenario 2's way): the server's
  memory per connection, and Redis's commands and bytes per charge point per second at rest;
- load: `--charge-points` charge points sending `--rate` CALLs/s in all (Heartbeat:MeterValues
  1:1, four sampled values): the server's CPU per message, and Redis's per message.
Redis is read (INFO stats) every second; the rates are taken over the second half of each hold,
after the boots.

    python bench/cluster_model.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).parent))
import run as bench  # noqa: E402
from cluster_nodes import Node, free_ports, run_generator, start_redis  # noqa: E402


@dataclass
class RedisMeter:
    """INFO stats of one Redis, read every second in a thread while a load runs."""

    url: str
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RedisMeter:
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _read(self) -> None:
        client = redis.Redis.from_url(self.url)
        while not self._stop.is_set():
            info = client.info("stats")
            self.samples.append((time.monotonic(), info["total_commands_processed"],
                                 info["total_net_input_bytes"], info["total_net_output_bytes"]))
            self._stop.wait(1.0)
        client.close()

    def rates(self, start: float, end: float) -> dict[str, float] | None:
        """Commands and bytes per second between `start` and `end` (monotonic seconds)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        (t0, c0, i0, o0), (t1, c1, i1, o1) = inside[0], inside[-1]
        span = t1 - t0
        return {"commands_per_s": (c1 - c0) / span, "bytes_in_per_s": (i1 - i0) / span,
                "bytes_out_per_s": (o1 - o0) / span}


def generate(node: Node, extra: list[str], timeout: float) -> tuple[dict, float]:
    """One generator run against `node`; its result and the monotonic time it ended."""
    command = [bench.PY, str(bench.LOADGEN), "--url", f"ws://127.0.0.1:{node.ocpp_port}/ocpp",
               "--server-pid", str(node.process.pid), "--source-addresses", bench.SOURCES, "--quiet", *extra]
    result = run_generator(command, timeout)
    return result, time.monotonic()


def measure(args: argparse.Namespace, cluster: bool, folder: Path) -> dict:
    database = bench.fresh_postgres_database(args.database_url)
    redis_port, ocpp_port, api_port = free_ports(3)
    server = start_redis(redis_port, folder) if cluster else None
    url = f"redis://127.0.0.1:{redis_port}/0"
    env = dict(os.environ, **bench.voltline_env(database), VOLTLINE_LOG_FORMAT="json")
    if cluster:
        env |= {"VOLTLINE_REDIS_URL": url, "VOLTLINE_SECRET_KEY": secrets.token_hex(32)}
    node: Node | None = None
    try:
        bench.prepare_voltline(database, folder)
        node = Node("cluster-node" if cluster else "single-node", env, ocpp_port, api_port, folder)
        figures: dict = {"mode": "cluster node" if cluster else "single node"}
        meter = RedisMeter(url) if cluster else None
        with meter or _nothing():
            idle, ended = generate(node, [
                "--label", "idle", "--charge-points", str(args.idle_charge_points), "--idle",
                "--duration", str(args.hold), "--connect-concurrency", "1000", "--settle", "3",
                "--prefix", "IDLE-",
            ], timeout=args.hold + 600)
            figures["rss_per_connection_kib"] = idle.get("server_rss_per_connection_kib")
            if meter is not None:
                figures["redis_idle"] = _per(meter.rates(ended - args.hold / 2, ended - 1), args.idle_charge_points)
            load, ended = generate(node, [
                "--label", "load", "--charge-points", str(args.charge_points), "--mode", "rate",
                "--rate", str(args.rate), "--duration", str(args.duration), "--mix", "heartbeat:1,metervalues:1",
                "--sampled-values", "4", "--prefix", "LOAD-",
            ], timeout=args.duration + 600)
            rate = load.get("messages_per_s") or 0
            cpu = load.get("server_cpu_utilization")
            figures |= {"messages_per_s": rate, "server_cpu_utilization": cpu,
                        "cpu_us_per_message": round(cpu / rate * 1e6, 1) if cpu and rate else None,
                        "errors": load.get("errors")}
            if meter is not None and rate:
                busy = meter.rates(ended - args.duration / 2, ended - 1)
                figures["redis_per_message"] = _per(busy, rate)
        return figures
    finally:
        if node is not None:
            node.stop()
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        bench.drop_postgres_database(args.database_url, database)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _per(rates: dict[str, float] | None, divisor: float) -> dict[str, float] | None:
    if rates is None or not divisor:
        return None
    return {name.removesuffix("_per_s"): round(value / divisor, 4) for name, value in rates.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--idle-charge-points", type=int, default=5000)
    p.add_argument("--hold", type=float, default=30, help="seconds the idle charge points are held")
    p.add_argument("--charge-points", type=int, default=1000)
    p.add_argument("--rate", type=float, default=2000, help="CALLs/s of the load, over all its charge points")
    p.add_argument("--duration", type=float, default=20)
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="voltline-cluster-model-"))
    try:
        rows = [measure(args, cluster, folder) for cluster in (False, True)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out = bench.RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-cluster-model.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    for row in rows:
        bench.log(json.dumps(row))
    bench.log(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
