"""Each report as CSV: a header line, then one line per item, the columns of the JSON items."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from voltline.services.reports import views as v


def _lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def energy(report: v.EnergyReport) -> str:
    return _lines(("period_start", "energy_wh"), ((_iso(i.period_start), i.energy_wh) for i in report.items))


def energy_by_charge_point(report: v.EnergyByChargePoint) -> str:
    return _lines(("charge_point_id", "energy_wh", "sessions"),
                  ((i.charge_point_id, i.energy_wh, i.sessions) for i in report.items))


def energy_by_id_tag(report: v.EnergyByIdTag) -> str:
    if report.group == "parent":
        return _lines(("parent_id_tag", "energy_wh", "sessions", "id_tags"),
                      ((i.parent_id_tag, i.energy_wh, i.sessions, i.id_tags) for i in report.items  # type: ignore[union-attr]
                       ))
    return _lines(("id_tag", "parent_id_tag", "energy_wh", "sessions"),
                  ((i.id_tag, i.parent_id_tag, i.energy_wh, i.sessions) for i in report.items))  # type: ignore[union-attr]


def sessions(report: v.SessionsReport) -> str:
    rows: list[tuple[Any, ...]] = []
    rows += [("energy_wh", b.lower, b.count) for b in report.energy_distribution]
    rows += [("duration_s", b.lower, b.count) for b in report.duration_distribution]
    rows += [("hour_of_day", h.hour, h.count) for h in report.by_hour_of_day]
    rows += [("day_of_week", d.name, d.count) for d in report.by_day_of_week]
    return _lines(("section", "bucket", "count"), rows)


def utilisation(report: v.UtilisationReport) -> str:
    header = ["charge_point_id", "connector_id", "evse_id"]
    header += [f"{name}_s" for name in v.STATUS_CLASSES] + [f"{name}_share" for name in v.STATUS_CLASSES]
    return _lines(header, (
        [i.charge_point_id, i.connector_id, i.evse_id, *(i.seconds[n] for n in v.STATUS_CLASSES),
         *(i.shares[n] for n in v.STATUS_CLASSES)]
        for i in report.items
    ))


def reliability(report: v.ReliabilityReport) -> str:
    header = ("charge_point_id", "connected_s", "offline_s", "connected_share", "reconnects", "faults",
              "faults_by_error_code", "remote_start_rejected", "invalid", "blocked", "fault_rate_per_day",
              "reconnect_rate_per_day", "baseline_fault_rate_per_day", "baseline_reconnect_rate_per_day",
              "flagged", "flag_reasons")
    return _lines(header, (
        (i.charge_point_id, i.connected_s, i.offline_s, i.connected_share, i.reconnects, i.faults,
         ";".join(f"{code}={n}" for code, n in i.faults_by_error_code.items()),
         i.failed_starts["remote_start_rejected"], i.failed_starts["invalid"], i.failed_starts["blocked"],
         i.fault_rate_per_day, i.reconnect_rate_per_day, i.baseline_fault_rate_per_day,
         i.baseline_reconnect_rate_per_day, str(i.flagged).lower(), ";".join(i.flag_reasons))
        for i in report.items
    ))


def peak_power(report: v.PeakPowerReport, by_charge_point: bool = False) -> str:
    if by_charge_point:
        return _lines(("charge_point_id", "peak_power_w", "peak_at"),
                      ((i.charge_point_id, i.peak_power_w, _iso(i.peak_at)) for i in report.by_charge_point))
    return _lines(("period_start", "peak_power_w"), ((_iso(i.period_start), i.peak_power_w) for i in report.items))
