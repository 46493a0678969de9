"""OCPP dateTime values (RFC 3339) to and from timezone-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def parse(value: str) -> datetime:
    """An OCPP dateTime as aware UTC; a charge point that omits the zone means UTC."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format(value: datetime) -> str:  # noqa: A001 - the module's name qualifies it: timestamps.format
    """An OCPP dateTime in UTC with millisecond precision and a Z suffix."""
    # isoformat is C code; strftime costs several times as much on the Heartbeat hot path.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:23] + "Z"
