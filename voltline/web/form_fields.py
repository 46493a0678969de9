"""Reading the fields of the operation forms (reservations, profiles, firmware): each reader
returns the value or raises FieldError naming the field, so a form can show it where it belongs.

Times are typed in the operator's zone (the inputs say which): a `datetime-local` value has none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from voltline.web.commands import Outcome
from voltline.web.routing import safe_next, wants_json, web_session
from voltline.web.zones import parse_local


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


def moment(form: FormData, name: str, label: str, zone: ZoneInfo, *, required: bool = True) -> datetime | None:
    """A `datetime-local` field read in the operator's `zone`, as UTC."""
    value = text(form, name, label, required=required)
    return None if value is None else parse_moment(value, name, label, zone)


def parse_moment(value: str, name: str, label: str, zone: ZoneInfo) -> datetime:
    try:
        parsed = parse_local(value.replace("Z", "+00:00"), zone)
    except ValueError:
        parsed = None
    if parsed is None:
        raise FieldError(name, f"{label} must be a date and time (YYYY-MM-DDTHH:MM, {zone.key})")
    return parsed


def now_plus(minutes: float) -> datetime:
    """Now plus `minutes`: the default of a time a form asks for (shown with `|local_input`)."""
    return datetime.now(UTC) + timedelta(minutes=minutes)


def answer(request: Request, outcome: Outcome, next_: str, fallback: str) -> Response:
    """The outcome as JSON for the page's script, else as a notice on the page it came from."""
    if wants_json(request):
        return JSONResponse(outcome.as_dict())
    kind = {"accepted": "ok", "rejected": "bad", "error": "bad"}.get(outcome.kind, "warn")
    web_session(request).add_flash(kind, outcome.message)
    return RedirectResponse(safe_next(next_ or None, fallback), status_code=303)
