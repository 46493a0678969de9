"""Issue 21, bench (a): a remote start's REST round trip when the API that takes it runs on
another node than the one holding the charge point, beside the same request on the holding
node, under scenario 4's load (scenario 1's fleet plus remote starts at a steady rate).

Two `voltline serve` nodes, HOLDER and ASKER, share one fresh PostgreSQL database and a Redis
server of this run's own. The generator's fleet connects to HOLDER; each round runs the load
twice, its remote starts sent once to HOLDER's API (local) and once to ASKER's (cross-node, over
the cluster's command link), in alternating order, so that both see the same host:

    python bench/cluster_command.py --database-url postgresql://postgres@127.0.0.1:5432/test

Goal: the cross-node p99 at most twice the local one. A JSON line per run goes to
bench/results/.
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
import run as bench  # noqa: E402 - the benchmark's own helpers: databases, tokens, the generator
from cluster_nodes import Node, free_ports, run_generator, start_redis  # noqa: E402


def generate(args: argparse.Namespace, holder: Node, api: Node, token: str) -> dict:
    """Scenario 4 against `holder`'s fleet, its remote starts sent to `api`'s REST API."""
    command = bench.pin(None if args.no_pin else args.loadgen_core, [
        bench.PY, str(bench.LOADGEN), "--url", f"ws://127.0.0.1:{holder.ocpp_port}/ocpp",
        "--server-pid", str(holder.process.pid), "--source-addresses", bench.SOURCES, "--quiet",
        "--label", f"remote starts via {api.name}", "--charge-points", str(args.charge_points),
        "--duration", str(args.duration), "--mix", "heartbeat:1,metervalues:1", "--sampled-values", "4",
        "--api-url", f"http://127.0.0.1:{api.api_port}", "--remote-start-rate", str(args.remote_start_rate),
        "--id-tag", bench.BENCH_ID_TAG, "--api-token", token,
    ])
    return run_generator(command, timeout=args.duration + 300)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="a PostgreSQL server; the run makes a database of its own there and drops it after")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--charge-points", type=int, default=1000)
    p.add_argument("--remote-start-rate", type=float, default=20)
    p.add_argument("--loadgen-core", type=int, default=1)
    p.add_argument("--no-pin", action="store_true")
    args = p.parse_args()
    args.no_pin = args.no_pin or shutil.which("taskset") is None

    folder = Path(tempfile.mkdtemp(prefix="voltline-cluster-bench-"))
    database = bench.fresh_postgres_database(args.database_url)
    redis_port, *ports = free_ports(5)
    redis = start_redis(redis_port, folder)
    nodes: list[Node] = []
    runs: list[dict] = []
    try:
        env = dict(os.environ, **bench.voltline_env(database), VOLTLINE_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                   VOLTLINE_SECRET_KEY=secrets.token_hex(32), VOLTLINE_LOG_FORMAT="json")
        token = bench.prepare_voltline(database, folder)
        holder = Node("HOLDER", env, ports[0], ports[1], folder)
        asker = Node("ASKER", env, ports[2], ports[3], folder)
        nodes += [holder, asker]
        bench.register_id_tag(argparse.Namespace(api_port=holder.api_port), token)
        for round_number in range(args.rounds):
            order = [holder, asker] if round_number % 2 == 0 else [asker, holder]
            for api in order:
                result = generate(args, holder, api, token)
                starts = result.get("remote_start") or {}
                row = {
                    "round": round_number + 1,
                    "via": "local" if api is holder else "cross-node",
                    "sent": starts.get("sent"),
                    "ok": starts.get("ok"),
                    "p50_ms": starts.get("latency", {}).get("p50_ms"),
                    "p99_ms": starts.get("latency", {}).get("p99_ms"),
                    "not_accepted": starts.get("not_accepted"),
                    "rest_errors": starts.get("errors"),
                    "msgs_per_s": result.get("messages_per_s"),
                    "ocpp_errors": result.get("errors"),
                }
                runs.append(row | {"generator": result})
                bench.log(json.dumps(row))
    finally:
        for node in nodes:
            node.stop()
        redis.terminate()
        redis.wait(timeout=10)
        bench.drop_postgres_database(args.database_url, database)

    summary = {via: _medians([r for r in runs if r["via"] == via]) for via in ("local", "cross-node")}
    if summary["local"]["p99_ms"] and summary["cross-node"]["p99_ms"]:
        summary["p99_ratio"] = round(summary["cross-node"]["p99_ms"] / summary["local"]["p99_ms"], 2)
    out = bench.RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-cluster-command.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))
    bench.log(json.dumps(summary))
    bench.log(f"results: {out}")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def _medians(rows: list[dict]) -> dict:
    import statistics

    def median(key: str) -> float | None:
        values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        return round(statistics.median(values), 1) if values else None

    return {key: median(key) for key in ("p50_ms", "p99_ms", "msgs_per_s", "sent", "ok")}


if __name__ == "__main__":
    sys.exit(main())
