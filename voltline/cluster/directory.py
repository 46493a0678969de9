"""This node's view of which other node holds each charge point's connection.

The API asks synchronously whether a charge point is connected, which OCPP version it speaks and
which actions it takes; for a charge point held by another node the answer comes from here, a
dictionary lookup. The view follows the presence channel, on which every change of a presence
record is published by the script that makes it (presence.py), and loads every record again
whenever it (re)subscribes, so that a change missed while Redis was away is not kept. A record
counts only while its node lives (the nodes' liveness keys, read every interval).

A command is not sent on this view's word alone: the command link reads the record from Redis
before sending (see commands.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
import redis.asyncio as aioredis

from voltline.cluster.connection import REDIS_DOWN, Keys
from voltline.cluster.presence import Holder

log = logging.getLogger("voltline.cluster.directory")

RETRY_S = 1.0
BATCH = 500


class Directory:
    def __init__(self, redis: aioredis.Redis, node_id: str, interval: float, keys: Keys | None = None) -> None:
        self._redis = redis
        self._node_id = node_id
        self._keys = keys or Keys()
        self._interval = interval
        self._records: dict[str, Holder] = {}
        self._live: set[str] = set()

    def lookup(self, identity: str) -> Holder | None:
        """The live node other than this one that holds the charge point, as last heard."""
        holder = self._records.get(identity)
        if holder is None or holder.node == self._node_id or holder.node not in self._live:
            return None
        return holder

    def __len__(self) -> int:
        return len(self._records)

    def apply(self, change: list[Any]) -> None:
        """One published change; changes of one charge point come in order, epochs fence the rest."""
        if change[0] == "c":
            _, identity, node, epoch, version = change
            current = self._records.get(identity)
            if current is None or current.epoch <= epoch:
                self._records[identity] = Holder(node, int(epoch), version)
                self._live.add(node)  # it claimed just now: it lives
        elif change[0] == "r":
            _, identity, epoch = change
            current = self._records.get(identity)
            if current is not None and current.epoch <= epoch:
                del self._records[identity]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._keys.channel("presence"))
                # Subscribed first, loaded next: a change made during the load is applied after it,
                # in order, so nothing made after the subscription is lost.
                await self._load()
                refresh = loop.time() + self._interval
                while True:
                    message = await pubsub.get_message(timeout=min(1.0, self._interval))
                    if message is not None and message["type"] == "message":
                        self.apply(orjson.loads(message["data"]))
                    if loop.time() >= refresh:
                        await self._refresh_nodes()
                        refresh = loop.time() + self._interval
            except REDIS_DOWN as exc:
                log.warning("directory: Redis away (%s); loading presence again when it answers", exc)
                await asyncio.sleep(RETRY_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _load(self) -> None:
        prefix = self._keys.presence("")
        records: dict[str, Holder] = {}
        keys: list[bytes] = []

        async def read(batch: list[bytes]) -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.hgetall(key)
                for key, record in zip(batch, await pipe.execute(), strict=True):
                    if record:
                        identity = key.decode()[len(prefix):]
                        records[identity] = Holder(record[b"node"].decode(), int(record[b"epoch"]), record[b"version"].decode())

        async for key in self._redis.scan_iter(match=f"{prefix}*", count=1000):
            keys.append(key)
            if len(keys) >= BATCH:
                await read(keys)
                keys = []
        if keys:
            await read(keys)
        self._records = records
        await self._refresh_nodes()
        log.info("directory: %d charge points held by the nodes", len(records))

    async def _refresh_nodes(self) -> None:
        nodes = [n.decode() for n in await self._redis.smembers(f"{self._keys.prefix}nodes")]
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in nodes:
                pipe.exists(self._keys.node(node))
            alive = await pipe.execute()
        self._live = {node for node, exists in zip(nodes, alive, strict=True) if exists}
