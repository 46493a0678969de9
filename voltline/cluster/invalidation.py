"""Cache invalidation between nodes: what one node changes, the others forget at once.

Each node keeps caches in memory (the handshake's registry of charge points, checked API
tokens). A change on one node is announced on a Redis channel as (kind, key); every other node
runs the handler of that kind. Messages sent while a node was not subscribed are lost, so on
every subscription, the first one included, each kind's full reload runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from voltline.cluster.channel import Channel
from voltline.cluster.connection import Keys

log = logging.getLogger("voltline.cluster.invalidation")



@dataclass(slots=True, frozen=True)
class Cache:
    """How a node brings one kind of cache up to date: one key, or all of it."""

    refresh: Callable[[str], Awaitable[None]]
    reload: Callable[[], Awaitable[None]]


class Invalidations:
    def __init__(self, redis: aioredis.Redis, node_id: str, keys: Keys = Keys()) -> None:
        self._node_id = node_id
        self._caches: dict[str, Cache] = {}
        # Subscribed first, reloaded next: what was announced before the subscription (while
        # this node was away, or while it started after loading its caches) is in the reload,
        # and nothing announced after it is missed.
        self._channel = Channel(
            redis, keys.channel("invalidate"), self._received, log=log, on_subscribed=self._reload_all
        )

    def register(self, kind: str, cache: Cache) -> None:
        self._caches[kind] = cache

    def announce(self, kind: str, key: str) -> None:
        """This node changed `key`: the others refresh it. Never blocks the caller (the reload
        after Redis returns covers what a full outbox drops)."""
        self._channel.publish(orjson.dumps({"node": self._node_id, "kind": kind, "key": key}))

    async def run(self) -> None:
        await self._channel.run()

    async def _reload_all(self) -> None:
        for kind, cache in self._caches.items():
            try:
                await cache.reload()
            except Exception:
                log.exception("invalidations: reloading %s failed", kind)

    async def _received(self, payload: bytes) -> None:
        body = orjson.loads(payload)
        cache = self._caches.get(body["kind"])
        if body["node"] == self._node_id or cache is None:
            return
        try:
            await cache.refresh(body["key"])
        except Exception:
            log.exception("invalidations: refreshing %s %s failed", body["kind"], body["key"])
