"""Where a domain request's fields sit in its OCPP 1.6 message, and back: so a problem the
domain finds at ("profile", "schedule", "periods", 0, "limit") is shown where an operator writing
1.6 would look for it (csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit), and
one the 1.6 schema finds is placed at the domain's field (a form's field).

The messages named here keep the domain request's structure, so a path translates part by part.
"""

from __future__ import annotations

from collections.abc import Mapping

Path = tuple[str | int, ...]

_PROFILE = {
    "charging_profile_id": "chargingProfileId",
    "stack_level": "stackLevel",
    "purpose": "chargingProfilePurpose",
    "kind": "chargingProfileKind",
    "recurrency_kind": "recurrencyKind",
    "transaction_id": "transactionId",
    "valid_from": "validFrom",
    "valid_to": "validTo",
    "schedule": "chargingSchedule",
    "rate_unit": "chargingRateUnit",
    "duration": "duration",
    "start_schedule": "startSchedule",
    "min_charging_rate": "minChargingRate",
    "periods": "chargingSchedulePeriod",
    "start_period": "startPeriod",
    "limit": "limit",
    "number_phases": "numberPhases",
}

# Per action: each field of the domain request (its attribute name) by its 1.6 name.
_WIRE: dict[str, Mapping[str, str]] = {
    "SetChargingProfile": {"connector_id": "connectorId", "profile": "csChargingProfiles", **_PROFILE},
}
_DOMAIN = {action: {wire: name for name, wire in names.items()} for action, names in _WIRE.items()}


def _translate(path: Path, names: Mapping[str, str] | None) -> Path | None:
    if names is None or any(isinstance(part, str) and part not in names for part in path):
        return None
    return tuple(part if isinstance(part, int) else names[part] for part in path)


def wire_path(action: str, path: Path) -> Path | None:
    """Where the domain request's field at `path` sits in the 1.6 `action`; None when not known."""
    return _translate(path, _WIRE.get(action))


def domain_path(action: str, path: Path) -> Path | None:
    """The domain request's field that `path` of the 1.6 `action` carries; None when not known."""
    return _translate(path, _DOMAIN.get(action))
