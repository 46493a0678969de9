"""The REST API (`/api/v1`), the health and metrics endpoints: one FastAPI application."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from voltline.api import docs, errors, health, openapi
from voltline.api.auth import require_token

API_PREFIX = "/api/v1"


def create_api(voltline: Any) -> FastAPI:
    app = FastAPI(
        title="Voltline",
        version="0.1.0",
        description="Charging Station Management System for OCPP 1.6J charge points.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # docs.install serves /docs and /redoc with local assets
        redoc_url=None,
    )
    app.state.voltline = voltline
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=openapi.EVERY_API_ROUTE)
    for router in _resource_routers():
        api.include_router(router)
    app.include_router(api)
    _mount_dashboard(app, voltline)
    return app


def _mount_dashboard(app: FastAPI, voltline: Any) -> None:
    """The dashboard (voltline.web) serves `/` and its pages from the same application."""
    try:
        from voltline import web
    except ImportError:
        return
    mount = getattr(web, "mount", None)
    if mount is not None:
        mount(app, voltline)


def _resource_routers() -> list[APIRouter]:
    """One router module per resource; each module exposes `router`."""
    import importlib
    import pkgutil

    import voltline.api.resources as resources

    routers = []
    for module in sorted(pkgutil.iter_modules(resources.__path__), key=lambda m: m.name):
        routers.append(importlib.import_module(f"{resources.__name__}.{module.name}").router)
    return routers
