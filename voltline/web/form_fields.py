"""Reading the fields of the operation forms (reservations, profiles, firmware): each reader
returns the value or raises FieldError naming the field, so a form can show it where it belongs.

Times are entered and shown in UTC (the inputs say so): a `datetime-local` value has no zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from voltline.web.commands import Outcome
from voltline.web.routing import safe_next, wants_json, web_session


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def raw(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def text(form: FormData, name: str, label: str, *, required: bool = True) -> str | None:
    value = raw(form, name)
    if not value:
        if required:
            raise FieldError(name, f"{label} is missing")
        return None
    return value


def integer(form: FormData, name: str, label: str, *, required: bool = True) -> int | None:
    value = text(form, name, label, required=required)
    return None if value is None else parse_integer(value, name, label)


def parse_integer(value: str, name: str, label: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FieldError(name, f"{label} must be a whole number") from None


def parse_number(value: str, name: str, label: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FieldError(name, f"{label} must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FieldError(name, f"{label} must be a number")
    return number


def utc_time(form: FormData, name: str, label: str, *, required: bool = True) -> datetime | None:
    value = text(form, name, label, required=required)
    return None if value is None else parse_utc(value, name, label)


def parse_utc(value: str, name: str, label: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(name, f"{label} must be a date and time (YYYY-MM-DDTHH:MM, UTC)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_input(moment: datetime | None) -> str:
    """A UTC moment as a `datetime-local` input's value."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if moment else ""


def input_in(minutes: float) -> str:
    """Now plus `minutes`, as a `datetime-local` value: the default of a time a form asks for."""
    return local_input(datetime.now(UTC) + timedelta(minutes=minutes))


def answer(request: Request, outcome: Outcome, next_: str, fallback: str) -> Response:
    """The outcome as JSON for the page's script, else as a notice on the page it came from."""
    if wants_json(request):
        return JSONResponse(outcome.as_dict())
    kind = {"accepted": "ok", "rejected": "bad", "error": "bad"}.get(outcome.kind, "warn")
    web_session(request).add_flash(kind, outcome.message)
    return RedirectResponse(safe_next(next_ or None, fallback), status_code=303)
