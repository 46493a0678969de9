"""`voltline serve --workers N`: N nodes of one cluster sharing the OCPP and HTTP ports."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from tests.cluster.harness import Cluster, until
from tests.ocpp_client import OcppClient
from voltline.cluster.connection import Keys, connect
from voltline.cluster.presence import Presence

CHARGE_POINTS = 16


async def test_workers_without_redis_refuse_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VOLTLINE_REDIS_URL", "VOLTLINE_CONFIG")}
    env["VOLTLINE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'voltline.db'}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "serve", "--workers", "2", "--port", "0", "--ocpp-port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "need redis_url" in err.decode(), err.decode()
    assert not (tmp_path / "voltline.db").exists()  # refused before anything was done


async def test_two_workers_share_both_ports_and_stop_together(cluster: Cluster) -> None:
    (node,) = await cluster.start("W", args=("--workers", "2"), presence_expiry="30")
    redis = connect(cluster.redis.url)
    watcher = Presence(redis, "test", 30, Keys())
    clients: list[OcppClient] = []
    try:

        async def both_alive() -> bool:
            return all([await redis.exists(Keys().node(name)) for name in ("W-1", "W-2")])

        await until(both_alive, seconds=30, what="the two workers did not both join the cluster")
        for number in range(CHARGE_POINTS):  # a new TCP connection each: the kernel spreads them
            client = await OcppClient.connect(f"{node.ocpp_url}/CP-W{number}")
            await client.boot()
            clients.append(client)

        async def holders() -> set[str] | None:
            found = set()
            for number in range(CHARGE_POINTS):
                holder = await watcher.holder(f"CP-W{number}")
                if holder is None:
                    return None
                found.add(holder.node)
            return found

        async def all_recorded() -> bool:
            return await holders() is not None

        await until(all_recorded, what="not every charge point's presence was recorded")
        assert await holders() == {"W-1", "W-2"}
        for client in clients:  # each served where it landed
            await client.ok("Heartbeat", {})

        # The HTTP port too: each new connection may reach either worker, each answers.
        answered: set[str] = set()
        for _ in range(200):
            async with httpx.AsyncClient(base_url=node.http_url, headers={"Connection": "close"}) as http:
                answered.add((await http.get("/health")).json()["node"])
            if len(answered) == 2:
                break
        assert answered == {"W-1", "W-2"}
        async with node.api() as api:
            listed = (await api.get("/api/v1/charge-points", params={"limit": 100})).json()
        items = listed["items"] if isinstance(listed, dict) else listed
        assert {cp["id"] for cp in items if cp["connected"]} == {f"CP-W{n}" for n in range(CHARGE_POINTS)}

        assert node.process is not None
        node.process.terminate()  # to the parent, which passes it on
        assert await asyncio.wait_for(node.process.wait(), 60) == 0  # a bound for a loaded machine
        for client in clients:
            await asyncio.wait_for(client.ws.wait_closed(), 10)
        assert client.ws.close_code == 1001  # each closed as a stopping server closes
        # Both left the cluster as they stopped, instead of living on in Redis for 30 s.
        assert not await redis.exists(Keys().node("W-1"), Keys().node("W-2"))
        assert [await watcher.holder(f"CP-W{n}") for n in range(CHARGE_POINTS)] == [None] * CHARGE_POINTS
    finally:
        await redis.aclose()
        for client in clients:
            await client.close()
