"""Charging profiles in the dashboard: the installed ones, a form that builds a SetChargingProfile,
ClearChargingProfile per profile, and the composite schedule a charge point reports.

The form is read into an OCPP 1.6 SetChargingProfile here, sent as written (as the command page
sends its requests); whether it is valid is the smart charging service's word on the domain's
profile it means (OCPP's rules and the charge point's schema, the same check the REST API gets).
Each problem comes back at its field of the domain request and is shown at the form field that
set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from voltline.services.clock import iso, now, parse_timestamp
from voltline.ocpp.commands import Reply
from voltline.ocpp.v16.outbound import read_charging_profile
from voltline.services.errors import NotFound
from voltline.services.remote_control.request_checks import Path, Problem
from voltline.services.node import Node
from voltline.services.provisioning.views import ChargePointView
from voltline.services.smart_charging.profile_rules import PROFILE, SCHEDULE
from voltline.web import commands
from voltline.web.places import evse_places
from voltline.web.form_fields import FieldError, answer, parse_integer, parse_moment, parse_number, raw
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, operator_zone, render, web_session
from voltline.web.zones import local_input

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

PAGE_SIZE = 50
PURPOSES = ["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]
KINDS = ["Absolute", "Recurring", "Relative"]
RECURRENCIES = ["Daily", "Weekly"]
UNITS = ["A", "W"]
STATUSES = ["Active", "Replaced", "Cleared"]

# Where in the domain request (InstallChargingProfile) → the form field (and its label) that set it.
FIELDS: dict[Path, tuple[str, str]] = {
    ("connector_id",): ("connector_id", "Connector"),
    (*PROFILE, "charging_profile_id"): ("charging_profile_id", "Profile id"),
    (*PROFILE, "stack_level"): ("stack_level", "Stack level"),
    (*PROFILE, "purpose"): ("purpose", "Purpose"),
    (*PROFILE, "transaction_id"): ("transaction_id", "Transaction"),
    (*PROFILE, "kind"): ("kind", "Kind"),
    (*PROFILE, "recurrency_kind"): ("recurrency_kind", "Recurrency"),
    (*PROFILE, "valid_from"): ("valid_from", "Valid from"),
    (*PROFILE, "valid_to"): ("valid_to", "Valid to"),
    (*SCHEDULE, "start_schedule"): ("start_schedule", "Schedule start"),
    (*SCHEDULE, "duration"): ("duration", "Duration"),
    (*SCHEDULE, "rate_unit"): ("rate_unit", "Rate unit"),
    (*SCHEDULE, "min_charging_rate"): ("min_charging_rate", "Minimum charging rate"),
    (*SCHEDULE, "periods"): ("periods", "Periods"),
}
PERIOD_FIELDS = {"start_period": ("period_start", "start offset"), "limit": ("period_limit", "limit"),
                 "number_phases": ("period_phases", "phases")}


def field_of(path: Path) -> tuple[str, str]:
    """The form field (name, label) a problem at `path` belongs to: the nearest one above it."""
    periods = (*SCHEDULE, "periods")
    if path[: len(periods)] == periods and len(path) > len(periods) and isinstance(path[len(periods)], int):
        index = int(path[len(periods)])
        part = path[len(periods) + 1] if len(path) > len(periods) + 1 else None
        name, what = PERIOD_FIELDS.get(str(part), ("period", ""))
        return f"{name}.{index}", f"Period {index + 1} {what}".strip()
    for end in range(len(path), 0, -1):
        if path[:end] in FIELDS:
            return FIELDS[path[:end]]
    return "form", "The profile"


@dataclass
class Period:
    start: str = ""
    limit: str = ""
    phases: str = ""


@dataclass
class ProfileForm:
    """What the operator entered, as entered: shown again, with the problems, when not sent."""

    charge_point_id: str
    connector_id: str = "0"
    charging_profile_id: str = "1"
    stack_level: str = "0"
    purpose: str = "TxDefaultProfile"
    transaction_id: str = ""
    kind: str = "Absolute"
    recurrency_kind: str = "Daily"
    start_schedule: str = ""
    duration: str = ""
    valid_from: str = ""
    valid_to: str = ""
    rate_unit: str = "A"
    min_charging_rate: str = ""
    periods: list[Period] = field(default_factory=lambda: [Period("0", "", "")])

    @classmethod
    def read(cls, form: FormData) -> ProfileForm:
        names = ("charge_point_id", "connector_id", "charging_profile_id", "stack_level", "purpose", "transaction_id",
                 "kind", "recurrency_kind", "start_schedule", "duration", "valid_from", "valid_to", "rate_unit",
                 "min_charging_rate")
        values = {name: raw(form, name) for name in names}
        columns = [[str(v).strip() for v in form.getlist(name)] for name in ("period_start", "period_limit", "period_phases")]
        rows = max(len(c) for c in columns)
        periods = [Period(*(c[i] if i < len(c) else "" for c in columns)) for i in range(rows)]
        # A row left empty is no period; keep at least one row to fill in.
        periods = [p for p in periods if p.start or p.limit or p.phases] or [Period("0", "", "")]
        return cls(**values, periods=periods)

    def build(self, errors: dict[str, list[str]], zone: ZoneInfo) -> tuple[int | None, dict[str, Any] | None]:
        """(connector id, the ChargingProfile) as OCPP 1.6 writes it, its times typed in `zone`; what
        cannot be read goes to `errors`."""

        def parse_time(value: str, name: str, label: str) -> Any:
            return parse_moment(value, name, label, zone)

        def read(name: str, label: str, parse: Any, value: str, required: bool = True) -> Any:
            if not value:
                if required:
                    add(errors, name, f"{label} is missing")
                return None
            try:
                return parse(value, name, label)
            except FieldError as exc:
                add(errors, name, exc.message)
                return None

        connector_id = read("connector_id", "Connector", parse_integer, self.connector_id)
        profile: dict[str, Any] = {
            "chargingProfileId": read("charging_profile_id", "Profile id", parse_integer, self.charging_profile_id),
            "stackLevel": read("stack_level", "Stack level", parse_integer, self.stack_level),
            "chargingProfilePurpose": self.purpose,
            "chargingProfileKind": self.kind,
        }
        if self.purpose == "TxProfile":
            # The form names the session; the service checks that it runs on the connector.
            if not self.transaction_id:
                add(errors, "transaction_id", "Transaction is missing: a TxProfile is for a running session")
            else:
                profile["transactionId"] = read("transaction_id", "Transaction", parse_integer, self.transaction_id)
        if self.kind == "Recurring":
            profile["recurrencyKind"] = self.recurrency_kind
        for name, key, label in (("valid_from", "validFrom", "Valid from"), ("valid_to", "validTo", "Valid to")):
            moment = read(name, label, parse_time, getattr(self, name), required=False)
            if moment is not None:
                profile[key] = iso(moment)
        schedule: dict[str, Any] = {"chargingRateUnit": self.rate_unit}
        if self.kind != "Relative":
            start = read("start_schedule", "Schedule start", parse_time, self.start_schedule, required=self.kind == "Recurring")
            if start is not None:
                schedule["startSchedule"] = iso(start)
        duration = read("duration", "Duration", parse_integer, self.duration, required=False)
        if duration is not None:
            schedule["duration"] = duration
        periods = []
        for index, row in enumerate(self.periods):
            period = {
                "startPeriod": read(f"period_start.{index}", f"Period {index + 1} start offset", parse_integer, row.start),
                "limit": read(f"period_limit.{index}", f"Period {index + 1} limit", parse_number, row.limit),
            }
            phases = read(f"period_phases.{index}", f"Period {index + 1} phases", parse_integer, row.phases, required=False)
            if phases is not None:
                period["numberPhases"] = phases
            periods.append(period)
        schedule["chargingSchedulePeriod"] = periods
        rate = read("min_charging_rate", "Minimum charging rate", parse_number, self.min_charging_rate, required=False)
        if rate is not None:
            schedule["minChargingRate"] = rate
        profile["chargingSchedule"] = schedule
        return connector_id, profile


def add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def problems_at_fields(problems: list[Problem], errors: dict[str, list[str]]) -> None:
    for problem in problems:
        name, label = field_of(problem.path)
        add(errors, name, f"{label}: {problem.message}")


# -- pages --------------------------------------------------------------------------------


@router.get("/charging-profiles")
async def profile_list(
    request: Request, charge_point_id: str = "", connector_id: str = "", purpose: str = "", status: str = "Active",
    page: int = 1,
) -> Response:
    page = max(1, page)
    filters = {
        "charge_point_id": charge_point_id.strip(),
        "connector_id": connector_id if connector_id.isdigit() else "",
        "purpose": purpose if purpose in PURPOSES else "",
        "status": status if status in STATUSES else "",
    }
    found = await dashboard(request).views.charging_profiles.charging_profiles(
        charge_point_id=filters["charge_point_id"] or None,
        connector_id=int(filters["connector_id"]) if filters["connector_id"] else None,
        purpose=filters["purpose"] or None,
        status=filters["status"] or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    query = urlencode({**{k: v for k, v in filters.items() if v}, "status": filters["status"]})
    return render(request, "charging_profiles.html", {
        "profiles": found.items, "total": found.total, "filters": filters, "purposes": PURPOSES, "statuses": STATUSES,
        "page": page, "more": page * PAGE_SIZE < found.total, "base_query": query,
    })


@router.get("/charging-profiles/new")
async def new_profile(request: Request, charge_point_id: str = "", connector_id: str = "", purpose: str = "") -> Response:
    node = dashboard(request).node
    await _charge_point(node, charge_point_id)
    form = ProfileForm(
        charge_point_id=charge_point_id,
        charging_profile_id=str(await node.services.smart_charging.next_profile_id(charge_point_id)),
        start_schedule=local_input(now(), operator_zone(request)),
    )
    if connector_id.isdigit():
        form.connector_id = connector_id
    if purpose in PURPOSES:
        form.purpose = purpose
    return await _form_page(request, form, {})


@router.post("/charging-profiles")
async def send_profile(request: Request) -> Response:
    node = dashboard(request).node
    form = ProfileForm.read(await request.form())
    await _charge_point(node, form.charge_point_id)
    errors: dict[str, list[str]] = {}
    connector_id, profile = form.build(errors, operator_zone(request))
    if errors:
        return await _form_page(request, form, errors, status_code=400)
    service = node.services.smart_charging
    assert connector_id is not None and profile is not None
    problems = await service.check_profile(form.charge_point_id, connector_id, read_charging_profile(profile))
    if problems:
        problems_at_fields(problems, errors)
        return await _form_page(request, form, errors, status_code=400)

    async def call(timeout: float) -> Reply[Any]:
        # Sent as the form wrote it, in 1.6 (the smart charging service stores it once accepted).
        return await node.services.commands.send_as_written(
            form.charge_point_id, "SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": profile},
            timeout,
        )

    outcome = await commands.run(node, form.charge_point_id, "SetChargingProfile", call)
    if outcome.ok:
        web_session(request).add_flash(
            "ok", f"{form.charge_point_id} installed the charging profile {profile['chargingProfileId']} "
                  f"on connector {connector_id} (Accepted)")
        return RedirectResponse(f"/charging-profiles?{urlencode({'charge_point_id': form.charge_point_id})}",
                                status_code=303)
    return await _form_page(request, form, errors, outcome=outcome, sent=profile,
                            status_code=400 if errors else 200)


@router.post("/charging-profiles/{profile_id}/clear")
async def clear_profile(request: Request, profile_id: int) -> Response:
    node = dashboard(request).node
    form = await request.form()
    service = node.services.smart_charging
    try:
        profile = await service.get(profile_id)
    except NotFound as exc:
        return answer(request, commands.Outcome("invalid", f"ClearChargingProfile was not sent: {exc.message}"),
                       raw(form, "next"), "/charging-profiles")

    async def call(timeout: float) -> Reply[Any]:
        reply, _ = await service.clear_profile(profile_id, timeout=timeout)
        return reply

    outcome = await commands.run(node, profile.charge_point_id, "ClearChargingProfile", call)
    return answer(request, outcome, raw(form, "next"), f"/charging-profiles?charge_point_id={profile.charge_point_id}")


@router.get("/charging-profiles/composite")
async def composite_schedule(
    request: Request, charge_point_id: str = "", connector_id: str = "0", evse_id: str = "0", duration: str = "3600",
    unit: str = "",
) -> Response:
    """GetCompositeSchedule: what the charge point will allow a connector (on 2.0.1, an EVSE)
    over the coming time. 1.6 asks by `connectorId`, 2.0.1 by `evseId` (0: the whole charge point
    either way); the form names what the charge point's version numbers."""
    node = dashboard(request).node
    point = await _charge_point(node, charge_point_id)
    connectors = point.connectors
    by_evse = point.ocpp_version == "2.0.1"
    place = evse_id if by_evse else connector_id
    asked = {"place": place, "duration": duration, "unit": unit if unit in UNITS else ""}
    outcome, rows, problem = None, [], None
    if "duration" in request.query_params:
        if not place.isdigit():
            problem = f"{'EVSE' if by_evse else 'Connector'} must be a whole number"
        elif not duration.isdigit() or int(duration) <= 0:
            problem = "Duration must be a whole number of seconds, more than 0"
        else:
            payload: dict[str, Any] = {"evseId" if by_evse else "connectorId": int(place), "duration": int(duration)}
            if asked["unit"]:
                payload["chargingRateUnit"] = asked["unit"]
            outcome = await commands.send(node, charge_point_id, "GetCompositeSchedule", payload)
            if outcome.ok and outcome.response:
                rows = schedule_rows(outcome.response)
    places = evse_places(connectors, (), online=True).evse_ids if by_evse else [c.connector_id for c in connectors]
    return render(request, "composite_schedule.html", {
        "point": point, "by_evse": by_evse, "place_ids": sorted({0, *places}), "asked": asked,
        "outcome": outcome, "rows": rows, "problem": problem, "units": UNITS,
        "answered_place": _answered_place(outcome.response if outcome and outcome.ok else None, by_evse),
    })


