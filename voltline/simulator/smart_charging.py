"""Installed charging profiles and the limits they impose (OCPP 1.6 §3.13).

The same evaluation answers two questions, so what GetCompositeSchedule reports is exactly what the
simulated power electronics obey: "what may connector c draw at time t?" and "what is the composite
schedule over [start, start + duration]?". Limits are computed in watts; amperes are converted with
the nominal voltage and the number of phases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from voltline.simulator.clock import parse_iso

NOMINAL_VOLTAGE = 230.0
PHASES = 3
CP_MAX = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX = "TxProfile"
_RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}


@dataclass(slots=True)
class InstalledProfile:
    connector_id: int
    profile: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.profile["chargingProfileId"])

    @property
    def purpose(self) -> str:
        return str(self.profile["chargingProfilePurpose"])

    @property
    def stack_level(self) -> int:
        return int(self.profile["stackLevel"])


def to_watts(limit: float, unit: str, phases: int) -> float:
    return limit * NOMINAL_VOLTAGE * phases if unit == "A" else limit


def from_watts(watts: float, unit: str, phases: int = PHASES) -> float:
    return watts / (NOMINAL_VOLTAGE * phases) if unit == "A" else watts


class ChargingProfiles:
    def __init__(self, *, max_stack_level: int = 10, max_periods: int = 24, max_installed: int = 20) -> None:
        self.max_stack_level = max_stack_level
        self.max_periods = max_periods
        self.max_installed = max_installed
        self._installed: list[InstalledProfile] = []

    @property
    def installed(self) -> list[InstalledProfile]:
        return list(self._installed)

    # -- SetChargingProfile / ClearChargingProfile ------------------------------------------

    def install(
        self, connector_id: int, profile: dict[str, Any], *, transaction_running: bool, transaction_id: int | None
    ) -> str:
        """Store a profile. `transaction_running` tells whether the connector has a transaction;
        `transaction_id` is its id once the central system has assigned one."""
        purpose = profile["chargingProfilePurpose"]
        schedule = profile["chargingSchedule"]
        if profile["stackLevel"] > self.max_stack_level:
            return "Rejected"
        if len(schedule["chargingSchedulePeriod"]) > self.max_periods:
            return "Rejected"
        if purpose == CP_MAX and connector_id != 0:
            return "Rejected"
        if purpose == TX:
            # A TxProfile only makes sense for a running transaction (OCPP 1.6 §5.16.3).
            if connector_id == 0 or not transaction_running:
                return "Rejected"
            if "transactionId" in profile and profile["transactionId"] != transaction_id:
                return "Rejected"
        if profile["chargingProfileKind"] == "Recurring" and profile.get("recurrencyKind") not in _RECURRENCE:
            return "Rejected"
        kept = [
            p
            for p in self._installed
            if p.id != profile["chargingProfileId"]
            and not (p.connector_id == connector_id and p.purpose == purpose and p.stack_level == profile["stackLevel"])
        ]
        if len(kept) >= self.max_installed:
            return "Rejected"
        kept.append(InstalledProfile(connector_id, dict(profile)))
        self._installed = kept
        return "Accepted"

    def clear(
        self,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        def matches(p: InstalledProfile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (connector_id is None or p.connector_id == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        before = len(self._installed)
        self._installed = [p for p in self._installed if not matches(p)]
        return len(self._installed) != before

    def end_transaction(self, connector_id: int) -> None:
        """TxProfiles live only as long as their transaction."""
        self._installed = [p for p in self._installed if not (p.purpose == TX and p.connector_id == connector_id)]

    # -- evaluation ------------------------------------------------------------------------

    def connector_limit(
        self,
        connector_id: int,
        at: datetime,
        anchor: datetime,
        *,
        transaction_running: bool,
        transaction_id: int | None = None,
    ) -> float | None:
        """The connector's own limit in W (TxProfile, else TxDefaultProfile), None if unlimited.

        `anchor` starts Relative schedules: the transaction's start, or for a connector without
        one the moment a session would start."""
        if transaction_running:
            tx_limit = self._purpose_limit(TX, (connector_id,), at, anchor, transaction_id)
            if tx_limit is not None:
                return tx_limit
        # A TxDefaultProfile on the connector itself overrides the one installed on connector 0.
        own = self._purpose_limit(TX_DEFAULT, (connector_id,), at, anchor, transaction_id)
        return own if own is not None else self._purpose_limit(TX_DEFAULT, (0,), at, anchor, transaction_id)

    def station_limit(self, at: datetime) -> float | None:
        """The ChargePointMaxProfile limit in W for the whole station."""
        return self._purpose_limit(CP_MAX, (0,), at, None, None)

    def _purpose_limit(
        self,
        purpose: str,
        connectors: tuple[int, ...],
        at: datetime,
        tx_start: datetime | None,
        transaction_id: int | None,
    ) -> float | None:
        candidates = [p for p in self._installed if p.purpose == purpose and p.connector_id in connectors]
        if purpose == TX:
            candidates = [
                p
                for p in candidates
                if "transactionId" not in p.profile or p.profile["transactionId"] == transaction_id
            ]
        # The highest stack level that is in force at `at` wins; a lower one shows through its gaps.
        for installed in sorted(candidates, key=lambda p: p.stack_level, reverse=True):
            limit = _evaluate(installed.profile, at, tx_start)
            if limit is not None:
                return limit
        return None

    def boundaries(self, start: datetime, end: datetime, tx_start: datetime | None) -> list[datetime]:
        """Every instant in [start, end) at which some profile's limit may change."""
        points = {start}
        for installed in self._installed:
            for moment in _profile_boundaries(installed.profile, start, end, tx_start):
                if start < moment < end:
                    points.add(moment)
        return sorted(points)


