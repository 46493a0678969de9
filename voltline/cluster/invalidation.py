"""Cache invalidation between nodes: what one node changes, the others forget at once.

Each node keeps caches in memory (the handshake's registry of charge points, checked API
tokens). A change on one node is announced on a Redis channel as (kind, key); every other node
runs the handler of that kind. Messages sent while a node was not subscribed are lost, so on
every subscription, the first one included, each kind's full reload runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from voltline.cluster.connection import Keys

log = logging.getLogger("voltline.cluster.invalidation")

RETRY_S = 1.0
REDIS_DOWN = (aioredis.ConnectionError, aioredis.TimeoutError, OSError)


@dataclass(slots=True, frozen=True)
class Cache:
    """How a node brings one kind of cache up to date: one key, or all of it."""

    refresh: Callable[[str], Awaitable[None]]
    reload: Callable[[], Awaitable[None]]


class Invalidations:
    def __init__(self, redis: aioredis.Redis, node_id: str, keys: Keys = Keys()) -> None:
        self._redis = redis
        self._node_id = node_id
        self._channel = keys.channel("invalidate")
        self._caches: dict[str, Cache] = {}
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(10_000)

    def register(self, kind: str, cache: Cache) -> None:
        self._caches[kind] = cache

    def announce(self, kind: str, key: str) -> None:
        """This node changed `key`: the others refresh it. Never blocks the caller."""
        if self._outbox.full():
            self._outbox.get_nowait()  # the reload after Redis returns covers what is dropped
        self._outbox.put_nowait(orjson.dumps({"node": self._node_id, "kind": kind, "key": key}))

    async def run(self) -> None:
        await asyncio.gather(self._send(), self._receive())

    async def _send(self) -> None:
        while True:
            payload = await self._outbox.get()
            while True:
                try:
                    await self._redis.publish(self._channel, payload)
                    break
                except REDIS_DOWN as exc:
                    log.warning("invalidations: cannot publish to Redis (%s); retrying", exc)
                    await asyncio.sleep(RETRY_S)

    async def _reload_all(self) -> None:
        for kind, cache in self._caches.items():
            try:
                await cache.reload()
            except Exception:
                log.exception("invalidations: reloading %s failed", kind)

    async def _receive(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                # Subscribed first, reloaded next: what was announced before the subscription
                # (while this node was away, or while it started after loading its caches) is
                # in the reload, and nothing announced after it is missed.
                await self._reload_all()
                log.info("invalidations: subscribed to %s", self._channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message["type"] != "message":
                        continue
                    body = orjson.loads(message["data"])
                    cache = self._caches.get(body["kind"])
                    if body["node"] == self._node_id or cache is None:
                        continue
                    try:
                        await cache.refresh(body["key"])
                    except Exception:
                        log.exception("invalidations: refreshing %s %s failed", body["kind"], body["key"])
            except REDIS_DOWN as exc:
                log.warning("invalidations: Redis subscription lost (%s); resubscribing", exc)
                await asyncio.sleep(RETRY_S)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001 - the connection is already gone
                    pass
