"""Fixtures of the cluster tests: `cluster` gives a Cluster (tests/cluster/harness.py) on a
PostgreSQL database and a Redis server of the test's own; the test starts the nodes it needs."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.harness import REDIS_SERVER, Cluster, cluster_of
from tests.conftest import POSTGRES_URL, _postgres_unavailable, postgres_admin


@pytest.fixture
async def cluster_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database: nodes migrate it as they would a new installation."""
    name = f"voltline_cluster_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        await postgres_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL means the same
        _postgres_unavailable(str(exc).splitlines()[0])
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def cluster(cluster_database: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    if REDIS_SERVER is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI for the cluster tests")
        pytest.skip("no redis-server on PATH")
    async for running in cluster_of(cluster_database, tmp_path):
        yield running
        print(running.logs())  # pytest shows it only for a test that failed
