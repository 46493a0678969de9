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

CLAIM_BATCH = 500  # claims sent in one round trip at most


class Membership:
    def __init__(
        self, presence: Presence, expiry: float, mark_offline: Callable[[str], Awaitable[object]],
        close: Callable[[ChargePointConnection], None], keys: Keys | None = None,
        hand_over: Callable[[str, str], Awaitable[object]] | None = None,
    ) -> None:
        self.presence = presence
        self._close = close  # closes a connection taken over elsewhere, leaving its state alone
        # (identity, new node): the database's record names the node that took it over.
        self._hand_over = hand_over
        self._expiry = expiry
        self._mark_offline = mark_offline
        self._keys = keys or Keys()
        # What this node holds: identity → (epoch, version); epoch 0 until Redis gave one.
        self.held: dict[str, tuple[int, str]] = {}
        self._connections: dict[str, ChargePointConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Takeovers heard while this node's own claim was still unanswered: identity → (epoch, node).
        self._newer: dict[str, tuple[int, str | None]] = {}
        # Connections whose claim is still to be sent, and the ones on their way to Redis: claims
        # go in batches, one round trip for all that connected since the last one. A connection
        # is never claimed twice at once: it would take a second epoch and be told by its own
        # claim that it was taken over.
        self._unclaimed: dict[str, ChargePointConnection] = {}
        self._claiming: set[str] = set()
        self._claimer: asyncio.Task[None] | None = None

    # -- the gateway's observer ---------------------------------------------------------------

    def attached(self, connection: ChargePointConnection) -> None:
        self._connections[connection.identity] = connection
        self.held[connection.identity] = (0, connection.version.label)
        self._to_claim(connection)

    def detached(self, connection: ChargePointConnection) -> None:
        if self._connections.get(connection.identity) is not connection:
            return  # a newer connection of this node holds it
        del self._connections[connection.identity]
        self._unclaimed.pop(connection.identity, None)
        self._newer.pop(connection.identity, None)
        epoch, _ = self.held.pop(connection.identity, (0, ""))
        if epoch:
            self._spawn(self._release(connection.identity, epoch))

    def _to_claim(self, connection: ChargePointConnection) -> None:
        self._unclaimed[connection.identity] = connection
        if self._claimer is None:
            self._claimer = asyncio.ensure_future(self._claim_waiting())

    async def _claim_waiting(self) -> None:
        """Claim the connections waiting, a batch a round trip, until none waits. A batch Redis
        refused stays unclaimed (epoch 0) until the liveness loop queues it again."""
        try:
            await asyncio.sleep(0)  # the connections of this loop turn join the first batch
            while self._unclaimed:
                batch = list(self._unclaimed.items())[:CLAIM_BATCH]
                for identity, _ in batch:
                    del self._unclaimed[identity]
                    self._claiming.add(identity)
                try:
                    epochs = await self.presence.claim_many([(i, c.version.label) for i, c in batch])
                except (redis.exceptions.RedisError, OSError) as exc:
                    log.warning("could not record that %d charge points are held here (%s); recorded when Redis "
                                "answers", len(batch), exc)
                    return
                finally:
                    self._claiming.difference_update(identity for identity, _ in batch)
                for (identity, connection), epoch in zip(batch, epochs, strict=True):
                    self._claimed(connection, epoch)
        finally:
            self._claimer = None

    def _claimed(self, connection: ChargePointConnection, epoch: int) -> None:
        identity = connection.identity
        if self._connections.get(identity) is not connection:
            self._spawn(self._release(identity, epoch))  # it closed meanwhile
            return
        self.held[identity] = (epoch, connection.version.label)
        newer, node = self._newer.pop(identity, (0, None))
        if newer > epoch:  # the takeover was heard before this claim's answer
            self.taken_over(identity, newer, node)

    def _claim_unrecorded(self) -> None:
        """Queue again the connections whose claim Redis did not take."""
        for identity, (epoch, _) in self.held.items():
            connection = self._connections.get(identity)
            if epoch == 0 and connection is not None and identity not in self._claiming:
                self._to_claim(connection)

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
                self._claim_unrecorded()
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
                        identity, epoch, *node = orjson.loads(message["data"])
                        self.taken_over(identity, epoch, node[0] if node else None)
            except redis.exceptions.RedisError:
                await asyncio.sleep(self._expiry / 3)  # Redis is away: subscribe again when it is back
            finally:
                with contextlib.suppress(redis.exceptions.RedisError):
                    await pubsub.aclose()

    def taken_over(self, identity: str, epoch: int, node: str | None = None) -> None:
        """A newer connection (`epoch`) of the charge point is held elsewhere (by `node`): ours is
        closed, and neither its presence nor its database state is touched (they are the new
        one's), except that a record of ours written after the new node's names the new node."""
        ours, _ = self.held.get(identity, (0, ""))
        connection = self._connections.get(identity)
        if connection is not None and ours == 0:
            # Two connections at once: the other node's claim came second and told us before
            # our own claim answered; once it has, ours is compared.
            if epoch > self._newer.get(identity, (0, None))[0]:
                self._newer[identity] = (epoch, node)
            return
        if connection is None or not 0 < ours < epoch:
            return
        log.info("%s connected to another node; closing its connection here", identity)
        del self._connections[identity]
        del self.held[identity]
        self._close(connection)
        if node is not None and self._hand_over is not None:
            self._spawn(self._handed_over(connection, node))

    async def _handed_over(self, connection: ChargePointConnection, node: str) -> None:
        if connection.recorded is not None:  # this node's own write of the connection comes first
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.recorded)
        assert self._hand_over is not None
        try:
            await self._hand_over(connection.identity, node)
        except Exception:
            log.exception("could not record that %s moved to %s", connection.identity, node)

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
                continue  # claimed by _claim_unrecorded
            if not await self.presence.reassert(identity, epoch, version):
                log.info("%s is held by a newer connection elsewhere", identity)
