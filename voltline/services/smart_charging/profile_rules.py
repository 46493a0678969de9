"""What OCPP forbids in a charging profile beyond any schema (1.6 §3.13, §5.16, §7.8; the same
rules in 2.0.1 K01), checked on the domain's profile whatever version will carry it.

Each problem is at its field of the domain request (`InstallChargingProfile`): ("connector_id",),
("profile", "stack_level"), ("profile", "schedule", "periods", 0, "limit"). The charge point's
version names the field as its message does (the link's `check`), and adds what its own schema
refuses of the request as it would go out.
"""

from __future__ import annotations

from voltline.ocpp.commands import (
    ChargingProfileSpec,
    ChargingSchedule,
    InstallChargingProfile,
)
from voltline.services.remote_control.request_checks import Path, Problem

PROFILE: Path = ("profile",)
SCHEDULE: Path = (*PROFILE, "schedule")


def profile_problems(request: InstallChargingProfile) -> list[Problem]:
    """The rules of a profile that need no database."""
    connector_id, profile = request.connector_id, request.profile
    problems = _placement(connector_id, profile)
    if profile.stack_level < 0:
        problems.append(Problem((*PROFILE, "stack_level"), "must be 0 or more"))
    if profile.kind == "Recurring" and profile.recurrency_kind is None:
        problems.append(Problem((*PROFILE, "recurrency_kind"), "a Recurring profile recurs Daily or Weekly"))
    if profile.kind != "Recurring" and profile.recurrency_kind is not None:
        problems.append(Problem((*PROFILE, "recurrency_kind"), "only a Recurring profile recurs"))
    if profile.valid_from is not None and profile.valid_to is not None and profile.valid_to <= profile.valid_from:
        problems.append(Problem((*PROFILE, "valid_to"), "must be later than valid from"))
    return problems + _schedule_problems(profile.kind, profile.schedule)


def _placement(connector_id: int, profile: ChargingProfileSpec) -> list[Problem]:
    """Where a profile may be set, by its purpose."""
    problems = []
    at = ("connector_id",)
    if connector_id < 0:
        problems.append(Problem(at, "must be 0 (the whole charge point) or a connector"))
    if profile.purpose == "ChargePointMaxProfile" and connector_id != 0:
        problems.append(Problem(at, "a ChargePointMaxProfile is set on connector 0, the whole charge point"))
    if profile.purpose == "TxProfile" and connector_id == 0:
        problems.append(Problem(at, "a TxProfile is set on the connector of its transaction, not on 0"))
    if profile.transaction_id is not None and profile.purpose != "TxProfile":
        problems.append(Problem((*PROFILE, "transaction_id"), "only a TxProfile names a transaction"))
    return problems


def _schedule_problems(kind: str, schedule: ChargingSchedule) -> list[Problem]:
    problems = []
    duration = schedule.duration
    if kind == "Recurring" and schedule.start_schedule is None:
        problems.append(Problem((*SCHEDULE, "start_schedule"), "a Recurring profile recurs from its start"))
    if duration is not None and duration <= 0:
        problems.append(Problem((*SCHEDULE, "duration"), "must be more than 0 seconds"))
    if schedule.min_charging_rate is not None and schedule.min_charging_rate < 0:
        problems.append(Problem((*SCHEDULE, "min_charging_rate"), "must be 0 or more"))
    if not schedule.periods:
        problems.append(Problem((*SCHEDULE, "periods"), "a schedule has at least one period"))
    previous: int | None = None
    for index, period in enumerate(schedule.periods):
        where = (*SCHEDULE, "periods", index)
        start = period.start_period
        if index == 0 and start != 0:
            problems.append(Problem((*where, "start_period"), "the first period starts at 0 s"))
        elif previous is not None and start <= previous:
            problems.append(Problem((*where, "start_period"), f"must be later than the period before it ({previous} s)"))
        elif duration is not None and start >= duration:
            problems.append(Problem((*where, "start_period"), f"must lie within the schedule's duration ({duration} s)"))
        previous = start
        if period.limit < 0:
            problems.append(Problem((*where, "limit"), "must be 0 or more"))
        if period.number_phases is not None and not 1 <= period.number_phases <= 3:
            problems.append(Problem((*where, "number_phases"), "must be 1, 2 or 3"))
    return problems
