"""Liveness and Prometheus metrics: open, no token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voltline.api.deps import node_of

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health(request: Request) -> dict[str, object]:
    node = node_of(request)
    return {"status": "ok", "node": node.node_id, "connected_charge_points": len(node.connections.connections)}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "the Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
