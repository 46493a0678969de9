"""The operator's time zone at the dashboard's edges: times shown in it, date filters read in it.

The store and the API keep UTC (DESIGN §2); only what an operator reads or types is local. Every
conversion goes through zoneinfo, so a day is the operator's calendar day however long it is
(23 hours when summer time starts, 25 when it ends), never "midnight UTC plus 24 hours".

A wall time the clock shows twice (the repeated hour when summer time ends) is read as its first
occurrence (fold 0). A wall time the clock skips (the missing hour when summer time starts) is
read with the offset before the change, as zoneinfo does for fold 0: in Europe/Berlin,
2026-03-29 02:30 is 01:30 UTC, which the clock shows as 03:30.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")


def zone_of(user: Any) -> ZoneInfo:
    """The zone an operator reads times in: their own, or UTC while they have chosen none."""
    name = getattr(user, "time_zone", None)
    return ZoneInfo(name) if name else UTC_ZONE


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in `zone` (naive, as typed) as an aware UTC datetime; an aware one is kept."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The instant the operator's calendar day begins, in UTC."""
    return to_utc(datetime.combine(day, datetime.min.time()), zone)


def today_start(zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """When "today" began for the operator (the overview's "energy today")."""
    return day_start((now or datetime.now(UTC)).astimezone(zone).date(), zone)


def month_start(zone: ZoneInfo, now: datetime | None = None) -> datetime:
    return day_start((now or datetime.now(UTC)).astimezone(zone).date().replace(day=1), zone)


def parse_day(value: str) -> date | None:
    """A date filter's `YYYY-MM-DD`; None when empty or not a date (the filter is then ignored)."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def day_range(since: str, until: str, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """A "from day – to day" filter as UTC bounds [start, end): both days included, in `zone`."""
    first, last = parse_day(since), parse_day(until)
    start = day_start(first, zone) if first else None
    end = day_start(last + timedelta(days=1), zone) if last else None
    return start, end


def parse_local(value: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` field (`2026-10-25T02:30`) read in `zone`, as UTC. ValueError if garbled;
    a value that names its own offset keeps it."""
    if not value.strip():
        return None
    return to_utc(datetime.fromisoformat(value.strip()), zone)


def local_input(value: datetime | None, zone: ZoneInfo) -> str:
    """An instant as a `datetime-local` field's value in `zone`."""
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def show(value: datetime, zone: ZoneInfo, seconds: bool = True) -> str:
    """`2026-10-25 02:30:00 CEST`: the abbreviation tells the two 02:30s of the repeated hour apart."""
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + (local.tzname() or zone.key)


def abbreviations(zone: ZoneInfo, now: datetime | None = None) -> dict[str, str]:
    """The zone's names by UTC offset around now (`{"+01:00": "CET", "+02:00": "CEST"}`), for the
    page's script: browsers name zones by locale (Asia/Kolkata is "GMT+5:30" in English), and the
    times it adds live must read like those the server wrote."""
    return dict(_abbreviations(zone.key, (now or datetime.now(UTC)).year))


@functools.lru_cache(maxsize=512)
def _abbreviations(key: str, year: int) -> tuple[tuple[str, str], ...]:
    zone, names = ZoneInfo(key), {}
    for month in range(1, 13):
        for day in (1, 15):
            local = datetime(year, month, day, 12, tzinfo=UTC).astimezone(zone)
            names[_offset(local.utcoffset() or timedelta(0))] = local.tzname() or ""
    return tuple(names.items())


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
