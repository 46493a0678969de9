"""Handlers of what a charge point sends alike in OCPP 1.6 (with the security extension) and in
2.0.1: the same fields, the same answer. Each version's handler table binds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from voltline.ocpp import timestamps

Payload = dict[str, Any]


class EventRecorder(Protocol):
    async def record_event(
        self, identity: str, kind: str, status: str | None, *, request_id: int | None = None,
        timestamp: datetime | None = None, detail: dict[str, Any] | None = None,
    ) -> None: ...


class CertificateSigner(Protocol):
    async def sign_request(self, identity: str, csr_pem: str) -> Any: ...

    def deliver_after_answer(self, identity: str, signed: Any) -> None: ...


class NoticeServices(Protocol):
    @property
    def charge_points(self) -> EventRecorder: ...
    @property
    def certificates(self) -> CertificateSigner: ...


class NoticeContext(Protocol):
    @property
    def identity(self) -> str: ...
    @property
    def services(self) -> NoticeServices: ...


async def security_event_notification(ctx: NoticeContext, p: Payload) -> Payload:
    await ctx.services.charge_points.record_event(
        ctx.identity,
        "security",
        p["type"],
        timestamp=timestamps.parse(p["timestamp"]),
        detail={"tech_info": p["techInfo"]} if "techInfo" in p else None,
    )
    return {}


async def log_status_notification(ctx: NoticeContext, p: Payload) -> Payload:
    await ctx.services.charge_points.record_event(ctx.identity, "log", p["status"], request_id=p.get("requestId"))
    return {}


async def data_transfer(ctx: NoticeContext, p: Payload) -> Payload:
    # No vendor extension is installed: OCPP's honest answer is UnknownVendorId. The message log
    # keeps the data.
    return {"status": "UnknownVendorId"}


async def sign_station_certificate(ctx: NoticeContext, csr: str) -> Payload:
    """SignCertificate: Accepted only once the certificate is signed and recorded; the
    CertificateSigned request follows the answer (1.6 security extension; 2.0.1 A02)."""
    certificates = ctx.services.certificates
    signed = await certificates.sign_request(ctx.identity, csr)
    if signed is None:
        return {"status": "Rejected"}
    certificates.deliver_after_answer(ctx.identity, signed)
    return {"status": "Accepted"}
