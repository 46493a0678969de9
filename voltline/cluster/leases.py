"""Jobs that one node of a cluster runs at a time (the reservation expiry sweep): whichever node
holds the job's lease in Redis runs it, renewing the lease while it runs. A node that dies stops
renewing; once the lease lapses another node takes it and starts the job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis

from voltline.cluster.connection import REDIS_DOWN, Keys

log = logging.getLogger("voltline.cluster.leases")

# Extended only by its holder: a lease another node took meanwhile is left alone.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class LeasedJob:
    def __init__(
        self, redis: aioredis.Redis, name: str, node_id: str, job: Callable[[], Coroutine[Any, Any, None]],
        lease_seconds: float, keys: Keys = Keys(),
    ) -> None:
        self._redis = redis
        self._name = name
        self._key = keys.lock(name)
        self._node_id = node_id
        self._job = job
        self._ttl_ms = int(lease_seconds * 1000)
        self._every = lease_seconds / 3  # renewed twice before it could lapse

    async def _take(self) -> bool:
        try:
            return bool(await self._redis.set(self._key, self._node_id, nx=True, px=self._ttl_ms))
        except REDIS_DOWN:
            return False

    async def _renew(self) -> bool:
        return bool(await self._redis.eval(_RENEW, 1, self._key, self._node_id, self._ttl_ms))

    async def run(self) -> None:
        while True:
            if not await self._take():
                await asyncio.sleep(self._every)
                continue
            log.info("%s: this node holds the lease and runs the job", self._name)
            job = asyncio.create_task(self._job())
            hold = asyncio.create_task(self._hold())
            try:
                await asyncio.wait([job, hold], return_when=asyncio.FIRST_COMPLETED)
            finally:
                await _stopped(hold)  # releases the lease if this node still has it
                await _stopped(job)
            if hold.done() and not hold.cancelled():
                log.info("%s: lease lost; the job stopped on this node", self._name)
            else:  # the job ended by itself: the lease went with it, and the job starts again
                log.warning("%s: the job ended; its lease is given up and taken again", self._name)
                await asyncio.sleep(self._every)

    async def _hold(self) -> None:
        """Renew until the lease is another's, or could have lapsed while Redis was away."""
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        try:
            while True:
                await asyncio.sleep(self._every)
                try:
                    if not await self._renew():
                        return
                    renewed = loop.time()
                except REDIS_DOWN:
                    if loop.time() - renewed >= self._ttl_ms / 1000:
                        return
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.eval(_RELEASE, 1, self._key, self._node_id), 1.0)
            raise


async def _stopped(job: asyncio.Task[None]) -> None:
    """Cancel `job` and wait for it; its own end (cancelled, or failed) is swallowed, a
    cancellation of the caller is not."""
    job.cancel()
    try:
        await job
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception:
        log.exception("a leased job failed")
