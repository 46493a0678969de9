"""The REST API (`/api/v1`), the health and metrics endpoints: one FastAPI application.

It is handed what it serves (the node's services, read models and live connections; the
metrics registry) by app.py, and builds nothing of its own."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter, Depends, FastAPI
from prometheus_client import CollectorRegistry

from voltline.api import docs, errors, health, openapi
from voltline.api.auth import require_token
from voltline.services.node import Node

API_PREFIX = "/api/v1"


def create_api(node: Node, metrics: CollectorRegistry) -> FastAPI:
    app = FastAPI(
        title="Voltline",
        version="0.1.0",
        description="Charging Station Management System for OCPP 1.6J charge points.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # docs.install serves /docs and /redoc with local assets
        redoc_url=None,
    )
    app.state.node = node
    app.state.metrics = metrics
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=openapi.EVERY_API_ROUTE)
    for router in _resource_routers():
        api.include_router(router)
    app.include_router(api)
    return app


def _resource_routers() -> list[APIRouter]:
    """One router module per resource; each module exposes `router`."""
    import voltline.api.resources as resources

    routers = []
    for module in sorted(pkgutil.iter_modules(resources.__path__), key=lambda m: m.name):
        routers.append(importlib.import_module(f"{resources.__name__}.{module.name}").router)
    return routers
