"""What each operation answers besides success, for the OpenAPI document.

A route declares the kinds of failure it can meet (`responses=answers(...)`, or one of the
shared sets below); the API router declares what every route behind the token answers. Each
becomes its status with the error shape (`ErrorOut`). The generated document is then finished
once (`install`): FastAPI's 422 — which this API never answers — becomes the 400 of bad input on
exactly the operations that take input, where the validation handler answers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from voltline.api.errors import ErrorOut

Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """One way an operation can fail: its status and, in an operator's words, when."""

    status: int
    description: str


BAD_INPUT = Answer(400, "bad input: `error.message` names each field at fault and why, `error.details` lists them")
NO_TOKEN = Answer(401, "no API token, or one that is unknown or revoked")
OFFLINE = Answer(409, "the charge point is offline (nothing was sent)")
CALL_ERROR = Answer(
    502, "the charge point answered a CALLERROR, or an answer that breaks the OCPP schema (`error.details` has its code)"
)
NO_ANSWER = Answer(504, "the charge point did not answer in time")
STORE_UNAVAILABLE = Answer(
    503,
    "the database is away or its write queue is full (`store_busy`, `database_unavailable`), or a read ran past"
    " the time limit (`query_timeout`): try again, with narrower filters for a read; `Retry-After` says when",
)
NOT_OCPP = Answer(400, "the OCPP request built from the input breaks the OCPP schema (nothing was sent)")


def unknown(what: str) -> Answer:
    return Answer(404, f"no such {what}")


def exists(what: str) -> Answer:
    return Answer(409, f"the {what} exists already")


def conflict(when: str) -> Answer:
    return Answer(409, when)


def invalid(when: str) -> Answer:
    return Answer(400, when)


def answers(*failures: Answer) -> Responses:
    """FastAPI's `responses=` for these failures; several of one status share its entry."""
    merged: dict[int, list[str]] = {}
    for failure in failures:
        descriptions = merged.setdefault(failure.status, [])
        if failure.description not in descriptions:
            descriptions.append(failure.description)
    return {status: {"model": ErrorOut, "description": "; ".join(merged[status])} for status in sorted(merged)}


def calls_charge_point(*more: Answer) -> Responses:
    """A route that sends an OCPP call: the charge point may be unknown, offline, refuse or be silent."""
    return answers(
        unknown("charge point"),
        OFFLINE,
        CALL_ERROR,
        NO_ANSWER,
        *more,
    )


# What every route behind the API token answers. A failure any of them can meet belongs here
# (every one checks its token in the database, so every one can meet a store that refuses work);
# one that only some routes meet goes on those routes, so that no operation documents a status it
# cannot answer.
EVERY_API_ROUTE = answers(NO_TOKEN, STORE_UNAVAILABLE)


def install(app: FastAPI) -> None:
    """Serve the finished document. FastAPI generates it once (again when routes are added);
    each generated document is finished once."""
    generate = app.openapi
    finished: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if not finished or finished[0] is not document:
            finished[:] = [finish(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's validation answer (422, HTTPValidationError) → the 400 that `errors` answers, on the
    operations FastAPI found input to validate on, beside any 400 the route declares itself."""
    error_schema = {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}
    for operation in _operations(document):
        responses = operation.get("responses", {})
        if responses.pop("422", None) is not None:
            declared = responses.get("400")
            descriptions = [BAD_INPUT.description]
            if declared and declared.get("description") not in descriptions:
                descriptions.append(declared["description"])
            responses["400"] = {
                "description": "; ".join(descriptions),
                "content": {"application/json": {"schema": error_schema}},
            }
        operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    if ErrorOut.__name__ not in schemas:  # no route declared a failure of its own
        schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[ErrorOut.__name__] = schema
    return document


def _operations(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}:
                yield operation