def _schedule_starts(profile: dict[str, Any], at: datetime, tx_start: datetime | None) -> datetime | None:
    """When the schedule in force at `at` started (for recurring profiles: the latest recurrence)."""
    schedule = profile["chargingSchedule"]
    kind = profile["chargingProfileKind"]
    if kind == "Relative":
        return tx_start
    start_text = schedule.get("startSchedule")
    anchor = parse_iso(start_text) if start_text else tx_start
    if anchor is None:
        return None
    if kind == "Recurring":
        period = _RECURRENCE.get(profile.get("recurrencyKind", ""))
        if period is None:
            return None
        cycles = math.floor((at - anchor) / period)
        return anchor + cycles * period
    return anchor


def _evaluate(profile: dict[str, Any], at: datetime, tx_start: datetime | None) -> float | None:
    valid_from, valid_to = profile.get("validFrom"), profile.get("validTo")
    if valid_from and at < parse_iso(valid_from):
        return None
    if valid_to and at >= parse_iso(valid_to):
        return None
    started = _schedule_starts(profile, at, tx_start)
    if started is None or at < started:
        return None
    schedule = profile["chargingSchedule"]
    offset = (at - started).total_seconds()
    duration = schedule.get("duration")
    if duration is not None and offset >= duration:
        return None
    current = None
    for period in sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"]):
        if period["startPeriod"] <= offset:
            current = period
    if current is None:
        return None
    return to_watts(float(current["limit"]), schedule["chargingRateUnit"], int(current.get("numberPhases", PHASES)))


def _profile_boundaries(
    profile: dict[str, Any], start: datetime, end: datetime, tx_start: datetime | None
) -> list[datetime]:
    schedule = profile["chargingSchedule"]
    points = [parse_iso(profile[k]) for k in ("validFrom", "validTo") if profile.get(k)]
    offsets = [float(p["startPeriod"]) for p in schedule["chargingSchedulePeriod"]]
    if schedule.get("duration") is not None:
        offsets.append(float(schedule["duration"]))
    first = _schedule_starts(profile, start, tx_start)
    if first is None:
        return points
    period = (
        _RECURRENCE.get(profile.get("recurrencyKind", "")) if profile["chargingProfileKind"] == "Recurring" else None
    )
    cycle_start = first
    while cycle_start < end:
        points.extend(cycle_start + timedelta(seconds=o) for o in offsets)
        if period is None:
            break
        cycle_start += period
    return points
