"""The rules of a charging profile, checked on the domain's profile (no OCPP message in sight),
and the 1.6 names of its fields, both ways."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from voltline.ocpp.commands import (
    ChargingProfileSpec,
    ChargingSchedule,
    InstallChargingProfile,
    SchedulePeriod,
)
from voltline.ocpp.v16 import fields, outbound
from voltline.services.smart_charging.profile_rules import profile_problems
from voltline.services.smart_charging.service import SmartChargingService

START = datetime(2026, 1, 1, tzinfo=UTC)
SCHEDULE = ChargingSchedule("A", (SchedulePeriod(0, 16.0), SchedulePeriod(3600, 8.0, 3)), start_schedule=START)
GOOD = ChargingProfileSpec(7, 0, "TxDefaultProfile", "Absolute", SCHEDULE)


def problems(connector_id: int = 1, **changes: Any) -> list[tuple[tuple[str | int, ...], str]]:
    schedule = changes.pop("schedule", {})
    spec = replace(GOOD, schedule=replace(SCHEDULE, **schedule), **changes)
    return [(p.path, p.message) for p in profile_problems(InstallChargingProfile(connector_id, spec))]


def test_a_good_profile_has_no_problem() -> None:
    assert problems() == []


def test_every_rule_names_its_field_of_the_domain_request() -> None:
    at = ("profile", "schedule", "periods")
    assert problems(connector_id=-1) == [(("connector_id",), "must be 0 (the whole charge point) or a connector")]
    assert problems(purpose="ChargePointMaxProfile") == [
        (("connector_id",), "a ChargePointMaxProfile is set on connector 0, the whole charge point")]
    assert problems(connector_id=0, purpose="TxProfile") == [
        (("connector_id",), "a TxProfile is set on the connector of its transaction, not on 0")]
    assert problems(transaction_id=5) == [(("profile", "transaction_id"), "only a TxProfile names a transaction")]
    assert problems(stack_level=-1) == [(("profile", "stack_level"), "must be 0 or more")]
    assert problems(kind="Recurring") == [(("profile", "recurrency_kind"), "a Recurring profile recurs Daily or Weekly")]
    assert problems(recurrency_kind="Daily") == [(("profile", "recurrency_kind"), "only a Recurring profile recurs")]
    assert problems(kind="Recurring", recurrency_kind="Daily", schedule={"start_schedule": None}) == [
        (("profile", "schedule", "start_schedule"), "a Recurring profile recurs from its start")]
    assert problems(valid_from=START, valid_to=START) == [(("profile", "valid_to"), "must be later than valid from")]
    assert problems(schedule={"duration": 1800}) == [
        ((*at, 1, "start_period"), "must lie within the schedule's duration (1800 s)")]
    assert problems(schedule={"duration": 0, "periods": ()})[0] == (
        ("profile", "schedule", "duration"), "must be more than 0 seconds")
    assert problems(schedule={"min_charging_rate": -1.0}) == [
        (("profile", "schedule", "min_charging_rate"), "must be 0 or more")]
    assert problems(schedule={"periods": ()}) == [(at, "a schedule has at least one period")]
    assert problems(schedule={"periods": (SchedulePeriod(60, 16.0),)}) == [
        ((*at, 0, "start_period"), "the first period starts at 0 s")]
    assert problems(schedule={"periods": (SchedulePeriod(0, 16.0), SchedulePeriod(0, 8.0))}) == [
        ((*at, 1, "start_period"), "must be later than the period before it (0 s)")]
    assert problems(schedule={"periods": (SchedulePeriod(0, -0.5, 4),)}) == [
        ((*at, 0, "limit"), "must be 0 or more"), ((*at, 0, "number_phases"), "must be 1, 2 or 3")]


def test_the_check_takes_the_domain_profile_not_a_16_payload() -> None:
    signature = inspect.signature(SmartChargingService.check_profile)
    assert signature.parameters["profile"].annotation in (ChargingProfileSpec, "ChargingProfileSpec")
    wire = outbound.charging_profile(GOOD)  # the same profile as 1.6 writes it
    with pytest.raises(AttributeError):
        profile_problems(InstallChargingProfile(1, wire))  # type: ignore[arg-type]


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def test_each_field_of_a_profile_has_its_16_name_and_back() -> None:
    full = ChargingProfileSpec(
        7, 1, "TxProfile", "Recurring",
        ChargingSchedule("W", (SchedulePeriod(0, 11000.0, 3),), 86400, START, 1400.0),
        recurrency_kind="Daily", transaction_id=42, valid_from=START, valid_to=START.replace(year=2027),
    )
    action, payload = outbound.encode(InstallChargingProfile(2, full))
    leaves = _leaves(payload)
    assert len(leaves) == 16  # every field of the profile went out
    for wire in leaves:
        domain = fields.domain_path(action, wire)
        assert domain is not None, wire
        assert fields.wire_path(action, domain) == wire
        value: Any = InstallChargingProfile(2, full)
        for part in domain:  # the domain path leads to the value the message carries
            value = value[part] if isinstance(part, int) else getattr(value, part)
            value = list(value) if isinstance(value, tuple) else value
        assert value is not None, domain
    assert fields.wire_path(action, ("profile", "nonsense")) is None
    assert fields.wire_path("Reset", ("kind",)) is None
