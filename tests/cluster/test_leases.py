"""The cluster's jobs (the reservation expiry sweep, the message log's retention) run on one
node at a time each, and another node takes a job over when its node is killed."""

from __future__ import annotations

import redis.asyncio as aioredis

from tests.cluster.harness import Cluster, until

JOBS = ("reservation_expiry", "message_log_retention")


def _runs(job: str) -> str:
    return f"{job}: this node holds the lease and runs the job"


async def test_each_job_runs_on_one_node_and_fails_over_when_it_is_killed(cluster: Cluster) -> None:
    nodes = await cluster.start("A", "B", "C", cluster_lease_seconds="2")
    redis = aioredis.Redis.from_url(cluster.redis.url)
    try:
        async def holders() -> dict[str, str | None]:
            found = {job: await redis.get(f"voltline:lock:{job}") for job in JOBS}
            return {job: None if holder is None else holder.decode() for job, holder in found.items()}

        async def all_held() -> bool:
            return None not in (await holders()).values()

        await until(all_held, seconds=10, what="a job's lease taken by no node")
        first = await holders()
        for job, holder in first.items():
            assert [node.name for node in nodes if _runs(job) in node.log.read_text()] == [holder]

        killed = first["message_log_retention"]
        await cluster.nodes[killed].kill()

        async def taken_over() -> bool:
            now = await holders()
            return all(holder is not None and holder != killed for holder in now.values())

        await until(taken_over, seconds=15, what="no other node took the jobs over from the killed one")
        for job, successor in (await holders()).items():
            running = [node.name for node in nodes if node.name != killed and _runs(job) in node.log.read_text()]
            assert running == [successor]
    finally:
        await redis.aclose()


async def test_a_job_that_fails_gives_its_lease_up_and_is_started_again() -> None:
    import asyncio
    import contextlib
    import os
    import uuid

    from voltline.cluster.connection import Keys, connect
    from voltline.cluster.leases import LeasedJob

    keys = Keys(prefix=f"voltline-test-{uuid.uuid4().hex[:8]}:")
    redis = connect(os.environ.get("VOLTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379"))
    starts = 0
    running = asyncio.Event()

    async def job() -> None:
        nonlocal starts
        starts += 1
        if starts == 1:
            raise RuntimeError("the database went away under the job")
        running.set()
        await asyncio.Event().wait()

    leased = asyncio.create_task(LeasedJob(redis, "flaky", "N1", job, lease_seconds=0.6, keys=keys).run())
    try:
        await asyncio.wait_for(running.wait(), 10)  # not left dead behind a lease it keeps renewing
        assert starts == 2
        assert await redis.get(keys.lock("flaky")) == b"N1"
    finally:
        leased.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await leased
        assert await redis.get(keys.lock("flaky")) is None  # a stop gives the lease up
        await redis.aclose()
