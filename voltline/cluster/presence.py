"""Which node holds each charge point's connection, in Redis (DESIGN §7).

A connection takes the next number of its charge point's epoch as it is claimed; the presence
record (node, epoch, OCPP version) is only ever changed by a script that compares epochs, so a
node whose connection was taken over elsewhere can neither overwrite nor delete the newer
record. A node's liveness key expires unless the node refreshes it: a record naming a node whose
key is gone is held by no one, and the nodes that live sweep the dead node's charge points.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from voltline.cluster.connection import Keys

# Every change of a record is published, in the script that makes it, on the presence channel:
# ["c", identity, node, epoch, version] (held) or ["r", identity, epoch] (gone), so that each
# node's Directory follows every change in order.

# KEYS: epoch, presence. ARGV: node, version, channel, identity. The new connection's epoch and
# the node that held the charge point before ('' for none).
_CLAIM = """
local before = redis.call('HGET', KEYS[2], 'node') or ''
local epoch = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 'node', ARGV[1], 'epoch', epoch, 'version', ARGV[2])
redis.call('PUBLISH', ARGV[3], cjson.encode({'c', ARGV[4], ARGV[1], epoch, ARGV[2]}))
return {epoch, before}
"""

# KEYS: presence. ARGV: epoch, channel, identity. 1 when the record was this connection's and is
# gone now.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], cjson.encode({'r', ARGV[3], tonumber(ARGV[1])}))
  return 1
end
return 0
"""

# KEYS: epoch, presence. ARGV: node, epoch, version, channel, identity. After Redis lost its data: the record is
# written again unless a newer connection wrote its own; the counter is raised to at least ours.
# 1 when this connection holds the charge point.
_REASSERT = """
local current = tonumber(redis.call('HGET', KEYS[2], 'epoch') or '0')
local ours = tonumber(ARGV[2])
if current > ours then return 0 end
if tonumber(redis.call('GET', KEYS[1]) or '0') < ours then redis.call('SET', KEYS[1], ours) end
redis.call('HSET', KEYS[2], 'node', ARGV[1], 'epoch', ours, 'version', ARGV[3])
redis.call('PUBLISH', ARGV[4], cjson.encode({'c', ARGV[5], ARGV[1], ours, ARGV[3]}))
return 1
"""

# KEYS: presence. ARGV: dead node, channel, identity. Deleted only if the dead node still holds it.
_SWEEP = """
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], cjson.encode({'r', ARGV[3], epoch}))
  return 1
end
return 0
"""

# KEYS: presence. ARGV: liveness key prefix, this node. The record (node, epoch, version) if its
# node lives (or is this one), else nothing: one round trip for the command path.
_HOLDER = """
local record = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'version')
if not record[1] then return false end
if record[1] ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. record[1]) == 0 then return false end
return record
"""


@dataclass(frozen=True, slots=True)
class Holder:
    """The connection a node holds: which node, under which epoch, speaking which version."""

    node: str
    epoch: int
    version: str


