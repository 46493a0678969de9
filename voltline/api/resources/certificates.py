"""Certificates Voltline's certificate authority issued to charge points: list, read, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from voltline.api.deps import Limit, Offset, ServicesDep, TextQuery, TimeQuery, page_out
from voltline.api.openapi import answers, conflict, unknown
from voltline.api.schemas import CertificateStateName, IssuedCertificateDetail, IssuedCertificateOut, Page, RevokeIn, Serial

router = APIRouter(prefix="/certificates", tags=["certificates"])

SerialPath = Annotated[Serial, Path(description="the serial number in hex")]


@router.get("", summary="Certificates issued to charge points, newest first")
async def list_certificates(
    services: ServicesDep,
    charge_point_id: TextQuery = None,
    state: CertificateStateName | None = None,
    expires_before: TimeQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[IssuedCertificateOut]:
    page = await services.views.certificates.certificates(
        charge_point_id=charge_point_id, state=state, expires_before=expires_before, limit=limit, offset=offset
    )
    return Page[IssuedCertificateOut].model_validate(page_out(page))


@router.get("/{serial}", summary="An issued certificate, with its PEM", responses=answers(unknown("certificate")))
async def get_certificate(serial: SerialPath, services: ServicesDep) -> IssuedCertificateDetail:
    return IssuedCertificateDetail.model_validate(await services.views.certificates.certificate(serial))


@router.post(
    "/{serial}/revoke",
    summary="Revoke an issued certificate: the charge point's TLS handshake refuses it from now on",
    responses=answers(unknown("certificate"), conflict("the certificate was revoked already")),
)
async def revoke_certificate(
    serial: SerialPath, services: ServicesDep, body: RevokeIn | None = None
) -> IssuedCertificateOut:
    certificate = await services.certificates.revoke(serial, (body or RevokeIn()).reason)
    return IssuedCertificateOut.model_validate(certificate)
