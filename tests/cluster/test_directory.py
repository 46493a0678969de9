"""A node's Directory of who holds which charge point, on the real Redis: it follows every
presence change as published by the scripts, and counts a record only while its node lives."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest

from tests.cluster.harness import until
from voltline.cluster.connection import Keys, connect
from voltline.cluster.directory import Directory
from voltline.cluster.presence import Holder, Presence

from tests.cluster.conftest import REDIS_URL
EXPIRY = 30.0  # no liveness runs out by itself here: the test removes A's
INTERVAL = 0.2


async def test_the_directory_follows_claims_takeovers_releases_and_dead_nodes(keys: Keys) -> None:
    redis = connect(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # noqa: BLE001 - unreachable Redis, whatever the reason
        await redis.aclose()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    a, b, c = (Presence(redis, name, EXPIRY, keys) for name in "ABC")
    for node in (a, b, c):
        await node.alive()
    await a.claim("CP-BEFORE", "1.6")  # held before the directory starts: found by its load
    directory = Directory(redis, "C", INTERVAL, keys)
    running = asyncio.create_task(directory.run())
    try:
        await until(lambda: _is(directory.lookup("CP-BEFORE"), "A"), what="the load did not find CP-BEFORE")
        first = await a.claim("CP-1", "1.6")
        await until(lambda: _is(directory.lookup("CP-1"), "A"), what="the claim was not followed")
        second = await b.claim("CP-1", "2.0.1")  # a takeover
        await until(lambda: _is(directory.lookup("CP-1"), "B"), what="the takeover was not followed")
        assert directory.lookup("CP-1") == Holder("B", second, "2.0.1")
        assert not await a.release("CP-1", first)  # the old connection's release changes nothing
        # Changes come in order: once a later one is seen, the stale release would have been too.
        marker = await b.claim("CP-MARK", "1.6")
        await until(lambda: _is(directory.lookup("CP-MARK"), "B"), what="the marker was not followed")
        assert directory.lookup("CP-1") == Holder("B", second, "2.0.1")
        await b.release("CP-MARK", marker)
        await b.release("CP-1", second)
        await until(lambda: _none(directory.lookup("CP-1")), what="the release was not followed")
        await c.claim("CP-HERE", "1.6")
        await until(lambda: _has(directory, 2), what="C's own claim was not recorded")
        assert directory.lookup("CP-HERE") is None  # this node's own charge points are the gateway's

        # A stops refreshing its liveness: its charge point counts no more, then is swept.
        await redis.delete(keys.node("A"))
        await until(lambda: _none(directory.lookup("CP-BEFORE")), what="a dead node's charge point still counted")
        await b.alive()
        assert await b.sweep(_nothing, lease=1.0) == ["A"]
        await until(lambda: _has(directory, 1), what="the sweep was not followed")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await redis.aclose()


async def _nothing(node: str) -> None:
    return None


async def _is(holder: Holder | None, node: str) -> bool:
    return holder is not None and holder.node == node


async def _none(holder: Holder | None) -> bool:
    return holder is None


async def _has(directory: Directory, count: int) -> bool:
    return len(directory) == count
