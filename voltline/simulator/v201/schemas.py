"""The official OCPP 2.0.1 schemas (shipped by the `ocpp` package), compiled once for every
simulated charging station, with 2.0.1's spelling of the CALLERROR codes.

`voltline.ocpp.schemas` compiles the 1.6 schemas, named `{Action}.json` / `{Action}Response.json`;
2.0.1 names them `{Action}Request.json` / `{Action}Response.json`, and spells two codes anew
(FormatViolation, OccurrenceConstraintViolation). The simulator reuses that module's
validators and translates the codes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from voltline.ocpp.frames import ErrorCode
from voltline.ocpp.schemas import ActionSchemas, SchemaViolation, Validators

OCPP201 = "ocpp2.0.1"

FORMAT_VIOLATION = "FormatViolation"
OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
# RpcSession's `error_codes` for a 2.0.1 station: its answers to frames that are not OCPP-J
# (and to an unknown message type number) are spelled as 2.0.1 spells them, like its schema errors.
ERROR_CODES = {
    "format": FORMAT_VIOLATION,
    "occurrence": OCCURRENCE_CONSTRAINT_VIOLATION,
    "message_type": ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
}
_SPELLING = {
    ErrorCode.FORMATION_VIOLATION: FORMAT_VIOLATION,
    ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION: OCCURRENCE_CONSTRAINT_VIOLATION,
}


def _translated(violation: SchemaViolation) -> SchemaViolation:
    code = _SPELLING.get(violation.code, violation.code)
    return SchemaViolation(code, violation.description, violation.path)


def _compile(path: Path) -> Any:
    return jsonschema_rs.validator_for(json.loads(path.read_text(encoding="utf-8")), validate_formats=True)


class Validators201(Validators):
    """Every 2.0.1 request and response validator; violations carry 2.0.1's error codes."""

    def __init__(self, schema_dir: Path) -> None:
        # Not Validators.__init__: it reads 1.6's file names.
        self._actions: dict[str, ActionSchemas] = {}
        for request_path in sorted(schema_dir.glob("*Request.json")):
            action = request_path.name.removesuffix("Request.json")
            request = _compile(request_path)
            response = _compile(schema_dir / f"{action}Response.json")
            self._actions[action] = ActionSchemas(request.validate, response.validate, request.iter_errors)
        self.compile_seconds = 0.0

    def validate_request(self, action: str, payload: dict[str, Any]) -> None:
        try:
            super().validate_request(action, payload)
        except SchemaViolation as exc:
            raise _translated(exc) from None

    def validate_response(self, action: str, payload: dict[str, Any]) -> None:
        try:
            super().validate_response(action, payload)
        except SchemaViolation as exc:
            raise _translated(exc) from None

    def request_violations(self, action: str, payload: dict[str, Any]) -> list[SchemaViolation]:
        return [_translated(v) for v in super().request_violations(action, payload)]


@cache
def validators201() -> Validators201:
    import ocpp  # the package ships the official schemas as data files

    return Validators201(Path(ocpp.__file__).parent / "v201" / "schemas")
