"""The handshake's registry across nodes: a charge point registered, changed or deleted through
one node's API is accepted or refused accordingly by another node, without a restart."""

from __future__ import annotations

import websockets

from tests.cluster.harness import Cluster, until
from tests.ocpp_client import OcppClient

FIRST, SECOND = "first-password-0123", "second-password-0123"


async def _accepted(url: str, password: str) -> bool:
    try:
        client = await OcppClient.connect(url, password=password)
    except websockets.InvalidStatus:
        return False
    await client.close()
    return True


async def test_a_change_through_one_node_decides_the_handshake_on_another(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", auto_register="false")
    url = f"{b.ocpp_url}/CP-REG-1"
    assert not await _accepted(url, FIRST)  # unknown to both nodes
    async with a.api() as api:
        created = await api.post("/api/v1/charge-points", json={"id": "CP-REG-1", "password": FIRST, "security_profile": 1})
        assert created.status_code == 201, created.text

        async def registered_on_b() -> bool:
            return await _accepted(url, FIRST)

        await until(registered_on_b, seconds=3, what="node B did not accept a charge point registered on A")

        changed = await api.patch("/api/v1/charge-points/CP-REG-1", json={"password": SECOND})
        assert changed.status_code == 200, changed.text

        async def new_password_on_b() -> bool:
            return await _accepted(url, SECOND) and not await _accepted(url, FIRST)

        await until(new_password_on_b, seconds=3, what="node B did not take the password changed on A")

        # Redis restarted: messages may have been lost; the node reloads the registry.
        await cluster.redis.stop()
        await cluster.redis.start()
        deleted = await api.delete("/api/v1/charge-points/CP-REG-1")
        assert deleted.status_code == 204, deleted.text

        async def refused_on_b() -> bool:
            return not await _accepted(url, SECOND)

        await until(refused_on_b, seconds=15, what="node B still accepted a charge point deleted on A")
