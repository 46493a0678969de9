"""`/docs` (Swagger UI) and `/redoc` (ReDoc) with their files served by Voltline itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine without internet —
a depot's network, a laptop on the road — `/docs` stays blank. The `fastapi-offline` package
ships both bundles; they are served from `/docs/static`, and the pages name no other host.
"""

from __future__ import annotations

import functools
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = f"{DOCS_URL}/static"
ASSETS = files("fastapi_offline") / "static"
REDOC_JS_URL = f"{DOCS_URL}/redoc.standalone.js"
# ReDoc's sidebar shows Redocly's logo from Redocly's CDN; without a source it leaves it out.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

# Swagger UI would otherwise ask validator.swagger.io to check a document served from a public host.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True}


def install(app: FastAPI) -> None:
    """Add `/docs`, `/redoc` and their assets to `app`, created with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS)), name="docs-static")
    openapi_url = app.openapi_url or ""

    @app.get(REDOC_JS_URL, include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(_redoc_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — REST API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — REST API",
            redoc_js_url=f"{root}{REDOC_JS_URL}",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


@functools.cache
def _redoc_js() -> bytes:
    return (ASSETS / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO, b"")
