"""Clusters for the benchmarks: a Redis server of the run's own and `voltline serve` nodes on free
ports, each logging to a file of the run's folder."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run as bench  # noqa: E402

REDIS_SERVER = shutil.which("redis-server")


def start_redis(port: int, folder: Path) -> subprocess.Popen:
    if REDIS_SERVER is None:
        raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: _redis_answers(port), "redis-server")
    return process


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _health(api_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for(probe: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {seconds:g} s")


class Node:
    """One `voltline serve` of the cluster, on ports of its own."""

    def __init__(
        self, name: str, env: dict[str, str], ocpp_port: int, api_port: int, folder: Path, extra: tuple[str, ...] = ()
    ) -> None:
        self.name, self.ocpp_port, self.api_port = name, ocpp_port, api_port
        self.log = (folder / f"{name}.log").open("wb")
        self.process = subprocess.Popen(
            [bench.voltline_exe(), "serve", "--ocpp-port", str(ocpp_port), "--port", str(api_port), *extra],
            env=dict(env, VOLTLINE_NODE_ID=name), cwd=folder, stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_for(lambda: _health(api_port), f"node {name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def pids(self) -> list[int]:
        """The node's process and, under `--workers`, its workers' (the processes doing the work)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return [self.process.pid, *found]


def run_generator(command: list[str], timeout: float) -> dict:
    """Run the load generator; its JSON result (the last line it prints)."""
    finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    lines = finished.stdout.strip().splitlines()
    if finished.returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed ({finished.returncode}): {finished.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
