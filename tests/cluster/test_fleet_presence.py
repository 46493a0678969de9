"""A fleet connecting to a node at once is recorded whole in the cluster's presence: claims go to
Redis in batches, and a connection Redis did not take is claimed again, so that every charge
point can be reached from the other nodes."""

from __future__ import annotations

import asyncio

from tests.cluster.harness import Cluster, until
from tests.ocpp_client import OcppClient
from voltline.cluster.connection import Keys, connect

FLEET = 300  # well past the 100 connections a Redis client's pool opened at most before


async def test_every_charge_point_of_a_fleet_connecting_at_once_is_held_in_presence(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B")
    clients = await asyncio.gather(*(OcppClient.connect(f"{a.ocpp_url}/FLEET-{n:03d}") for n in range(FLEET)))
    redis = connect(cluster.redis.url)
    prefix = Keys().presence("")
    try:
        async def recorded() -> set[str]:
            return {key.decode()[len(prefix):] async for key in redis.scan_iter(match=f"{prefix}*", count=1000)}

        async def all_recorded() -> bool:
            return len(await recorded()) == FLEET

        await until(all_recorded, seconds=30, what=f"not all {FLEET} connections recorded in presence")
        assert await recorded() == {f"FLEET-{n:03d}" for n in range(FLEET)}
        holders = [await redis.hget(f"{prefix}FLEET-{n:03d}", "node") for n in (0, FLEET // 2, FLEET - 1)]
        assert holders == [b"A"] * 3

        async def shown_connected_on_b() -> bool:
            async with b.api() as api:
                answers = [await api.get(f"/api/v1/charge-points/FLEET-{n:03d}") for n in (0, FLEET - 1)]
            return all(r.status_code == 200 and r.json()["connected"] is True for r in answers)

        await until(shown_connected_on_b, seconds=15, what="node B does not show the fleet on A as connected")
    finally:
        await redis.aclose()
        await asyncio.gather(*(client.close() for client in clients))
