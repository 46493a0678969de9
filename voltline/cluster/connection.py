"""The node's Redis client and the names of the keys it uses.

Every key starts with one prefix (`voltline:` by default), so that several systems, or a test's
own cluster, may share one Redis server without meeting each other's keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis


# Connections to Redis a node opens at most. Pub/sub subscriptions and blocking stream reads hold
# one each for as long as they run; every other call borrows one for its round trip, and a burst
# (a fleet connecting at once) waits for one to come back rather than failing.
POOL_SIZE = 64
POOL_WAIT_S = 5.0

# What a call raises while Redis is away (restarting, unreachable): the callers retry or give up.
REDIS_DOWN = (aioredis.ConnectionError, aioredis.TimeoutError, OSError)


def connect(url: str) -> aioredis.Redis:
    """A client that reconnects by itself: a Redis restart is lived through, never fatal.

    Replies are bytes (payloads are orjson); the socket timeouts bound how long a call can hang
    on a Redis that went away, so callers fail clearly instead of waiting."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_S,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=5,
        retry_on_timeout=False,
    )
    return aioredis.Redis.from_pool(pool)


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "voltline:"

    def node(self, node_id: str) -> str:
        """A node's liveness key: present (with an expiry it refreshes) while the node runs."""
        return f"{self.prefix}node:{node_id}"

    def presence(self, identity: str) -> str:
        """Which node holds the charge point's connection, under which connection epoch."""
        return f"{self.prefix}presence:{identity}"

    def epoch(self, identity: str) -> str:
        """The charge point's connection counter: each new connection takes the next number."""
        return f"{self.prefix}epoch:{identity}"

    def commands(self, node_id: str) -> str:
        """The stream of commands for the charge points a node holds."""
        return f"{self.prefix}commands:{node_id}"

    def replies(self, node_id: str) -> str:
        """The stream of answers to the commands a node sent to other nodes."""
        return f"{self.prefix}replies:{node_id}"

    def command(self, command_id: str) -> str:
        """A cross-node command's idempotency key: set by the first node that runs it."""
        return f"{self.prefix}command:{command_id}"

    def channel(self, name: str) -> str:
        """A publish/subscribe channel (events, invalidations)."""
        return f"{self.prefix}channel:{name}"

    def lock(self, job: str) -> str:
        """The lease of a job that one node at a time runs (retention, expiries)."""
        return f"{self.prefix}lock:{job}"
