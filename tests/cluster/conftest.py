"""Fixtures of the cluster tests: `cluster` gives a Cluster (tests/cluster/harness.py) on a
PostgreSQL database and a Redis server of the test's own; the test starts the nodes it needs."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.harness import REDIS_SERVER, Cluster, cluster_of
from tests.conftest import own_postgres_database
from voltline.cluster.connection import Keys, connect


# The machine's Redis, for tests of one part against it (each under a key prefix of its own).
REDIS_URL = os.environ.get("VOLTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
async def keys() -> AsyncIterator[Keys]:
    """A key prefix of the test's own on the machine's Redis; its keys are deleted after."""
    keys = Keys(prefix=f"voltline-test-{uuid.uuid4().hex[:8]}:")
    yield keys
    redis = connect(REDIS_URL)
    try:
        async for key in redis.scan_iter(match=f"{keys.prefix}*"):
            await redis.delete(key)
    finally:
        await redis.aclose()


@pytest.fixture
async def cluster_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database: nodes migrate it as they would a new installation."""
    async with own_postgres_database("voltline_cluster") as url:
        yield url


@pytest.fixture
async def cluster(cluster_database: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    if REDIS_SERVER is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI for the cluster tests")
        pytest.skip("no redis-server on PATH")
    async for running in cluster_of(cluster_database, tmp_path):
        yield running
        print(running.logs())  # pytest shows it only for a test that failed