def _answered_place(response: dict[str, Any] | None, by_evse: bool) -> Any:
    """The connector (1.6) or EVSE (2.0.1) the answer's schedule is of."""
    if not response:
        return None
    return (response.get("schedule") or {}).get("evseId") if by_evse else response.get("connectorId")


def schedule_rows(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The periods of a composite schedule with their times, and each limit's share of the
    highest (the width of its bar). 1.6 answers `chargingSchedule` beside `scheduleStart`;
    2.0.1 a `schedule` holding its start and periods."""
    schedule = response.get("chargingSchedule") or response.get("schedule") or {}
    periods = sorted(schedule.get("chargingSchedulePeriod") or [], key=lambda p: p.get("startPeriod", 0))
    try:
        start = parse_timestamp(
            response.get("scheduleStart") or schedule.get("scheduleStart") or schedule.get("startSchedule") or ""
        )
    except ValueError:
        start = None
    duration = schedule.get("duration")
    highest = max((float(p.get("limit", 0)) for p in periods), default=0.0) or 1.0
    rows = []
    for index, period in enumerate(periods):
        offset = int(period.get("startPeriod", 0))
        end = periods[index + 1].get("startPeriod") if index + 1 < len(periods) else duration
        rows.append({
            "offset": offset,
            "from": start + timedelta(seconds=offset) if start else None,
            "until": start + timedelta(seconds=int(end)) if start and end is not None else None,
            "limit": period.get("limit"),
            "unit": schedule.get("chargingRateUnit", ""),
            "phases": period.get("numberPhases"),
            "share": round(100 * float(period.get("limit", 0)) / highest),
        })
    return rows


async def _charge_point(node: Node, charge_point_id: str) -> ChargePointView:
    point = await node.views.charge_points.find(charge_point_id) if charge_point_id else None
    if point is None:
        raise PageNotFound(f"There is no charge point {charge_point_id!r}.")
    return point


async def _form_page(request: Request, form: ProfileForm, errors: dict[str, list[str]], *, outcome: Any = None,
                     sent: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    node = dashboard(request).node
    point = await _charge_point(node, form.charge_point_id)
    connectors = point.connectors
    sessions = sorted(await node.views.transactions.active(point.id), key=lambda s: s.connector_id)
    summary = [(name, message) for name, messages in errors.items() for message in messages]
    return render(request, "charging_profile_form.html", {
        "point": point, "form": form, "errors": errors, "summary": summary, "outcome": outcome, "sent": sent,
        "connector_ids": sorted({c.connector_id for c in connectors if c.connector_id > 0} | {s.connector_id for s in sessions}),
        "sessions": sessions, "purposes": PURPOSES, "kinds": KINDS, "recurrencies": RECURRENCIES, "units": UNITS,
        "online": node.services.commands.is_connected(point.id),
    }, status_code=status_code)
