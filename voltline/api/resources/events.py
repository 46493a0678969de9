"""Server-sent events: live changes (connector status, transactions, meter values, commands…)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from voltline.api.deps import NodeDep, TextQuery
from voltline.bus.events import Event

router = APIRouter(tags=["events"])

KEEPALIVE_S = 15.0


@router.get(
    "/events",
    summary="Stream live changes as server-sent events",
    description="Each event: `event: <type>` (e.g. connector.status, transaction.started, meter_values, "
    "transaction.stopped, transaction.charging_state (a 2.0.1 session's chargingState, when it changes), charge_point.connected) and `data:` a JSON object with type, charge_point_id, at "
    "and data. A comment line arrives first, once the stream is subscribed, and every 15 s as keep-alive.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an endless event stream"}},
)
async def events(
    node: NodeDep,
    charge_point_id: Annotated[TextQuery, Query(description="only this charge point's events")] = None,
    type: Annotated[
        list[str] | None, Query(max_length=50, description="only these event types (or prefixes ending in '.')")
    ] = None,
) -> StreamingResponse:
    types = tuple(type or ())

    def wanted(event: Event) -> bool:
        if charge_point_id is not None and event.charge_point_id != charge_point_id:
            return False
        return not types or any(event.type == t or (t.endswith(".") and event.type.startswith(t)) for t in types)

    def stopping() -> bool:
        # The HTTP server waits for open responses when it shuts down: end the stream then. The
        # stop publishes an event (server.stopping), so a waiting stream wakes and ends at once.
        return node.stopping()

    async def stream() -> AsyncIterator[bytes]:
        async with node.services.bus.subscribe() as queue:
            yield b": subscribed\nretry: 3000\n\n"
            quiet = 0.0
            while not stopping():
                try:
                    event = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    quiet += 1.0
                    if quiet >= KEEPALIVE_S:
                        quiet = 0.0
                        yield b": keep-alive\n\n"
                    continue
                if wanted(event):
                    quiet = 0.0
                    yield _frame(event)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _frame(event: Event) -> bytes:
    data: dict[str, Any] = event.as_dict()
    body = orjson.dumps(data, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC, default=str)
    return b"event: " + event.type.encode() + b"\ndata: " + body + b"\n\n"
