"""The operator's zone at the dashboard's edges: calendar days and wall times, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from voltline.services.security.operators import valid_time_zone
from voltline.web.zones import day_range, day_start, parse_local, show, today_start, zone_of

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_spring_day_has_23_hours() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST.
    start, end = day_range("2026-03-29", "2026-03-29", BERLIN)
    assert start == utc(2026, 3, 28, 23)
    assert end == utc(2026, 3, 29, 22)
    assert end - start == day_start(date(2026, 3, 30), BERLIN) - day_start(date(2026, 3, 29), BERLIN)
    assert (end - start).total_seconds() == 23 * 3600


def test_the_autumn_day_has_25_hours() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET, the hour 02:00–03:00 happens twice.
    start, end = day_range("2026-10-25", "2026-10-25", BERLIN)
    assert start == utc(2026, 10, 24, 22)
    assert end == utc(2026, 10, 25, 23)
    assert (end - start).total_seconds() == 25 * 3600


def test_a_wall_time_of_the_repeated_hour_is_its_first_occurrence_and_shows_which_one() -> None:
    first = parse_local("2026-10-25T02:30", BERLIN)
    assert first == utc(2026, 10, 25, 0, 30)
    assert show(first, BERLIN) == "2026-10-25 02:30:00 CEST"
    # The second 02:30, an hour later, reads the same on the clock but not in the abbreviation.
    assert show(utc(2026, 10, 25, 1, 30), BERLIN) == "2026-10-25 02:30:00 CET"


def test_a_wall_time_the_clock_skips_counts_as_before_the_change() -> None:
    skipped = parse_local("2026-03-29T02:30", BERLIN)
    assert skipped == utc(2026, 3, 29, 1, 30)
    assert show(skipped, BERLIN) == "2026-03-29 03:30:00 CEST"


def test_an_evening_in_utc_is_the_next_day_in_berlin() -> None:
    late = utc(2026, 6, 14, 23, 30)
    assert show(late, BERLIN) == "2026-06-15 01:30:00 CEST"
    start, end = day_range("2026-06-15", "2026-06-15", BERLIN)
    assert start is not None and end is not None and start <= late < end
    utc_start, utc_end = day_range("2026-06-14", "2026-06-14", zone_of(None))
    assert utc_start is not None and utc_end is not None and utc_start <= late < utc_end


def test_today_is_the_operators_today() -> None:
    # 22:30 UTC on 2026-03-28 is already 2026-03-29 in Berlin, 23:30 CET.
    assert today_start(BERLIN, utc(2026, 3, 28, 23, 30)) == utc(2026, 3, 28, 23)
    assert today_start(zone_of(None), utc(2026, 3, 28, 23, 30)) == utc(2026, 3, 28)
    assert today_start(ZoneInfo("America/New_York"), utc(2026, 3, 29, 3)) == utc(2026, 3, 28, 4)


def test_filters_ignore_what_is_not_a_date_and_keep_stated_offsets() -> None:
    assert day_range("", "not a date", BERLIN) == (None, None)
    assert parse_local("2026-10-25T02:30+00:00", BERLIN) == utc(2026, 10, 25, 2, 30)
    assert parse_local("", BERLIN) is None
    with pytest.raises(ValueError):
        parse_local("25.10.2026", BERLIN)


def test_only_iana_names_are_zones() -> None:
    assert valid_time_zone(" Europe/Berlin ") == "Europe/Berlin"
    assert valid_time_zone("UTC") == "UTC"
    for bad in ["Mars/Olympus", "", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "CET-1CEST", "europe/berlin"]:
        with pytest.raises(ValueError):
            valid_time_zone(bad)


def test_the_pages_script_gets_the_zones_names_by_offset() -> None:
    from voltline.web.zones import abbreviations

    assert abbreviations(BERLIN, utc(2026, 12, 1)) == {"+01:00": "CET", "+02:00": "CEST"}
    assert abbreviations(ZoneInfo("Asia/Kolkata"), utc(2026, 12, 1)) == {"+05:30": "IST"}
    assert abbreviations(ZoneInfo("America/St_Johns"), utc(2026, 12, 1)) == {"-03:30": "NST", "-02:30": "NDT"}
    assert abbreviations(zone_of(None)) == {"+00:00": "UTC"}
