"""Requests checked before they are sent, with every problem named at its field.

The gateway refuses a request that breaks its version's schema too, but it stops at the first
problem. A person filling a form wants all of them, each where it belongs: the domain's rules
(a profile's periods in order, a stop time after its start) on the domain request, then what the
charge point's version refuses of it as it would go out (`CommandService.check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voltline.services.errors import Invalid

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path  # where in the domain request: ("profile", "stack_level"); () for the request as a whole
    message: str
    # Where in the message of the charge point's version, when that is known: ("csChargingProfiles",
    # "stackLevel") in 1.6. What API clients are shown, as they write the generic commands.
    wire: Path | None = None

    @property
    def field(self) -> str:
        path = self.path if self.wire is None else self.wire
        return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")

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
