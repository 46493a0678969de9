"""What can go wrong in the domain, in words the API (and the dashboard) can translate to a status."""

from __future__ import annotations

from typing import Any

# The store's refusals (busy, unreachable, a read stopped past its time limit) reach the operator
# side under the domain's name: the API answers them 503 without knowing the store.
from voltline.store import errors as _store

StoreUnavailable = _store.StoreError


class DomainError(Exception):
    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    default_code = "error"
    # When a later try may succeed, after how many seconds (the API's Retry-After).
    retry_after: float | None = None


class NotFound(DomainError):
    default_code = "not_found"


class Conflict(DomainError):
    default_code = "conflict"


class Invalid(DomainError):
    default_code = "bad_request"


class Throttled(DomainError):
    """Refused for now, after too many attempts: try again after a while."""

    default_code = "too_many_attempts"


class Unavailable(DomainError):
    """The server cannot do it now (busy, or not set up for it); nothing was done."""

    default_code = "unavailable"
    retry_after = 1.0


class ChargePointOffline(Conflict):
    default_code = "charge_point_offline"


class CommandTimeout(DomainError):
    default_code = "timeout"


class CommandLost(CommandTimeout):
    """The node that held the charge point's connection stopped while the command was in flight
    (cluster mode): whether the charge point received it is not known."""

    default_code = "node_lost"


class CommandFailed(DomainError):
    """The charge point answered with a CALLERROR, or with a response that breaks the schema."""

    default_code = "call_error"

    def __init__(
        self, message: str, *, ocpp_code: str, description: str, details: Any = None, action: str | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.ocpp_code = ocpp_code
        self.description = description
        self.action = action  # the message refused, as the charge point's version names it
