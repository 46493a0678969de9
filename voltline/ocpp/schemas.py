"""Payload validators compiled once from the official OCPP JSON schemas shipped by the `ocpp` package.

A violation is reported with the CALLERROR code OCPP-J prescribes for its kind, so a handler never
sees a payload that breaks its schema (unless the charge point was set lenient for that action).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema

from voltline.ocpp.frames import ErrorCode

OCPP16 = "ocpp1.6"

# fastjsonschema names the rule that failed; OCPP-J names the kind of violation.
_RULE_TO_ERROR = {
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "required": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMATION_VIOLATION,
    "additionalItems": ErrorCode.FORMATION_VIOLATION,
}


class SchemaViolation(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True, slots=True)
class ActionSchemas:
    request: Callable[[Any], Any]
    response: Callable[[Any], Any]


class Validators:
    """All request and response validators of one OCPP version, compiled when constructed."""

    def __init__(self, schema_dir: Path) -> None:
        started = time.perf_counter()
        self._actions: dict[str, ActionSchemas] = {}
        for request_path in sorted(schema_dir.glob("*.json")):
            action = request_path.stem
            if action.endswith("Response"):
                continue
            response_path = schema_dir / f"{action}Response.json"
            self._actions[action] = ActionSchemas(_compile(request_path), _compile(response_path))
        self.compile_seconds = time.perf_counter() - started

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(self._actions)

    def knows(self, action: str) -> bool:
        return action in self._actions

    def validate_request(self, action: str, payload: dict[str, Any]) -> None:
        _run(self._actions[action].request, payload)

    def validate_response(self, action: str, payload: dict[str, Any]) -> None:
        _run(self._actions[action].response, payload)


def _compile(path: Path) -> Callable[[Any], Any]:
    schema = json.loads(path.read_text(encoding="utf-8"))
    # The schemas carry draft-04 `$schema` and `$id` URLs; they are self-contained, so nothing
    # must be fetched to resolve them.
    return fastjsonschema.compile(schema, use_default=False, use_formats=True)


def _run(validator: Callable[[Any], Any], payload: dict[str, Any]) -> None:
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        code = _RULE_TO_ERROR.get(exc.rule or "", ErrorCode.PROPERTY_CONSTRAINT_VIOLATION)
        path = (exc.name or "data").replace("data", "payload", 1)
        raise SchemaViolation(code, f"{path}: {exc.message.removeprefix(exc.name or '').strip()}") from None


def _schema_dir(version: str) -> Path:
    import ocpp  # the package ships the official schemas as data files

    sub = {OCPP16: "v16"}[version]
    return Path(ocpp.__file__).parent / sub / "schemas"


@cache
def validators(version: str = OCPP16) -> Validators:
    """The validators of `version`, compiled on first use and shared by every connection."""
    return Validators(_schema_dir(version))
