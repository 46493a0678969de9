from datetime import UTC, datetime, timedelta, timezone

import pytest

from voltline.ocpp import timestamps


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "2026-01-02T03:04:05.678Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (datetime(2026, 1, 2, 5, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2))), "2026-01-02T03:04:05.999Z"),
    ],
)
def test_format_is_utc_with_milliseconds_and_z(value: datetime, text: str) -> None:
    assert timestamps.format(value) == text
    assert timestamps.parse(text) == value.replace(microsecond=value.microsecond // 1000 * 1000)


def test_parse_without_zone_means_utc() -> None:
    assert timestamps.parse("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
