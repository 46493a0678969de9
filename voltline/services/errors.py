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


class NotFound(DomainError):
    default_code = "not_found"


class Conflict(DomainError):
    default_code = "conflict"


class Invalid(DomainError):
    default_code = "bad_request"


class ChargePointOffline(Conflict):
    default_code = "charge_point_offline"


class CommandTimeout(DomainError):
    default_code = "timeout"


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
