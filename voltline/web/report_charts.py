"""The report pages' charts: each report of services/reports turned into a chart spec for
static/charts.js (labels, datasets, unit), in the units an operator reads (kWh, kW, hours, %).

Only presentation: which items, in what order, with what labels. The figures are the report's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

from voltline.services.reports.views import (
    Bucket,
    ChargePointEnergy,
    ChargePointPeak,
    DayCount,
    EnergyPeriod,
    HourCount,
    IdTagEnergy,
    ParentIdTagEnergy,
    PeakPeriod,
    Reliability,
    Utilisation,
)

# Horizontal bar charts show this many items; the CSV has them all.
TOP = 20
# Past this many periods a line reads better than bars too thin to see.
LINE_PAST = 120
# The status classes of the utilisation report, in the order they stack, with their names.
UTILISATION = (("charging", "Charging"), ("occupied", "Occupied"), ("available", "Available"),
               ("unavailable", "Unavailable"), ("faulted", "Faulted"), ("unknown", "No status yet"))


class Dataset(TypedDict, total=False):
    label: str
    data: list[float]
    tone: str


class ChartSpec(TypedDict, total=False):
    kind: str  # "bar" | "line" | "doughnut"
    labels: list[str]
    datasets: list[Dataset]
    unit: str
    digits: int
    stacked: bool
    percent: bool
    horizontal: bool


def period_label(start: datetime, interval: str, zone: ZoneInfo) -> str:
    """A period as the operator's calendar names it (the report cut it in their zone)."""
    local = start.astimezone(zone)
    if interval == "hour":
        return local.strftime("%Y-%m-%d %H:%M")
    if interval == "week":
        return "week of " + local.strftime("%Y-%m-%d")
    if interval == "month":
        return local.strftime("%Y-%m")
    return local.strftime("%Y-%m-%d")


def kwh(wh: float) -> float:
    return round(wh / 1000, 3)


def over_time(starts: list[datetime], values: list[float], interval: str, zone: ZoneInfo, *,
              label: str, tone: str, unit: str) -> ChartSpec:
    return {
        "kind": "line" if len(values) > LINE_PAST else "bar",
        "labels": [period_label(start, interval, zone) for start in starts],
        "datasets": [{"label": label, "data": values, "tone": tone}],
        "unit": unit, "digits": 2,
    }


def energy_over_time(periods: Sequence[EnergyPeriod], interval: str, zone: ZoneInfo) -> ChartSpec:
    return over_time([p.period_start for p in periods], [kwh(p.energy_wh) for p in periods], interval, zone,
                     label="Energy delivered", tone="energy", unit="kWh")


def ranking(labels: list[str], values: list[float], *, label: str, tone: str, unit: str, digits: int = 2) -> ChartSpec:
    return {"kind": "bar", "horizontal": True, "labels": labels[:TOP],
            "datasets": [{"label": label, "data": values[:TOP], "tone": tone}], "unit": unit, "digits": digits}


def energy_by_charge_point(items: Sequence[ChargePointEnergy]) -> ChartSpec:
    return ranking([i.charge_point_id for i in items], [kwh(i.energy_wh) for i in items],
                   label="Energy delivered", tone="energy", unit="kWh")


def energy_by_id_tag(items: Sequence[IdTagEnergy] | Sequence[ParentIdTagEnergy], group: str) -> ChartSpec:
    labels = [(i.parent_id_tag or "(no group)") if group == "parent" else getattr(i, "id_tag") for i in items]
    return ranking(labels, [kwh(i.energy_wh) for i in items], label="Energy delivered", tone="sessions", unit="kWh")


def _amount(value: int, unit: str) -> tuple[str, str]:
    """A bucket bound as (number, unit): Wh as kWh, seconds as min or h."""
    if unit == "kWh":
        return f"{value / 1000:g}", "kWh"
    if value and value % 3600 == 0:
        return f"{value // 3600}", "h"
    return f"{value // 60}", "min"


def bucket_label(bucket: Bucket, unit: str) -> str:
    """`under 15 min`, `15–30 min`, `30 min–1 h`, `8 h or more` (unit "kWh" for energy, else seconds)."""
    if bucket.upper is None:
        return "{} {} or more".format(*_amount(bucket.lower, unit))
    high, high_unit = _amount(bucket.upper, unit)
    if bucket.lower == 0:
        return f"under {high} {high_unit}"
    low, low_unit = _amount(bucket.lower, unit)
    return f"{low}–{high} {high_unit}" if low_unit == high_unit else f"{low} {low_unit}–{high} {high_unit}"


def distribution(buckets: Sequence[Bucket], unit: str, tone: str) -> ChartSpec:
    return {"kind": "bar", "labels": [bucket_label(b, unit) for b in buckets],
            "datasets": [{"label": "Sessions", "data": [b.count for b in buckets], "tone": tone}],
            "unit": "sessions", "digits": 0}


