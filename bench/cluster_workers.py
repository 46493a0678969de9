"""Issue 21, bench (b): `voltline serve --workers 2` beside `--workers 1` on this machine, with the
generator sharing the cores (nothing pinned: the workers are meant to use every core there is).

Both on one fresh PostgreSQL database and a Redis server of the run's own (cluster mode, as
`--workers` needs), in alternating order, scenario 1's load each time (closed loop, Heartbeat :
MeterValues 1 : 1, four sampled values):

    python bench/cluster_workers.py --database-url postgresql://postgres@127.0.0.1:5432/test

Each line gives the messages per second, the latency, and the CPU the server's processes used
(the parent and its workers, in cores).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run as bench  # noqa: E402
from cluster_nodes import Node, free_ports, run_generator, start_redis  # noqa: E402


def generate(args: argparse.Namespace, node: Node) -> dict:
    command = [
        bench.PY, str(bench.LOADGEN), "--url", f"ws://127.0.0.1:{node.ocpp_port}/ocpp",
        "--server-pid", ",".join(str(pid) for pid in node.pids()), "--source-addresses", bench.SOURCES, "--quiet",
        "--charge-points", str(args.charge_points), "--duration", str(args.duration),
        "--mix", "heartbeat:1,metervalues:1", "--sampled-values", "4",
    ]
    return run_generator(command, timeout=args.duration + 300)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--charge-points", type=int, default=1000)
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="voltline-workers-bench-"))
    redis_port, ocpp_port, api_port = free_ports(3)
    redis = start_redis(redis_port, folder)
    rows = []
    try:
        for round_number in range(args.rounds):
            for workers in ((1, 2) if round_number % 2 == 0 else (2, 1)):
                database = bench.fresh_postgres_database(args.database_url)
                env = dict(os.environ, **bench.voltline_env(database), VOLTLINE_LOG_FORMAT="json",
                           VOLTLINE_REDIS_URL=f"redis://127.0.0.1:{redis_port}/{round_number % 8}",
                           VOLTLINE_SECRET_KEY=secrets.token_hex(32))
                node = None
                try:
                    bench.prepare_voltline(database, folder)
                    node = Node(f"workers-{workers}", env, ocpp_port, api_port, folder, ("--workers", str(workers)))
                    time.sleep(2)  # every worker listening
                    result = generate(args, node)
                finally:
                    if node is not None:
                        node.stop()
                    bench.drop_postgres_database(args.database_url, database)
                latency = result.get("latency") or {}
                row = {
                    "round": round_number + 1, "workers": workers, "msgs_per_s": result.get("messages_per_s"),
                    "p50_ms": latency.get("p50_ms"), "p99_ms": latency.get("p99_ms"),
                    "server_cores": result.get("server_cpu_utilization"),
                    "generator_cores": result.get("generator_cpu_utilization"),
                    "machine_busy_cores": result.get("machine_busy_cores"), "errors": result.get("errors"),
                }
                rows.append(row)
                bench.log(json.dumps(row))
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    out = bench.RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-cluster-workers.json"
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    bench.log(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
