"""Errors as JSON `{"error": {"code", "message"}}` with a fitting status, for every failure."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from voltline.services.errors import (
    ChargePointOffline,
    CommandFailed,
    CommandTimeout,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    StoreUnavailable,
    Throttled,
    Unavailable,
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class ErrorDetail(BaseModel):
    code: str = Field(description="what went wrong, for programs: invalid, unauthorized, not_found, charge_point_offline, …")
    message: str = Field(description="what went wrong, for people")
    details: Any = Field(None, description="more, where there is more: the fields at fault, the charge point's CALLERROR")


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 409: "conflict", 502: "bad_gateway", 504: "timeout"}

# Where a request part failed validation, in an operator's words.
_PLACES = {"body": "body field", "query": "query parameter", "path": "path parameter", "header": "header", "cookie": "cookie"}
_MESSAGE_FIELDS = 5  # the message names this many fields at most; `details` has them all


def invalid_fields(exc: RequestValidationError) -> list[dict[str, str]]:
    """Each failure of the request's validation: where (body, query, path…), which field, and why."""
    fields = []
    for error in exc.errors():
        place, *path = error.get("loc") or ("body",)
        fields.append({"in": str(place), "field": ".".join(str(p) for p in path), "message": str(error.get("msg", ""))})
    return fields


def invalid_message(fields: list[dict[str, str]]) -> str:
    parts = []
    for field in fields[:_MESSAGE_FIELDS]:
        where = f"{_PLACES.get(field['in'], field['in'])} `{field['field']}`" if field["field"] else f"the {field['in']}"
        parts.append(f"{where}: {field['message']}")
    if len(fields) > _MESSAGE_FIELDS:
        parts.append(f"and {len(fields) - _MESSAGE_FIELDS} more")
    return "invalid request: " + "; ".join(parts)


# Domain errors → HTTP status, most specific class first.
_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (ChargePointOffline, 409),
    (CommandTimeout, 504),
    (CommandFailed, 502),
    (NotFound, 404),
    (Conflict, 409),
    (Invalid, 400),
    (Throttled, 429),
    (Unavailable, 503),
)


def from_domain(exc: DomainError) -> ApiError:
    status = next((status for cls, status in _DOMAIN_STATUS if isinstance(exc, cls)), 400)
    details = exc.details
    if isinstance(exc, CommandFailed):
        # The charge point's CALLERROR, as it sent it.
        details = {"ocpp_error_code": exc.ocpp_code, "ocpp_error_description": exc.description, "ocpp_error_details": exc.details}
    return ApiError(status, exc.code, exc.message, details)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        error = from_domain(exc)
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))} if exc.retry_after else None
        return JSONResponse(error_body(error.code, error.message, error.details), status_code=error.status, headers=headers)

    @app.exception_handler(StoreUnavailable)
    async def _store_error(request: Request, exc: StoreUnavailable) -> JSONResponse:
        # The database is slow, away or the read too big: nothing is wrong with the request as
        # such, and a narrower or later one can succeed.
        return JSONResponse(error_body(exc.code, str(exc)), status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # DESIGN §2: bad input is a 400 in the error shape, whatever part of the request it was.
        fields = invalid_fields(exc)
        return JSONResponse(error_body("invalid", invalid_message(fields), fields), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger("voltline.api").exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "the server could not complete the request"), status_code=500)