def by_hour_of_day(hours: Sequence[HourCount]) -> ChartSpec:
    return {"kind": "bar", "labels": [f"{h.hour:02d}:00" for h in hours],
            "datasets": [{"label": "Sessions started", "data": [h.count for h in hours], "tone": "sessions"}],
            "unit": "sessions", "digits": 0}


def by_day_of_week(days: Sequence[DayCount]) -> ChartSpec:
    return {"kind": "bar", "labels": [d.name for d in days],
            "datasets": [{"label": "Sessions started", "data": [d.count for d in days], "tone": "sessions"}],
            "unit": "sessions", "digits": 0}


def item_label(item: Utilisation) -> str:
    if item.connector_id is None:
        return item.charge_point_id
    if item.evse_id is None:
        return f"{item.charge_point_id} / {item.connector_id}"
    return f"{item.charge_point_id} / EVSE {item.evse_id} connector {item.connector_id}"


def utilisation(items: Sequence[Utilisation]) -> ChartSpec:
    """Each charge point's (or connector's) time as stacked shares of 100 %."""
    shown = list(items)[:TOP]
    return {
        "kind": "bar", "horizontal": True, "stacked": True, "percent": True, "unit": "% of the time", "digits": 1,
        "labels": [item_label(i) for i in shown],
        "datasets": [{"label": name, "data": [round(100 * i.shares.get(key, 0.0), 2) for i in shown], "tone": name}
                     for key, name in UTILISATION],
    }


def utilisation_totals(totals: dict[str, float]) -> ChartSpec:
    seconds = {key: totals.get(f"{key}_s", totals.get(key, 0.0)) for key, _ in UTILISATION}
    whole = sum(seconds.values()) or 1.0
    return {"kind": "doughnut", "labels": [name for _, name in UTILISATION], "percent": True, "digits": 1,
            "datasets": [{"label": "Share of the time",
                          "data": [round(100 * seconds[key] / whole, 2) for key, _ in UTILISATION]}]}


def connected_shares(items: Sequence[Reliability]) -> ChartSpec:
    shown = list(items)[:TOP]
    def share(i: Reliability) -> float:
        whole = i.connected_s + i.offline_s
        return round(100 * i.connected_s / whole, 2) if whole else 0.0
    return {"kind": "bar", "horizontal": True, "stacked": True, "percent": True, "unit": "% of the time", "digits": 1,
            "labels": [i.charge_point_id for i in shown],
            "datasets": [{"label": "Connected", "data": [share(i) for i in shown], "tone": "connected"},
                         {"label": "Offline", "data": [round(100 - share(i), 2) if i.connected_s + i.offline_s else 0.0
                                                        for i in shown], "tone": "offline"}]}


def incidents(items: Sequence[Reliability]) -> ChartSpec:
    shown = list(items)[:TOP]
    return {"kind": "bar", "horizontal": True, "unit": "events", "digits": 0,
            "labels": [i.charge_point_id for i in shown],
            "datasets": [{"label": "Faults", "data": [i.faults for i in shown], "tone": "bad"},
                         {"label": "Reconnects", "data": [i.reconnects for i in shown], "tone": "warn"}]}


FAILED_STARTS = (("remote_start_rejected", "Remote start rejected", "warn"), ("invalid", "Id tag invalid", "bad"),
                 ("blocked", "Id tag blocked", "blocked"))


def failed_starts(items: Sequence[Reliability]) -> ChartSpec:
    shown = [i for i in items if i.failed_starts.get("total", 0)][:TOP]
    return {"kind": "bar", "horizontal": True, "stacked": True, "unit": "starts", "digits": 0,
            "labels": [i.charge_point_id for i in shown],
            "datasets": [{"label": name, "data": [i.failed_starts.get(key, 0) for i in shown], "tone": tone}
                         for key, name, tone in FAILED_STARTS]}


def faults_by_error_code(items: Sequence[Reliability]) -> ChartSpec:
    counts: dict[str, int] = {}
    for item in items:
        for code, n in item.faults_by_error_code.items():
            counts[code] = counts.get(code, 0) + n
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"kind": "bar", "unit": "faults", "digits": 0, "labels": [code for code, _ in ordered],
            "datasets": [{"label": "Faults", "data": [n for _, n in ordered], "tone": "bad"}]}


def peak_over_time(periods: Sequence[PeakPeriod], interval: str, zone: ZoneInfo) -> ChartSpec:
    return over_time([p.period_start for p in periods], [kwh(p.peak_power_w) for p in periods], interval, zone,
                     label="Network peak power", tone="power", unit="kW")


def peak_by_charge_point(items: Sequence[ChargePointPeak]) -> ChartSpec:
    return ranking([i.charge_point_id for i in items], [kwh(i.peak_power_w) for i in items],
                   label="Peak power", tone="power", unit="kW", digits=1)
