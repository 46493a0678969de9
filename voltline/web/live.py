"""`/live`: the bus's events as server-sent events, for pages that update without reloading.

Each event is one `data:` line of JSON: {type, charge_point_id, at, data}. The pages decide what
to do with it. A comment line every few seconds keeps proxies from closing a quiet stream and
lets the stream notice that the server is shutting down.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from voltline.services.node import Node
from voltline.web.answers import answer_status
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

KEEPALIVE_S = 15.0
TICK_S = 0.5

# Events that tell an OCPP answer, and the field holding its status: the stream adds the answer's
# word and tone (`data.answer`), read by the same function as the message log's.
ANSWER_FIELDS = {
    "command": "status",
    "remote_start": "status",
    "configuration.changed": "status",
    "device_model.report_requested": "status",
    "firmware.requested": "status",
    "diagnostics.requested": "status",
    "charge_point.booted": "status",
    "transaction.started": "id_tag_status",
}


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def as_message(event: Any) -> dict[str, Any]:
    message: dict[str, Any] = event.as_dict()
    field = ANSWER_FIELDS.get(event.type)
    if field is not None:
        data = event.data
        if data.get("error_code"):
            answer = answer_status(None, data["error_code"])
        else:
            answer = answer_status({"status": data.get(field)})
        message["data"] = {**data, "answer": answer.as_dict()}
    return message


def _stopping(node: Node) -> bool:
    # uvicorn waits for open responses before it stops; an endless stream must end by itself.
    # The stop publishes an event (server.stopping), so a waiting stream wakes and ends at once.
    return node.stopping()


async def _stream(node: Node) -> AsyncIterator[str]:
    yield "retry: 2000\n: connected\n\n"
    loop = asyncio.get_running_loop()
    async with node.services.bus.subscribe() as queue:
        quiet_since = loop.time()
        while not _stopping(node):
            try:
                event = await asyncio.wait_for(queue.get(), TICK_S)
            except TimeoutError:
                if loop.time() - quiet_since >= KEEPALIVE_S:
                    quiet_since = loop.time()
                    yield ": keep-alive\n\n"
                continue
            quiet_since = loop.time()
            yield f"data: {json.dumps(as_message(event), default=_default, separators=(',', ':'))}\n\n"


@router.get("/live", dependencies=[CurrentUser])
async def live(request: Request) -> StreamingResponse:
    return StreamingResponse(
        _stream(dashboard(request).node),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
