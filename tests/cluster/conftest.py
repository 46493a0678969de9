"""Fixtures of the cluster tests: `cluster` gives a Cluster (tests/cluster/harness.py) on a
PostgreSQL database and a Redis server of the test's own; the test starts the nodes it needs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.harness import REDIS_SERVER, Cluster, cluster_of
from tests.conftest import own_postgres_database


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
