"""What the resource routers share: the services, paging, and parameter types that are safe to
hand to the database (bounded integers, printable text, UTC timestamps)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from voltline.api.schemas import INT32_MAX, PRINTABLE, UtcDateTime
from voltline.services.container import Services
from voltline.services.node import Node
from voltline.services.paging import Page


def node_of(request: Request) -> Node:
    """What app.py handed the API (create_api)."""
    return request.app.state.node  # type: ignore[no-any-return]


async def _services(request: Request) -> Services:
    return node_of(request).services


async def _node(request: Request) -> Node:
    return node_of(request)


ServicesDep = Annotated[Services, Depends(_services)]
NodeDep = Annotated[Node, Depends(_node)]

ChargePointIdPath = Annotated[
    str, Path(description="the charge point's identity", min_length=1, max_length=255, pattern=PRINTABLE)
]
IntPath = Annotated[int, Path(ge=0, le=INT32_MAX)]

Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="items to skip")]
After = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
          description="the next_cursor of the page before: a deep page as cheap as the first"),
]
IntQuery = Annotated[int | None, Query(ge=0, le=INT32_MAX)]
TextQuery = Annotated[str | None, Query(max_length=255, pattern=PRINTABLE)]
TimeQuery = Annotated[UtcDateTime | None, Query()]
Timeout = Annotated[
    float | None,
    Query(gt=0, le=300, description="seconds the charge point has to answer (default: the server's call_timeout)"),
]


def page_out(page: Page[Any], convert: Any = None) -> dict[str, Any]:
    items = [convert(item) for item in page.items] if convert else list(page.items)
    return {"items": items, "total": page.total, "limit": page.limit, "offset": page.offset, "next_cursor": page.next_cursor}
