"""The report pages' CSV downloads: the rows each chart was drawn from, with the REST API's columns
(`GET /api/v1/reports/...?format=csv`). Periods carry the operator's offset, as the page reads them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from voltline.services.reports.views import (
        EnergyByChargePoint,
        EnergyByIdTag,
        EnergyReport,
        PeakPowerReport,
        ReliabilityReport,
        SessionsReport,
        UtilisationReport,
    )

Row = Sequence[object]
UTILISATION_KEYS = ("charging", "occupied", "available", "unavailable", "faulted", "unknown")


def text(rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def _at(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat() if value is not None else ""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def energy(report: EnergyReport, zone: ZoneInfo) -> list[Row]:
    return [("period_start", "energy_wh"), *((_at(p.period_start, zone), _number(p.energy_wh)) for p in report.items)]


def energy_by_charge_point(report: EnergyByChargePoint) -> list[Row]:
    return [("charge_point_id", "energy_wh", "sessions"),
            *((i.charge_point_id, _number(i.energy_wh), i.sessions) for i in report.items)]


def energy_by_id_tag(report: EnergyByIdTag) -> list[Row]:
    if report.group == "parent":
        return [("parent_id_tag", "energy_wh", "sessions", "id_tags"),
                *((i.parent_id_tag or "", _number(i.energy_wh), i.sessions, getattr(i, "id_tags"))
                  for i in report.items)]
    return [("id_tag", "parent_id_tag", "energy_wh", "sessions"),
            *((getattr(i, "id_tag"), i.parent_id_tag or "", _number(i.energy_wh), i.sessions) for i in report.items)]


def sessions(report: SessionsReport) -> list[Row]:
    rows: list[Row] = [("section", "bucket", "count")]
    rows += [("energy_wh", b.lower, b.count) for b in report.energy_distribution]
    rows += [("duration_s", b.lower, b.count) for b in report.duration_distribution]
    rows += [("hour_of_day", h.hour, h.count) for h in report.by_hour_of_day]
    rows += [("day_of_week", d.name, d.count) for d in report.by_day_of_week]
    return rows


def utilisation(report: UtilisationReport) -> list[Row]:
    head = ("charge_point_id", "connector_id", *(f"{k}_s" for k in UTILISATION_KEYS),
            *(f"{k}_share" for k in UTILISATION_KEYS))
    return [head, *((i.charge_point_id, "" if i.connector_id is None else i.connector_id,
                     *(_number(i.seconds.get(k, 0.0)) for k in UTILISATION_KEYS),
                     *(_number(i.shares.get(k, 0.0)) for k in UTILISATION_KEYS)) for i in report.items)]


def reliability(report: ReliabilityReport) -> list[Row]:
    head = ("charge_point_id", "connected_s", "offline_s", "connected_share", "reconnects", "faults",
            "faults_by_error_code", "remote_start_rejected", "invalid", "blocked", "fault_rate_per_day",
            "reconnect_rate_per_day", "baseline_fault_rate_per_day", "baseline_reconnect_rate_per_day", "flagged",
            "flag_reasons")
    return [head, *((
        i.charge_point_id, _number(i.connected_s), _number(i.offline_s), _number(i.connected_share), i.reconnects,
        i.faults, ";".join(f"{code}={n}" for code, n in sorted(i.faults_by_error_code.items())),
        i.failed_starts.get("remote_start_rejected", 0), i.failed_starts.get("invalid", 0),
        i.failed_starts.get("blocked", 0), _number(i.fault_rate_per_day), _number(i.reconnect_rate_per_day),
        _number(i.baseline_fault_rate_per_day), _number(i.baseline_reconnect_rate_per_day),
        "true" if i.flagged else "false", ";".join(i.flag_reasons),
    ) for i in report.items)]


def peak_power(report: PeakPowerReport, zone: ZoneInfo) -> list[Row]:
    return [("period_start", "peak_power_w"), *((_at(p.period_start, zone), _number(p.peak_power_w)) for p in report.items)]


def peak_power_by_charge_point(report: PeakPowerReport, zone: ZoneInfo) -> list[Row]:
    return [("charge_point_id", "peak_power_w", "peak_at"),
            *((i.charge_point_id, _number(i.peak_power_w), _at(i.peak_at, zone)) for i in report.by_charge_point)]
