"""Calendar periods in an operator's time zone, for hourly rollups keyed by UTC hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from voltline.services.reports.hours import HOUR, floor_hour


def period_start(at: datetime, interval: str, tz: ZoneInfo) -> datetime:
    """The start of the hour / day / ISO week / month holding `at`, in `tz` (with its offset)."""
    local = at.astimezone(tz)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _next(start: datetime, interval: str, tz: ZoneInfo) -> datetime:
    if interval == "hour":
        return (start.astimezone(UTC) + HOUR).astimezone(tz)
    day: date = start.date()
    if interval == "day":
        day += timedelta(days=1)
    elif interval == "week":
        day += timedelta(days=7)
    else:
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def periods(start: datetime, end: datetime, interval: str, tz: ZoneInfo) -> list[datetime]:
    """Every period that [start, end) touches, in order."""
    found = []
    current = period_start(start, interval, tz)
    while current.astimezone(UTC) < end:
        found.append(current)
        current = _next(current, interval, tz)
    return found


def hours_of(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The rollup hours a range reads: from the hour holding `start` up to `end`."""
    return floor_hour(start.astimezone(UTC)), end.astimezone(UTC)
