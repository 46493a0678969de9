"""Charging profiles: installed with SetChargingProfile, removed with ClearChargingProfile."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from voltline.api.deps import IntPath, IntQuery, Limit, Offset, ServicesDep, TextQuery, Timeout
from voltline.api.openapi import NOT_OCPP, answers, calls_charge_point, conflict, unknown
from voltline.services.smart_charging.views import ChargingProfile
from voltline.api.schemas import ChargingProfileIn, ChargingProfileOut, ChargingProfileResult, Page, snake_keys

router = APIRouter(prefix="/charging-profiles", tags=["charging profiles"])


def _out(profile: ChargingProfile) -> ChargingProfileOut:
    # The schedule is stored as OCPP sends it; the API speaks snake_case.
    values = profile.model_dump()
    values["charging_schedule"] = snake_keys(values["charging_schedule"])
    return ChargingProfileOut.model_validate(values)


@router.post(
    "",
    summary="Install a charging profile (SetChargingProfile)",
    description="Stored when the charge point accepts it; it replaces the profile with the same "
    "charging_profile_id, and the one with the same connector, purpose and stack level.",
    responses=calls_charge_point(NOT_OCPP),
)
async def set_charging_profile(body: ChargingProfileIn, services: ServicesDep, timeout: Timeout = None) -> ChargingProfileResult:
    await services.views.charge_points.require_charge_point(body.charge_point_id)
    smart_charging = services.smart_charging
    # Checked (each problem at its field), then installed: the domain's profile both times.
    spec = body.charging_profile.to_domain()
    await smart_charging.require_valid(body.charge_point_id, body.connector_id, spec)
    reply, profile = await smart_charging.set_profile(body.charge_point_id, body.connector_id, spec, timeout=timeout)
    return ChargingProfileResult(status=reply.result.status, charging_profile=_out(profile) if profile else None)


@router.get("", summary="List charging profiles")
async def list_charging_profiles(
    services: ServicesDep,
    charge_point_id: TextQuery = None,
    connector_id: IntQuery = None,
    purpose: Literal["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"] | None = None,
    status: Literal["Active", "Replaced", "Cleared"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ChargingProfileOut]:
    page = await services.views.charging_profiles.charging_profiles(
        charge_point_id=charge_point_id, connector_id=connector_id, purpose=purpose, status=status, limit=limit, offset=offset
    )
    return Page[ChargingProfileOut].model_validate(
        {"items": [_out(p) for p in page.items], "total": page.total, "limit": page.limit, "offset": page.offset}
    )


@router.get("/{profile_id}", summary="A charging profile", responses=answers(unknown("charging profile")))
async def get_charging_profile(profile_id: IntPath, services: ServicesDep) -> ChargingProfileOut:
    return _out(await services.smart_charging.get(profile_id))


@router.delete(
    "/{profile_id}",
    summary="Clear a charging profile (ClearChargingProfile)",
    responses=calls_charge_point(unknown("charging profile"), conflict("the profile is no longer active")),
)
async def clear_charging_profile(profile_id: IntPath, services: ServicesDep, timeout: Timeout = None) -> ChargingProfileResult:
    reply, profile = await services.smart_charging.clear_profile(profile_id, timeout=timeout)
    return ChargingProfileResult(status=reply.result.status, charging_profile=_out(profile))