class Presence:
    def __init__(self, redis: aioredis.Redis, node_id: str, expiry: float, keys: Keys | None = None) -> None:
        self._redis = self.redis = redis
        self._keys = keys or Keys()
        self.node_id = node_id
        self._expiry_ms = int(expiry * 1000)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._reassert = redis.register_script(_REASSERT)
        self._sweep = redis.register_script(_SWEEP)
        self._holder = redis.register_script(_HOLDER)

    @property
    def _nodes(self) -> str:
        return f"{self._keys.prefix}nodes"

    async def is_alive(self) -> bool:
        """Whether this node's liveness key is there (it is gone after Redis lost its data)."""
        return bool(await self._redis.exists(self._keys.node(self.node_id)))

    async def alive(self) -> None:
        """Refresh this node's liveness (call it several times per expiry)."""
        await self._redis.set(self._keys.node(self.node_id), b"1", px=self._expiry_ms)
        await self._redis.sadd(self._nodes, self.node_id)

    async def leave(self) -> None:
        """This node stops: its liveness goes now, not at its expiry."""
        await self._redis.delete(self._keys.node(self.node_id))
        await self._redis.srem(self._nodes, self.node_id)

    async def claim(self, identity: str, version: str) -> int:
        """This node holds the charge point's new connection; its epoch. The node that held it
        before, if another, is told to close its connection (a takeover)."""
        [epoch] = await self.claim_many([(identity, version)])
        return epoch

    async def claim_many(self, connections: list[tuple[str, str]]) -> list[int]:
        """`claim` for many (identity, version) pairs in one round trip (a fleet connecting at
        once), and the takeovers in a second one if there are any; their epochs, in order."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for identity, version in connections:
                keys = [self._keys.epoch(identity), self._keys.presence(identity)]
                await self._claim(keys=keys, args=[self.node_id, version, self.changes, identity], client=pipe)
            answers = await pipe.execute()
        epochs = [int(epoch) for epoch, _ in answers]
        taken = [
            (before.decode(), identity, epoch)
            for (identity, _), (_, before), epoch in zip(connections, answers, epochs, strict=True)
            if before and before.decode() != self.node_id
        ]
        if taken:
            async with self._redis.pipeline(transaction=False) as pipe:
                for node, identity, epoch in taken:
                    pipe.publish(self.takeovers(node), orjson.dumps([identity, epoch, self.node_id]))
                await pipe.execute()
        return epochs

    @property
    def changes(self) -> str:
        """The channel on which every change of a presence record is published (see the scripts)."""
        return self._keys.channel("presence")

    def takeovers(self, node_id: str) -> str:
        """The channel on which a node hears that its charge points connected elsewhere."""
        return self._keys.channel(f"takeover:{node_id}")

    async def release(self, identity: str, epoch: int) -> bool:
        """The connection of `epoch` closed: its record goes, unless a newer connection's replaced it."""
        return bool(await self._release(keys=[self._keys.presence(identity)], args=[epoch, self.changes, identity]))

    async def reassert(self, identity: str, epoch: int, version: str) -> bool:
        """Write the record again (Redis came back empty); False if a newer connection holds it."""
        keys = [self._keys.epoch(identity), self._keys.presence(identity)]
        return bool(await self._reassert(keys=keys, args=[self.node_id, epoch, version, self.changes, identity]))

    async def holder(self, identity: str) -> Holder | None:
        """The live node holding the charge point (None: no node, or one that stopped living)."""
        record = await self._holder(keys=[self._keys.presence(identity)], args=[self._keys.node(""), self.node_id])
        if not record:
            return None
        node, epoch, version = record
        return Holder(node.decode(), int(epoch), version.decode())

    async def dead_nodes(self) -> list[str]:
        """Nodes that registered once and whose liveness key has expired."""
        nodes = sorted(n.decode() for n in await self._redis.smembers(self._nodes))
        return [n for n in nodes if n != self.node_id and not await self._redis.exists(self._keys.node(n))]

    async def sweep(self, mark_offline: Callable[[str], Awaitable[object]], lease: float) -> list[str]:
        """Under a lease (one node at a time): each dead node's charge points marked offline by
        `mark_offline(node)` and their records deleted. The dead nodes swept."""
        lock = self._keys.lock("presence-sweep")
        if not await self._redis.set(lock, self.node_id.encode(), nx=True, px=int(lease * 1000)):
            return []
        swept = []
        for node in await self.dead_nodes():
            await mark_offline(node)
            prefix = self._keys.presence("")
            async for key in self._redis.scan_iter(match=f"{prefix}*", count=500):
                identity = key.decode()[len(prefix):]
                await self._sweep(keys=[key], args=[node, self.changes, identity])
            # Its command streams: what was left in them is answered by no one (the callers gave up).
            await self._redis.delete(self._keys.commands(node), self._keys.replies(node))
            await self._redis.srem(self._nodes, node)
            swept.append(node)
        return swept
