"""This node's part in the cluster's presence: it records the connections it holds as they come
and go, keeps itself alive, writes its records again when Redis comes back empty, and (one node
at a time) marks offline the charge points of nodes that died.

Redis being away never stops a connection: the records are written when it answers again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
import redis.exceptions

from voltline.cluster.connection import Keys
from voltline.cluster.presence import Presence

if TYPE_CHECKING:
    from voltline.gateway.server import ChargePointConnection

log = logging.getLogger("voltline.cluster")


class Membership:
    def __init__(
        self, presence: Presence, expiry: float, mark_offline: Callable[[str], Awaitable[object]],
        close: Callable[[ChargePointConnection], None], keys: Keys | None = None,
    ) -> None:
        self.presence = presence
        self._close = close  # closes a connection taken over elsewhere, leaving its state alone
        self._expiry = expiry
        self._mark_offline = mark_offline
        self._keys = keys or Keys()
        # What this node holds: identity → (epoch, version); epoch 0 until Redis gave one.
        self.held: dict[str, tuple[int, str]] = {}
        self._connections: dict[str, ChargePointConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the gateway's observer ---------------------------------------------------------------

    def attached(self, connection: ChargePointConnection) -> None:
        self._connections[connection.identity] = connection
        self.held[connection.identity] = (0, connection.version.label)
        self._spawn(self._claim(connection))

    def detached(self, connection: ChargePointConnection) -> None:
        if self._connections.get(connection.identity) is not connection:
            return  # a newer connection of this node holds it
        del self._connections[connection.identity]
        epoch, _ = self.held.pop(connection.identity, (0, ""))
        if epoch:
            self._spawn(self._release(connection.identity, epoch))

    async def _claim(self, connection: ChargePointConnection) -> None:
        try:
            epoch = await self.presence.claim(connection.identity, connection.version.label)
        except redis.exceptions.RedisError as exc:
            log.warning("could not record that %s is held here (%s); recorded when Redis answers", connection.identity, exc)
            return
        if self._connections.get(connection.identity) is connection:
            self.held[connection.identity] = (epoch, connection.version.label)
        else:
            await self._release(connection.identity, epoch)  # it closed meanwhile

    async def _release(self, identity: str, epoch: int) -> None:
        try:
            await self.presence.release(identity, epoch)
        except redis.exceptions.RedisError as exc:
            log.warning("could not remove the presence of %s (%s)", identity, exc)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Refresh liveness several times per expiry; after a gap (Redis restarted, or this
        node's key expired), write every record again; sweep the nodes that died."""
        interval = self._expiry / 3
        lost = True
        while True:
            try:
                was_alive = await self.presence.is_alive()
                await self.presence.alive()
                if lost or not was_alive:
                    await self._reassert()
                lost = False
                await self.presence.sweep(self._mark_offline, lease=interval)
            except redis.exceptions.RedisError as exc:
                if not lost:
                    log.warning("Redis is away (%s): charge points are served here, cross-node commands fail", exc)
                lost = True
            except Exception:
                log.exception("cluster presence loop failed")
            await asyncio.sleep(interval)

    async def run_takeovers(self) -> None:
        """Close the connections of charge points that connected to another node since."""
        while True:
            pubsub = self.presence.redis.pubsub()
            try:
                await pubsub.subscribe(self.presence.takeovers(self.presence.node_id))
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        identity, epoch = orjson.loads(message["data"])
                        self.taken_over(identity, epoch)
            except redis.exceptions.RedisError:
                await asyncio.sleep(self._expiry / 3)  # Redis is away: subscribe again when it is back
            finally:
                with contextlib.suppress(redis.exceptions.RedisError):
                    await pubsub.aclose()

    def taken_over(self, identity: str, epoch: int) -> None:
        """A newer connection (`epoch`) of the charge point is held elsewhere: ours is closed, and
        neither its presence nor its database state is touched (they are the new one's)."""
        ours, _ = self.held.get(identity, (0, ""))
        connection = self._connections.get(identity)
        if connection is None or not 0 < ours < epoch:
            return
        log.info("%s connected to another node; closing its connection here", identity)
        del self._connections[identity]
        del self.held[identity]
        self._close(connection)

    async def leave(self) -> None:
        """A graceful stop, once the connections are closed: the records of what this node held,
        and its liveness, go now, so that the other nodes see at once that it holds nothing
        (not only after the presence expiry)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)  # the releases under way
        for identity, (epoch, _) in list(self.held.items()):
            if epoch:
                await self._release(identity, epoch)
        self.held.clear()
        self._connections.clear()
        await self.presence.leave()

    async def _reassert(self) -> None:
        for identity, (epoch, version) in list(self.held.items()):
            if epoch == 0:
                connection = self._connections.get(identity)
                if connection is not None:
                    await self._claim(connection)
            elif not await self.presence.reassert(identity, epoch, version):
                log.info("%s is held by a newer connection elsewhere", identity)
