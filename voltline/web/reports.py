"""The Reports section: energy, sessions, utilisation, reliability and peak power, each as charts
with the filters an operator needs and a CSV of the same figures.

Every figure comes from the report service (services/reports); this module reads the filters
(days in the operator's zone, which also cuts the report's days, weeks and months), asks the
service and hands its answer to the charts (report_charts) and to the downloads, written by
the same CSV writer as the REST API's (services/reports/csv_export).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from voltline.services.reports import csv_export
from voltline.services.reports.service import Reports
from voltline.services.reports.views import INTERVALS as REPORT_INTERVALS
from voltline.services.reports.views import ReportFilter, Utilisation
from voltline.web import report_charts as charts
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, operator_zone, render
from voltline.web.zones import day_start, parse_day

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

DEFAULT_DAYS = 30
MAX_DAYS = 400  # the report service's own limit
OCPP_VERSIONS = ("1.6", "2.0.1")  # as the charge point resource shows them
INTERVALS = tuple((name, name.capitalize()) for name in REPORT_INTERVALS)
TABS = (("/reports/energy", "Energy"), ("/reports/sessions", "Sessions"), ("/reports/utilisation", "Utilisation"),
        ("/reports/reliability", "Reliability"), ("/reports/peak-power", "Peak power"))


@dataclass(frozen=True, slots=True)
class Filters:
    """The form's fields as typed, and what they mean for the report."""

    since: str
    until: str
    charge_point_id: str
    id_tag: str
    parent_id_tag: str
    ocpp_version: str
    start: datetime
    end: datetime
    zone: ZoneInfo
    problem: str | None

    def form(self) -> dict[str, str]:
        return {"since": self.since, "until": self.until, "charge_point_id": self.charge_point_id,
                "id_tag": self.id_tag, "parent_id_tag": self.parent_id_tag, "ocpp_version": self.ocpp_version}

    def report_filter(self, reports: Reports) -> ReportFilter:
        return reports.filter(self.start, self.end, self.zone.key, charge_point_ids=_names(self.charge_point_id),
                              id_tags=_names(self.id_tag), parent_id_tag=self.parent_id_tag or None,
                              ocpp_version=self.ocpp_version or None)

    def query(self, **extra: str) -> str:
        return urlencode({k: v for k, v in {**self.form(), **extra}.items() if v})


def _names(field: str) -> tuple[str, ...]:
    """`CP-1, CP-2` → ("CP-1", "CP-2"): a group of charge points (or id tags) is typed as a list."""
    return tuple(dict.fromkeys(n.strip() for n in field.replace(";", ",").split(",") if n.strip()))


