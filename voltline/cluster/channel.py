"""A Redis pub/sub channel used both ways by every node (the events relay, cache invalidation).

Publishing never blocks the caller: payloads wait in a bounded outbox, the oldest dropped while
Redis is away, and go out in order on one connection. The subscription is taken again whenever
Redis comes back; `on_subscribed` runs after each subscription, the first included, for what a
node may have missed while it was not subscribed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from voltline.cluster.connection import REDIS_DOWN

RETRY_S = 1.0  # wait between attempts while Redis is away
OUTBOX = 10_000  # payloads kept while Redis is away


class Channel:
    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        on_message: Callable[[bytes], Awaitable[None]],
        *,
        log: logging.Logger,
        on_subscribed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._redis = redis
        self.name = name
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._log = log
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(OUTBOX)
        self.dropped = 0  # payloads the full outbox gave up

    def publish(self, payload: bytes) -> None:
        if self._outbox.full():
            self._outbox.get_nowait()
            self.dropped += 1
        self._outbox.put_nowait(payload)

    async def run(self) -> None:
        """Both directions until cancelled; each lives through Redis going away and coming back."""
        await asyncio.gather(self._send(), self._receive())

    async def _send(self) -> None:
        while True:
            payload = await self._outbox.get()
            while True:
                try:
                    await self._redis.publish(self.name, payload)
                    break
                except REDIS_DOWN as exc:
                    self._log.warning("cannot publish to Redis on %s (%s); retrying", self.name, exc)
                    await asyncio.sleep(RETRY_S)

    async def _receive(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.name)
                if self._on_subscribed is not None:
                    await self._on_subscribed()
                self._log.info("subscribed to %s", self.name)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        await self._on_message(message["data"])
            except REDIS_DOWN as exc:
                self._log.warning("Redis subscription to %s lost (%s); resubscribing", self.name, exc)
                await asyncio.sleep(RETRY_S)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001 - the connection is already gone
                    pass
