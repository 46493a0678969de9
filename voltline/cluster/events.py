"""The events relay: every node's event streams and dashboards see the changes of every node.

A node publishes locally (EventBus) and, batched once per loop turn, to one Redis channel; its
subscriber delivers the other nodes' batches into the local bus. Order per charge point holds
because a charge point is on one node at a time and a node's batches go out in order on one
connection. A node skips its own batches, so that its clients never see an event twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from voltline.bus.events import Event, EventBus
from voltline.cluster.channel import Channel
from voltline.cluster.connection import Keys

log = logging.getLogger("voltline.cluster.events")


def encode(node_id: str, events: list[Event]) -> bytes:
    return orjson.dumps(
        {"node": node_id, "events": [[e.type, e.charge_point_id, e.at, e.data] for e in events]},
        option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC, default=str,
    )


def decode(payload: bytes) -> tuple[str, list[Event]]:
    message: dict[str, Any] = orjson.loads(payload)
    events = [
        Event(kind, charge_point_id, data, datetime.fromisoformat(at))
        for kind, charge_point_id, at, data in message["events"]
    ]
    return message["node"], events


class EventRelay:
    """Publishes this node's events to Redis and delivers the other nodes' into the local bus."""

    def __init__(self, redis: aioredis.Redis, bus: EventBus, node_id: str, keys: Keys = Keys()) -> None:
        self._bus = bus
        self._node_id = node_id
        self._channel = Channel(redis, keys.channel("events"), self._received, log=log)
        self._pending: list[Event] = []

    def forward(self, event: Event) -> None:
        """Called by the bus for each local event: cheap, the send happens after this loop turn."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._batch)
        self._pending.append(event)

    def _batch(self) -> None:
        events, self._pending = self._pending, []
        self._channel.publish(encode(self._node_id, events))  # Redis away for long: the oldest go

    async def _received(self, payload: bytes) -> None:
        node, events = decode(payload)
        if node == self._node_id:
            return
        for event in events:
            self._bus.deliver(event)

    async def run(self) -> None:
        """Both directions until cancelled; each lives through Redis going away and coming back."""
        self._bus.relay = self.forward
        try:
            await self._channel.run()
        finally:
            self._bus.relay = None