def read_filters(request: Request) -> Filters:
    """The days typed (both included), in the operator's zone; the last 30 days when none."""
    q = request.query_params
    zone = operator_zone(request)
    today = datetime.now(UTC).astimezone(zone).date()
    first, last = parse_day(q.get("since", "")), parse_day(q.get("until", ""))
    problem = None
    last = last or today
    first = first or (last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        problem = f"The range starts after it ends: showing {last.isoformat()} alone."
        first = last
    if (last - first).days + 1 > MAX_DAYS:
        problem = f"A report covers at most {MAX_DAYS} days: showing the {MAX_DAYS} days up to {last.isoformat()}."
        first = last - timedelta(days=MAX_DAYS - 1)
    version = q.get("ocpp_version", "")
    return Filters(
        since=q.get("since", ""), until=q.get("until", ""), charge_point_id=q.get("charge_point_id", "").strip(),
        id_tag=q.get("id_tag", "").strip(), parent_id_tag=q.get("parent_id_tag", "").strip(),
        ocpp_version=version if version in OCPP_VERSIONS else "",
        start=day_start(first, zone), end=day_start(last + timedelta(days=1), zone), zone=zone, problem=problem,
    )


def _choice(request: Request, name: str, allowed: Sequence[str], default: str) -> str:
    value = request.query_params.get(name, default)
    return value if value in allowed else default


def service(request: Request) -> Reports:
    return dashboard(request).node.services.reports  # type: ignore[no-any-return]


def asked(request: Request) -> tuple[Filters, ReportFilter, Reports]:
    """The page's filters, the report filter they make, and the report service to ask."""
    filters, reports = read_filters(request), service(request)
    return filters, filters.report_filter(reports), reports


def page(request: Request, template: str, filters: Filters, values: dict[str, object]) -> Response:
    return render(request, template, {
        "tabs": TABS, "ocpp_versions": OCPP_VERSIONS, "intervals": INTERVALS, "filters": filters.form(),
        "problem": filters.problem,
        "range_start": filters.start, "range_end": filters.end - timedelta(seconds=1),
        # The days the report covers, shown in the date fields when none were typed.
        "shown_since": filters.start.astimezone(filters.zone).date().isoformat(),
        "shown_until": (filters.end.astimezone(filters.zone) - timedelta(seconds=1)).date().isoformat(),
        "query": filters.query(), "extra_query": lambda **kw: filters.query(**kw), **values,
    })


def download(filters: Filters, name: str, text: str) -> Response:
    first = filters.start.astimezone(filters.zone).date()
    last = (filters.end.astimezone(filters.zone) - timedelta(seconds=1)).date()
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="voltline-{name}-{first:%Y%m%d}-{last:%Y%m%d}.csv"'})


@router.get("/reports")
async def reports_home(request: Request) -> Response:
    return RedirectResponse("/reports/energy" + (f"?{request.url.query}" if request.url.query else ""), status_code=303)


# -- energy ---------------------------------------------------------------------------------


@router.get("/reports/energy")
async def energy_page(request: Request) -> Response:
    filters, where, reports = asked(request)
    interval = _choice(request, "interval", REPORT_INTERVALS, "day")
    group = _choice(request, "group", ["id_tag", "parent"], "id_tag")
    over_time = await reports.energy(where, interval)
    by_cp = await reports.energy_by_charge_point(where)
    by_tag = await reports.energy_by_id_tag(where, group)
    return page(request, "reports_energy.html", filters, {
        "interval": interval, "group": group, "report": over_time, "by_cp": by_cp, "by_tag": by_tag,
        "chart_time": charts.energy_over_time(over_time.items, interval, filters.zone),
        "chart_cp": charts.energy_by_charge_point(by_cp.items),
        "chart_tag": charts.energy_by_id_tag(by_tag.items, group),
        "top": charts.TOP,
    })


@router.get("/reports/energy.csv")
async def energy_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    interval = _choice(request, "interval", REPORT_INTERVALS, "day")
    report = await reports.energy(where, interval)
    return download(filters, f"energy-per-{interval}", csv_export.energy(report))


@router.get("/reports/energy-by-charge-point.csv")
async def energy_by_charge_point_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    report = await reports.energy_by_charge_point(where)
    return download(filters, "energy-by-charge-point", csv_export.energy_by_charge_point(report))


@router.get("/reports/energy-by-id-tag.csv")
async def energy_by_id_tag_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    group = _choice(request, "group", ["id_tag", "parent"], "id_tag")
    report = await reports.energy_by_id_tag(where, group)
    return download(filters, "energy-by-id-tag" if group == "id_tag" else "energy-by-id-tag-group",
                    csv_export.energy_by_id_tag(report))


# -- sessions -------------------------------------------------------------------------------


@router.get("/reports/sessions")
async def sessions_page(request: Request) -> Response:
    filters, where, reports = asked(request)
    report = await reports.sessions(where)
    return page(request, "reports_sessions.html", filters, {
        "report": report,
        "chart_energy": charts.distribution(report.energy_distribution, "kWh", "energy"),
        "chart_duration": charts.distribution(report.duration_distribution, "s", "sessions"),
        "chart_hours": charts.by_hour_of_day(report.by_hour_of_day),
        "chart_days": charts.by_day_of_week(report.by_day_of_week),
    })


@router.get("/reports/sessions.csv")
async def sessions_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    report = await reports.sessions(where)
    return download(filters, "sessions", csv_export.sessions(report))


# -- utilisation ----------------------------------------------------------------------------

# The order of the chart: the busiest first, the idlest first, or the most faulted first.
ORDERS: dict[str, Callable[[Utilisation], float]] = {
    "busiest": lambda i: -i.shares.get("charging", 0.0),
    "idlest": lambda i: i.shares.get("charging", 0.0) + i.shares.get("occupied", 0.0),
    "faulted": lambda i: -i.shares.get("faulted", 0.0),
}


@router.get("/reports/utilisation")
async def utilisation_page(request: Request) -> Response:
    filters, where, reports = asked(request)
    group = _choice(request, "group", ["connector", "charge_point"], "connector")
    order = _choice(request, "order", list(ORDERS), "busiest")
    report = await reports.utilisation(where, group)
    items = sorted(report.items, key=ORDERS[order])
    return page(request, "reports_utilisation.html", filters, {
        "group": group, "order": order, "report": report, "count": len(items), "top": charts.TOP,
        "chart_items": charts.utilisation(items), "chart_totals": charts.utilisation_totals(report.totals),
    })


@router.get("/reports/utilisation.csv")
async def utilisation_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    group = _choice(request, "group", ["connector", "charge_point"], "connector")
    report = await reports.utilisation(where, group)
    return download(filters, f"utilisation-per-{group.replace('_', '-')}", csv_export.utilisation(report))


# -- reliability ----------------------------------------------------------------------------


@router.get("/reports/reliability")
async def reliability_page(request: Request) -> Response:
    filters, where, reports = asked(request)
    report = await reports.reliability(where)
    return page(request, "reports_reliability.html", filters, {
        "report": report, "flagged": [i for i in report.items if i.flagged], "count": len(report.items),
        "top": charts.TOP,
        "chart_connected": charts.connected_shares(report.items), "chart_incidents": charts.incidents(report.items),
        "chart_codes": charts.faults_by_error_code(report.items), "chart_starts": charts.failed_starts(report.items),
    })


@router.get("/reports/reliability.csv")
async def reliability_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    report = await reports.reliability(where)
    return download(filters, "reliability", csv_export.reliability(report))


# -- peak power -----------------------------------------------------------------------------


@router.get("/reports/peak-power")
async def peak_power_page(request: Request) -> Response:
    filters, where, reports = asked(request)
    interval = _choice(request, "interval", REPORT_INTERVALS, "day")
    report = await reports.peak_power(where, interval)
    return page(request, "reports_peak_power.html", filters, {
        "interval": interval, "report": report, "top": charts.TOP,
        "chart_time": charts.peak_over_time(report.items, interval, filters.zone),
        "chart_cp": charts.peak_by_charge_point(report.by_charge_point),
    })


@router.get("/reports/peak-power.csv")
async def peak_power_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    interval = _choice(request, "interval", REPORT_INTERVALS, "day")
    report = await reports.peak_power(where, interval)
    return download(filters, f"peak-power-per-{interval}", csv_export.peak_power(report))


@router.get("/reports/peak-power-by-charge-point.csv")
async def peak_power_by_charge_point_csv(request: Request) -> Response:
    filters, where, reports = asked(request)
    interval = _choice(request, "interval", REPORT_INTERVALS, "day")
    report = await reports.peak_power(where, interval)
    return download(filters, "peak-power-by-charge-point", csv_export.peak_power(report, by_charge_point=True))

