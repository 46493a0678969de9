"""Presence between real nodes: each node records the charge points it holds in Redis, and the
charge points of a node that was killed are shown offline by the nodes that live on."""

from __future__ import annotations

import asyncio

import redis.exceptions as redis_errors

from tests.cluster.harness import Cluster, until
from tests.ocpp_client import OcppClient
from voltline.cluster.connection import Keys, connect
from voltline.cluster.presence import Presence

EXPIRY = 1.0


async def connected(node, identity: str) -> bool:  # type: ignore[no-untyped-def]
    async with node.api() as api:
        response = await api.get(f"/api/v1/charge-points/{identity}")
        return response.status_code == 200 and response.json()["connected"] is True


async def test_a_killed_nodes_charge_points_go_offline_and_the_survivors_keep_theirs(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    on_a = await OcppClient.connect(f"{a.ocpp_url}/CP-ON-A")
    await on_a.boot()
    on_b = await OcppClient.connect(f"{b.ocpp_url}/CP-ON-B")
    await on_b.boot()
    redis = connect(cluster.redis.url)
    watcher = Presence(redis, "test", EXPIRY, Keys())
    try:

        async def held_by(identity: str, node: str) -> bool:
            holder = await watcher.holder(identity)
            return holder is not None and holder.node == node and holder.version == "1.6"

        await until(lambda: held_by("CP-ON-A", "A"), what="A did not record that it holds CP-ON-A")
        await until(lambda: held_by("CP-ON-B", "B"), what="B did not record that it holds CP-ON-B")
        assert await connected(b, "CP-ON-A")

        await a.kill()
        # Within twice the expiry (the margin is the test machine's, not the design's).
        await until(lambda: _not(connected(b, "CP-ON-A")), seconds=2 * EXPIRY + 8, what="CP-ON-A still shown connected")
        assert await watcher.holder("CP-ON-A") is None
        assert await connected(b, "CP-ON-B")
        assert await held_by("CP-ON-B", "B")
    finally:
        await redis.aclose()
        await on_a.close()
        await on_b.close()


async def test_presence_is_written_again_by_itself_after_redis_restarts(cluster: Cluster) -> None:
    (a,) = await cluster.start("A", presence_expiry=str(EXPIRY))
    client = await OcppClient.connect(f"{a.ocpp_url}/CP-KEPT")
    await client.boot()
    redis = connect(cluster.redis.url)
    watcher = Presence(redis, "test", EXPIRY, Keys())
    try:

        async def held() -> bool:
            try:
                holder = await watcher.holder("CP-KEPT")
            except redis_errors.ConnectionError:
                return False  # this client's connection to the Redis that went away
            return holder is not None and holder.node == "A"

        await until(held, what="A did not record CP-KEPT")
        await cluster.redis.stop()
        await client.ok("Heartbeat", {})  # served here while Redis is away
        await cluster.redis.start()
        await until(held, seconds=15, what="A did not write its presence again after Redis returned")
        assert await connected(a, "CP-KEPT")
    finally:
        await redis.aclose()
        await client.close()


async def _not(probe) -> bool:  # type: ignore[no-untyped-def]
    return not await probe


async def test_two_connections_of_one_charge_point_to_two_nodes_end_with_the_newer_one(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    first = await OcppClient.connect(f"{a.ocpp_url}/CP-TWICE")
    await first.boot()
    redis = connect(cluster.redis.url)
    watcher = Presence(redis, "test", EXPIRY, Keys())
    try:

        async def held_by(node: str) -> bool:
            holder = await watcher.holder("CP-TWICE")
            return holder is not None and holder.node == node

        await until(lambda: held_by("A"), what="A did not record CP-TWICE")
        second = await OcppClient.connect(f"{b.ocpp_url}/CP-TWICE")
        await second.boot()
        await asyncio.wait_for(first.ws.wait_closed(), 10)  # A closed the old connection
        await until(lambda: held_by("B"), what="B does not hold CP-TWICE")
        await second.ok("Heartbeat", {})
        # A's close of the old connection did not mark the charge point offline.
        await asyncio.sleep(2 * EXPIRY)
        assert await connected(a, "CP-TWICE") and await connected(b, "CP-TWICE")
        assert await held_by("B")
        await second.close()
    finally:
        await redis.aclose()
        await first.close()
