"""Real clusters for tests: `voltline serve` nodes as separate processes on free ports, one
PostgreSQL database of the test's own, and a Redis server of the test's own (so that a test may
stop and restart it). A node's output goes to a log file named after it, shown when it fails."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _until(*, probe: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{what} within {seconds} s")


@dataclass
class RedisServer:
    """A redis-server process on a free port, without persistence: a restart starts it empty,
    as a Redis that lost its memory would."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = await asyncio.create_subprocess_exec(
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.directory), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )

        async def answers() -> bool:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.write(b"PING\r\n")
            line = await reader.readline()
            writer.close()
            return line.startswith(b"+PONG")

        await _until(probe=answers, seconds=10, what="redis-server did not answer")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@dataclass
class ClusterNode:
    """One `voltline serve` process of a cluster."""

    name: str
    env: dict[str, str]
    log: Path
    ocpp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    token: str | None = None
    args: tuple[str, ...] = ()  # more options of `voltline serve`, e.g. ("--workers", "2")

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "voltline", "serve", "--ocpp-port", str(self.ocpp_port), "--port", str(self.http_port),
            "--host", "127.0.0.1", "--ocpp-host", "127.0.0.1", *self.args,
            env=self.env, stdout=self.log.open("ab"), stderr=asyncio.subprocess.STDOUT,
        )
        async with httpx.AsyncClient() as client:

            async def healthy() -> bool:
                if self.process is None or self.process.returncode is not None:
                    pytest.fail(f"node {self.name} exited: {self.log.read_text()[-3000:]}")
                try:
                    return (await client.get(f"{self.http_url}/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(probe=healthy, seconds=30, what=f"node {self.name} did not start ({self.log})")

    def api(self) -> httpx.AsyncClient:
        """An API client of this node, with the cluster's token."""
        assert self.token is not None
        return httpx.AsyncClient(base_url=self.http_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    async def kill(self) -> None:
        """kill -9: the node gets no chance to tidy up."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.kill()


@dataclass
class Cluster:
    """Nodes on one database and one Redis; `nodes["A"]` etc."""

    database_url: str
    redis: RedisServer
    directory: Path
    nodes: dict[str, ClusterNode] = field(default_factory=dict)
    token: str | None = None
    secret_key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def environment(self, name: str, extra: dict[str, str]) -> dict[str, str]:
        return {
            **os.environ,
            "VOLTLINE_DATABASE_URL": self.database_url,
            "VOLTLINE_REDIS_URL": self.redis.url,
            "VOLTLINE_NODE_ID": name,
            "VOLTLINE_SECRET_KEY": self.secret_key,
            "VOLTLINE_AUTO_REGISTER": "true",
            "VOLTLINE_LOG_LEVEL": "INFO",
            **extra,
        }

    async def start(self, *names: str, args: tuple[str, ...] = (), **settings: str) -> list[ClusterNode]:
        """Start nodes (the first alone, so that it migrates the database; the rest together).
        `settings` are Voltline settings by name, e.g. call_timeout="2"; `args` more options of
        `voltline serve`."""
        extra = {f"VOLTLINE_{key.upper()}": value for key, value in settings.items()}
        started = [
            ClusterNode(name, self.environment(name, extra), self.directory / f"node-{name}.log", args=args)
            for name in names
        ]
        for node in started:
            self.nodes[node.name] = node
        pending = list(started)
        if self.token is None:
            first = pending.pop(0)
            await first.start()
            self.token = await self._create_token(first.env)
            first.token = self.token
        await asyncio.gather(*(node.start() for node in pending))
        for node in pending:
            node.token = self.token
        return started

    async def _create_token(self, env: dict[str, str]) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "voltline", "token", "create", "--name", "cluster-tests",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode().strip().splitlines()[-1]

    async def stop(self) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes.values()))

    def logs(self) -> str:
        return "\n".join(
            f"--- node {node.name} ---\n{node.log.read_text()[-4000:]}" for node in self.nodes.values() if node.log.exists()
        )


async def until(
    probe: Callable[[], Awaitable[bool]], *, seconds: float = 10, what: str = "the condition did not hold"
) -> None:
    """Wait for `await probe()` to be true (polling), or fail the test saying `what`."""
    await _until(probe=probe, seconds=seconds, what=what)


async def cluster_of(database_url: str, directory: Path) -> AsyncIterator[Cluster]:
    redis = RedisServer(directory)
    await redis.start()
    cluster = Cluster(database_url, redis, directory)
    try:
        yield cluster
    finally:
        await cluster.stop()
        await redis.stop()
