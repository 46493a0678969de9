"""Requests checked before they are sent, with every problem named at its field.

The gateway refuses a request that breaks the official schema too, but it stops at the first
problem. A person filling a form wants all of them, each where it belongs: the official schema
first, then the rules of OCPP that a schema cannot say (a profile's periods in order, a stop time
after its start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voltline.ocpp.schemas import validators
from voltline.services.errors import Invalid

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path  # where in the request, as on the wire: ("csChargingProfiles", "stackLevel")
    message: str

    @property
    def field(self) -> str:
        return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in self.path).lstrip(".")

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidRequest(Invalid):
    """A request that was not sent, with each problem at its field (`details`, for the API)."""

    def __init__(self, action: str, problems: Sequence[Problem]) -> None:
        listed = "; ".join(f"{p.field or 'the request'}: {p.message}" for p in problems)
        super().__init__(f"{action} was not sent: {listed}", code="invalid_ocpp_request",
                         details=[p.as_dict() for p in problems])
        self.action = action
        self.problems = list(problems)


def schema_problems(action: str, payload: dict[str, object]) -> list[Problem]:
    problems = []
    for violation in validators().request_violations(action, payload):
        # The description starts with the path ("payload.x: …"): the path is kept apart here.
        message = violation.description.split(": ", 1)[-1]
        problems.append(Problem(violation.path, message))
    return problems


def require_valid(action: str, payload: dict[str, object], problems: Sequence[Problem] = ()) -> None:
    """Raise InvalidRequest when the schema or the given rules find anything."""
    found = schema_problems(action, payload) + list(problems)
    if found:
        raise InvalidRequest(action, found)
