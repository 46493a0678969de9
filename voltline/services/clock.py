"""Time as the services see it: always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from voltline.ocpp.timestamps import format as iso
from voltline.ocpp.timestamps import parse as parse_timestamp

__all__ = ["iso", "now", "parse_timestamp"]


def now() -> datetime:
    return datetime.now(UTC)
