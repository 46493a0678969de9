"""A charge point's security: its Basic-auth password rotated, its security profile raised, and the
root certificates installed on it (as it last answered InstallCertificate,
GetInstalledCertificateIds and DeleteCertificate, sent through the generic command endpoint)."""

from __future__ import annotations

from fastapi import APIRouter

from voltline.api.deps import ChargePointIdPath, Limit, Offset, ServicesDep, Timeout
from voltline.api.openapi import answers, calls_charge_point, conflict, invalid, unknown
from voltline.api.schemas import (
    InstalledCertificateOut,
    Page,
    PasswordRotationIn,
    PasswordRotationOut,
    SecurityProfileIn,
    SecurityProfileOut,
)

router = APIRouter(prefix="/charge-points/{charge_point_id}", tags=["charge point security"])


@router.post(
    "/password",
    summary="Rotate the charge point's Basic-auth password (ChangeConfiguration AuthorizationKey)",
    description="Voltline expects the new password only once the charge point answered Accepted; "
    "on any other answer the old one stays.",
    responses=calls_charge_point(invalid("the password is not 16 to 40 characters of the whitepaper's set")),
)
async def rotate_password(
    charge_point_id: ChargePointIdPath, services: ServicesDep, body: PasswordRotationIn | None = None,
    timeout: Timeout = None,
) -> PasswordRotationOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    rotated = await services.charge_point_passwords.rotate(
        charge_point_id, (body or PasswordRotationIn()).password, timeout
    )
    return PasswordRotationOut.model_validate(rotated)


@router.post(
    "/security-profile",
    summary="Raise the charge point's security profile (ChangeConfiguration SecurityProfile)",
    description="Refused (409) when it would lower the profile, when profile 1 or 2 has no password to "
    "use, and when profile 3 has no valid certificate issued by Voltline to the charge point.",
    responses=calls_charge_point(conflict("the profile would not be raised, or what it needs is missing")),
)
async def raise_security_profile(
    charge_point_id: ChargePointIdPath, body: SecurityProfileIn, services: ServicesDep, timeout: Timeout = None
) -> SecurityProfileOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    reply = await services.security_profiles.raise_profile(charge_point_id, body.security_profile, timeout)
    return SecurityProfileOut(status=str(reply.result.status), security_profile=body.security_profile)


@router.get(
    "/installed-certificates",
    summary="Root certificates on the charge point, as it last answered",
    responses=answers(unknown("charge point")),
)
async def installed_certificates(
    charge_point_id: ChargePointIdPath, services: ServicesDep, limit: Limit = 50, offset: Offset = 0
) -> Page[InstalledCertificateOut]:
    await services.views.charge_points.require_charge_point(charge_point_id)
    installed = await services.installed_certificates.list(charge_point_id)
    return Page[InstalledCertificateOut].model_validate(
        {"items": installed[offset : offset + limit], "total": len(installed), "limit": limit, "offset": offset}
    )
