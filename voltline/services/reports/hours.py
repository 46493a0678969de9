"""Cutting spans of time (and what accrued over them) into UTC hours: the rollups' grain."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)

ENERGY_BUCKETS_WH = (0, 1000, 5000, 10000, 20000, 50000)
DURATION_BUCKETS_S = (0, 900, 1800, 3600, 7200, 14400, 28800)


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def split_seconds(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """The seconds of [start, end) in each hour it touches (nothing for an empty span)."""
    parts: list[tuple[datetime, float]] = []
    hour = floor_hour(start)
    while hour < end:
        following = hour + HOUR
        seconds = (min(end, following) - max(start, hour)).total_seconds()
        if seconds > 0:
            parts.append((hour, seconds))
        hour = following
    return parts


def spread(amount: float, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """`amount` accrued evenly over [start, end), per hour: a session crossing midnight or a
    month counts on both sides in proportion to its time there. An instant keeps it whole."""
    if end <= start:
        return [(floor_hour(end), amount)] if amount else []
    total = (end - start).total_seconds()
    return [(hour, amount * seconds / total) for hour, seconds in split_seconds(start, end)]


def bucket(value: float, bounds: tuple[int, ...]) -> int:
    return max(0, bisect_right(bounds, value) - 1)
