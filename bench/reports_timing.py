"""Each report's time over a year of the network bench/report_year.py fills, through the HTTP API
of a real `voltline serve` on that database: --repeat calls of each, p50 / p95 / max in ms.

    python bench/reports_timing.py --database-url sqlite:////tmp/year.db
    python bench/reports_timing.py --database-url postgresql://postgres@127.0.0.1:5432/year

The figures go to stdout and, as JSON, to bench/results/<time>-reports-<database>.json."""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
EXE = Path(sys.executable).parent / "voltline"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cases(start: str, end: str) -> dict[str, tuple[str, dict[str, object]]]:
    year = {"from": start, "to": end}
    ten = [f"REPORT-{i:04d}" for i in range(1, 11)]
    return {
        "energy per day": ("energy", {**year, "interval": "day"}),
        "energy per week": ("energy", {**year, "interval": "week"}),
        "energy per month": ("energy", {**year, "interval": "month"}),
        "energy per hour (a week)": ("energy", {"from": (datetime.fromisoformat(end) - timedelta(days=7)).isoformat(), "to": end, "interval": "hour"}),
        "energy per day, 10 charge points": ("energy", {**year, "charge_point_id": ten}),
        "energy per day, one id tag": ("energy", {**year, "id_tag": "TAG-00042"}),
        "energy per day, one parent tag": ("energy", {**year, "parent_id_tag": "FLEET-07"}),
        "energy by charge point": ("energy/by-charge-point", year),
        "energy by id tag": ("energy/by-id-tag", year),
        "energy by parent id tag": ("energy/by-id-tag", {**year, "group": "parent"}),
        "sessions": ("sessions", year),
        "sessions, 10 charge points": ("sessions", {**year, "charge_point_id": ten}),
        "utilisation per connector": ("utilisation", year),
        "utilisation per charge point": ("utilisation", {**year, "group": "charge_point"}),
        "reliability": ("reliability", year),
        "peak power per day": ("peak-power", year),
        "peak power, 10 charge points": ("peak-power", {**year, "charge_point_id": ten}),
        "energy per day, CSV": ("energy", {**year, "format": "csv"}),
        "energy per day in Europe/Berlin": ("energy", {**year, "tz": "Europe/Berlin"}),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--time-zone", default="UTC", help="the reports_time_zone the year was filled for")
    p.add_argument("--only", help="only the reports whose name contains this")
    p.add_argument("--port", type=int, help="the server's HTTP port (its OCPP port the next one); a free one if not given")
    a = p.parse_args()
    env = {**os.environ, "VOLTLINE_DATABASE_URL": a.database_url, "VOLTLINE_REPORTS_TIME_ZONE": a.time_zone}
    token = subprocess.run([str(EXE), "token", "create", "--name", "reports-bench"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port, ocpp_port = (a.port, a.port + 1) if a.port else (free_port(), free_port())
    server = subprocess.Popen([str(EXE), "serve", "--port", str(port), "--ocpp-port", str(ocpp_port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results: dict[str, dict[str, float]] = {}
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                              timeout=120)
        for _ in range(300):
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=365)
        for name, (path, params) in cases(start.isoformat(), end.isoformat()).items():
            if a.only and a.only not in name:
                continue
            times = []
            for i in range(a.repeat + 1):
                t0 = time.perf_counter()
                answer = client.get(f"/api/v1/reports/{path}", params=params)
                elapsed = (time.perf_counter() - t0) * 1000
                if answer.status_code != 200:
                    break
                if i:  # the first call warms the caches
                    times.append(elapsed)
            if not times:
                results[name] = {"failed": f"{answer.status_code} after {elapsed:.0f} ms: {answer.text[:120]}"}
                print(f"{name:40s} FAILED {results[name]['failed']}", flush=True)
                continue
            times.sort()
            results[name] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[max(0, math.ceil(len(times) * 0.95) - 1)], 1),
                "max_ms": round(times[-1], 1),
            }
            print(f"{name:40s} p50 {results[name]['p50_ms']:8.1f}  p95 {results[name]['p95_ms']:8.1f}"
                  f"  max {results[name]['max_ms']:8.1f} ms", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    database = "sqlite" if a.database_url.startswith("sqlite") else "postgresql"
    out = BENCH / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-reports-{database}.json"
    out.write_text(json.dumps({"database": database, "repeat": a.repeat, "reports": results}, indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
