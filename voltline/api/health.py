"""Liveness and Prometheus metrics: open, no token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health(request: Request) -> dict[str, object]:
    voltline = request.app.state.voltline
    return {"status": "ok", "node": voltline.node_id, "connected_charge_points": len(voltline.gateway.connections)}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "the Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.voltline.metrics.registry), media_type=CONTENT_TYPE_LATEST)
