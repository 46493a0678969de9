"""A cluster job (the reservation expiry sweep) runs on one node at a time, and another node
takes it over when its node is killed."""

from __future__ import annotations

import redis.asyncio as aioredis

from tests.cluster.harness import Cluster, until

RUNS = "reservation_expiry: this node holds the lease and runs the job"


async def test_the_sweep_runs_on_one_node_and_fails_over_when_it_is_killed(cluster: Cluster) -> None:
    nodes = await cluster.start("A", "B", cluster_lease_seconds="2")
    redis = aioredis.Redis.from_url(cluster.redis.url)
    try:
        async def held() -> bool:
            return await redis.get("voltline:lock:reservation_expiry") is not None

        await until(held, seconds=10, what="no node took the reservation expiry lease")
        holder = (await redis.get("voltline:lock:reservation_expiry")).decode()
        running = [node.name for node in nodes if RUNS in node.log.read_text()]
        assert running == [holder]

        await cluster.nodes[holder].kill()

        async def taken_over() -> bool:
            now = await redis.get("voltline:lock:reservation_expiry")
            return now is not None and now.decode() != holder

        await until(taken_over, seconds=15, what="no other node took the job over from the killed one")
        successor = (await redis.get("voltline:lock:reservation_expiry")).decode()
        running = [node.name for node in nodes if node.name != holder and RUNS in node.log.read_text()]
        assert running == [successor]
    finally:
        await redis.aclose()
