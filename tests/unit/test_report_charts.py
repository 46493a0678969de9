"""The report pages' chart specs: labels in the operator's calendar, units an operator reads."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from voltline.services.reports.hours import DURATION_BUCKETS_S, ENERGY_BUCKETS_WH
from voltline.services.reports.views import Bucket, EnergyPeriod, Reliability, Utilisation
from voltline.web import report_charts as charts

BERLIN = ZoneInfo("Europe/Berlin")


def buckets(bounds: tuple[int, ...]) -> list[Bucket]:
    return [Bucket(low, high, 0) for low, high in zip(bounds, [*bounds[1:], None], strict=True)]


def test_periods_are_named_by_the_operators_calendar_across_the_clock_change() -> None:
    # 23:00 UTC on 28 March is midnight in Berlin; 22:00 UTC on the 29th is the next midnight (CEST).
    periods = [EnergyPeriod(datetime(2026, 3, 28, 23, tzinfo=UTC), 1000.0),
               EnergyPeriod(datetime(2026, 3, 29, 22, tzinfo=UTC), 2500.0)]
    spec = charts.energy_over_time(periods, "day", BERLIN)
    assert spec["labels"] == ["2026-03-29", "2026-03-30"]
    assert spec["datasets"][0]["data"] == [1.0, 2.5] and spec["unit"] == "kWh" and spec["kind"] == "bar"
    assert charts.period_label(datetime(2026, 3, 29, 1, tzinfo=UTC), "hour", BERLIN) == "2026-03-29 03:00"
    assert charts.period_label(datetime(2026, 2, 28, 23, tzinfo=UTC), "month", BERLIN) == "2026-03"
    assert charts.period_label(datetime(2026, 3, 29, 22, tzinfo=UTC), "week", BERLIN) == "week of 2026-03-30"


def test_a_long_series_is_a_line() -> None:
    periods = [EnergyPeriod(datetime(2026, 1, 1, tzinfo=UTC), 1.0)] * (charts.LINE_PAST + 1)
    assert charts.energy_over_time(periods, "hour", BERLIN)["kind"] == "line"


def test_distribution_buckets_read_as_amounts() -> None:
    energy = [charts.bucket_label(b, "kWh") for b in buckets(ENERGY_BUCKETS_WH)]
    assert energy[0] == "under 1 kWh" and energy[1] == "1–5 kWh" and energy[-1].endswith("kWh or more")
    duration = [charts.bucket_label(b, "s") for b in buckets(DURATION_BUCKETS_S)]
    assert duration[0] == "under 15 min" and "30 min–1 h" in duration and duration[-1].endswith("h or more")


def test_utilisation_stacks_every_status_class_to_a_hundred_percent_and_keeps_the_top() -> None:
    items = [Utilisation(f"CP-{n}", 1, {}, {"charging": 0.25, "occupied": 0.05, "available": 0.6, "unavailable": 0.0,
                                            "faulted": 0.1, "unknown": 0.0}) for n in range(charts.TOP + 5)]
    spec = charts.utilisation(items)
    assert len(spec["labels"]) == charts.TOP and spec["labels"][0] == "CP-0 / 1"
    assert [d["label"] for d in spec["datasets"]] == ["Charging", "Occupied", "Available", "Unavailable", "Faulted",
                                                      "No status yet"]
    assert sum(d["data"][0] for d in spec["datasets"]) == 100.0


def test_faults_are_summed_per_error_code_most_first() -> None:
    def cp(name: str, codes: dict[str, int]) -> Reliability:
        return Reliability(name, 0, 0, 0, 0, sum(codes.values()), codes, {"total": 0}, 0, 0, None, None, False)
    spec = charts.faults_by_error_code([cp("A", {"GroundFailure": 1, "OverVoltage": 2}), cp("B", {"GroundFailure": 3})])
    assert spec["labels"] == ["GroundFailure", "OverVoltage"] and spec["datasets"][0]["data"] == [4, 2]
