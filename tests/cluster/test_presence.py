"""Presence fenced by connection epochs, on the real Redis (tests/conftest.py's REDIS_URL)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from voltline.cluster.connection import Keys, connect
from voltline.cluster.presence import Holder, Presence

from tests.cluster.conftest import REDIS_URL


@pytest.fixture
async def nodes(keys: Keys) -> AsyncIterator[tuple[Presence, Presence]]:
    redis = connect(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # noqa: BLE001 - unreachable Redis, whatever the reason
        await redis.aclose()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    a, b = Presence(redis, "A", 0.5, keys), Presence(redis, "B", 0.5, keys)
    await a.alive()
    await b.alive()
    yield a, b
    await redis.aclose()


async def test_a_newer_connection_elsewhere_is_never_overwritten_nor_deleted_by_the_old_one(
    nodes: tuple[Presence, Presence],
) -> None:
    a, b = nodes
    old = await a.claim("CP1", "1.6")
    new = await b.claim("CP1", "2.0.1")
    assert new > old
    assert await a.holder("CP1") == Holder("B", new, "2.0.1")

    assert not await a.release("CP1", old)  # the old node's disconnect
    assert not await a.reassert("CP1", old, "1.6")  # nor its re-registration after a Redis restart
    assert await b.holder("CP1") == Holder("B", new, "2.0.1")

    assert await b.release("CP1", new)
    assert await a.holder("CP1") is None


async def test_presence_comes_back_after_redis_lost_it_and_epochs_keep_rising(
    nodes: tuple[Presence, Presence], keys: Keys,
) -> None:
    a, b = nodes
    epoch = await a.claim("CP2", "1.6")
    redis = connect(REDIS_URL)
    await redis.delete(keys.presence("CP2"), keys.epoch("CP2"))  # as a Redis restarted empty
    await redis.aclose()
    assert await b.holder("CP2") is None

    assert await a.reassert("CP2", epoch, "1.6")
    assert await b.holder("CP2") == Holder("A", epoch, "1.6")
    assert await b.claim("CP2", "1.6") > epoch  # the counter was raised with the record


async def test_a_dead_node_holds_nothing_and_one_survivor_marks_its_charge_points_offline(
    nodes: tuple[Presence, Presence],
) -> None:
    a, b = nodes
    await a.claim("CP3", "1.6")
    epoch_b = await b.claim("CP4", "1.6")
    marked: list[str] = []

    async def mark(node: str) -> None:
        marked.append(node)

    await asyncio.sleep(0.3)
    await b.alive()  # B lives on; A stops refreshing
    await asyncio.sleep(0.3)
    assert await b.holder("CP3") is None
    assert await b.dead_nodes() == ["A"]

    assert await b.sweep(mark, lease=5) == ["A"]
    assert await b.sweep(mark, lease=5) == []  # the lease: one sweep at a time
    assert marked == ["A"]
    assert await b.holder("CP4") == Holder("B", epoch_b, "1.6")
