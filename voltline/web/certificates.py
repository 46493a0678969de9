"""Certificates in the dashboard (Admin): every certificate Voltline's CA issued, with its serial,
subject, expiry and state, filtered by charge point and state; revoking one, as the API does."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from voltline.services.errors import Conflict, Invalid, NotFound
from voltline.services.security.views import STATES, IssuedCertificate
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, render, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

PAGE_SIZE = 50


@router.get("/admin/certificates")
async def certificate_list(request: Request, charge_point_id: str = "", state: str = "", page: int = 1) -> Response:
    page = max(1, page)
    filters = {"charge_point_id": charge_point_id.strip(), "state": state if state in STATES else ""}
    board = dashboard(request)
    found = await board.views.certificates.certificates(
        charge_point_id=filters["charge_point_id"] or None,
        state=filters["state"] or None,  # type: ignore[arg-type]
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(request, "admin_certificates.html", {
        "certificates": found.items, "total": found.total, "filters": filters, "states": STATES,
        "authority": board.node.services.certificates.authority, "page": page, "more": page * PAGE_SIZE < found.total,
        "base_query": urlencode({k: v for k, v in filters.items() if v}),
    })


async def _certificate(request: Request, serial: str) -> IssuedCertificate:
    try:
        return await dashboard(request).views.certificates.certificate(serial)
    except (NotFound, Invalid):
        raise PageNotFound(f"Voltline issued no certificate of serial {serial}.") from None


@router.get("/admin/certificates/{serial}/revoke")
async def revoke_page(request: Request, serial: str) -> Response:
    certificate = await _certificate(request, serial)
    return render(request, "confirm.html", {
        "title": f"Revoke the certificate {certificate.serial} of {certificate.charge_point_id}?",
        "message": f"{certificate.subject} can no longer connect with it (security profile 3). This cannot "
                   "be undone: the charge point needs a new certificate (SignCertificate).",
        "action": f"/admin/certificates/{certificate.serial}/revoke", "button": "Revoke certificate",
        "cancel": "/admin/certificates"})


@router.post("/admin/certificates/{serial}/revoke")
async def revoke(request: Request, serial: str) -> Response:
    certificate = await _certificate(request, serial)
    session = web_session(request)
    try:
        await dashboard(request).node.services.certificates.revoke(certificate.serial, "revoked in the dashboard")
    except Conflict:
        session.add_flash("info", f"The certificate {certificate.serial} was revoked already.")
    else:
        session.add_flash("ok", f"Revoked the certificate {certificate.serial} of {certificate.charge_point_id}.")
    return RedirectResponse("/admin/certificates", status_code=303)
