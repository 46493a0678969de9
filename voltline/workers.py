"""`voltline serve --workers N`: N nodes of one cluster on this machine, so that all its cores
serve. Each worker is a whole `voltline serve` process with its own node id; they listen on the
same OCPP and HTTP ports (SO_REUSEPORT: the kernel spreads new connections over them) and share
presence, events and caches through Redis as any nodes of a cluster do.

The parent only starts them, forwards SIGTERM and SIGINT (a second signal too: a worker stops
at once on its second), and waits. A worker that exits by itself stops the others: the parent
exits with its status, for the service manager to restart the whole."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping

PARENT_VARIABLE = "VOLTLINE_WORKER_PARENT"
WORKER_VARIABLE = "VOLTLINE_WORKER"
"""A worker's number (1..N), which its log lines carry: N processes write to one terminal or journal."""
_PR_SET_PDEATHSIG = 1


def shared_listeners(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for `host:port` (each address it names) that other processes may bind too."""
    sockets: list[socket.socket] = []
    seen = set()
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def die_with_parent() -> None:
    """In a worker: end (SIGTERM, so gracefully) when the parent is gone, even by kill -9."""
    parent = os.environ.get(PARENT_VARIABLE)
    if not parent:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def run_workers(count: int, environment: Mapping[str, str], node_id: str | None) -> int:
    """Start `count` workers (`voltline serve` with `environment` added), forward stop signals,
    wait for all of them. The exit status: 0 when stopped by a signal and all stopped cleanly."""
    children: list[subprocess.Popen[bytes]] = []
    signals: list[int] = []
    failed: int | None = None

    def forward(number: int, _frame: object = None) -> None:
        signals.append(number)
        for child in children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(number)

    previous = {number: signal.signal(number, forward) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        for index in range(1, count + 1):
            env = {**os.environ, **environment, "VOLTLINE_REUSE_PORT": "true", PARENT_VARIABLE: str(os.getpid()),
                   WORKER_VARIABLE: str(index)}
            if node_id:
                env["VOLTLINE_NODE_ID"] = f"{node_id}-{index}"
            # A process group of its own: a Ctrl-C in the terminal reaches the parent alone,
            # which passes it on once (twice would stop the worker at once, unflushed).
            children.append(subprocess.Popen([sys.executable, "-m", "voltline", "serve"], env=env, process_group=0))
            if signals:  # a signal while starting: the workers started so far have it already
                forward(signals[-1])
                break
        print(f"voltline: {len(children)} workers, pids {' '.join(str(c.pid) for c in children)}", file=sys.stderr)
        while any(child.poll() is None for child in children):
            if not signals and failed is None:
                exited = [child for child in children if child.returncode is not None]
                if exited:
                    failed = exited[0].returncode or 1
                    print(
                        f"voltline: worker {exited[0].pid} exited (status {exited[0].returncode}); "
                        "stopping the others", file=sys.stderr,
                    )
                    forward(signal.SIGTERM)
            time.sleep(0.1)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if failed is not None:
        return failed
    return 0 if all(child.returncode == 0 for child in children) else 1
