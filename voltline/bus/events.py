"""Live changes, published by the services and consumed by the API's event stream and the dashboard.

In one process the bus is a set of in-memory queues; in a cluster the Redis bus relays the same
events between nodes. Publishing with no subscriber costs one attribute lookup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from collections.abc import Callable

log = logging.getLogger("voltline.bus")


@dataclass(slots=True, frozen=True)
class Event:
    type: str  # e.g. "connector.status", "transaction.started", "meter_values"
    charge_point_id: str | None
    data: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "charge_point_id": self.charge_point_id, "at": self.at, "data": self.data}


class EventBus:
    """Fan-out of events to subscribers; a slow subscriber loses its oldest events, never blocks."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._queue_size = queue_size
        # In cluster mode the Redis relay (voltline.cluster.events) forwards local events to the
        # other nodes; it delivers theirs with `deliver`, which does not forward again.
        self.relay: Callable[[Event], None] | None = None

    @property
    def has_subscribers(self) -> bool:
        # With a relay, other nodes' clients may be listening: the event is wanted all the same.
        return bool(self._subscribers) or self.relay is not None

    def publish(self, event: Event) -> None:
        if self.relay is not None:
            self.relay(event)
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        """To this node's subscribers only."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
