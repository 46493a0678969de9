"""The read model of the certificates Voltline's CA issued, for the REST API and the dashboard alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from voltline.services.clock import now
from voltline.services.errors import Invalid, NotFound
from voltline.services.paging import Page, fetch_page
from voltline.services.security.authority import serial_hex
from voltline.store import tables as t
from voltline.store.database import Store

CertificateState = Literal["Valid", "Expired", "Revoked"]
STATES: tuple[CertificateState, ...] = ("Valid", "Expired", "Revoked")


@dataclass(slots=True, frozen=True)
class IssuedCertificate:
    serial: str
    charge_point_id: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    state: CertificateState
    delivery_status: str
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    renewal_requested_at: dt.datetime | None
    pem: str


def _state(row: Any, at: dt.datetime) -> CertificateState:
    if row.revoked_at is not None:
        return "Revoked"
    return "Valid" if row.not_after > at else "Expired"


def issued_certificate_of(row: Any, at: dt.datetime | None = None) -> IssuedCertificate:
    return IssuedCertificate(
        serial=row.serial,
        charge_point_id=row.charge_point_id,
        subject=row.subject,
        not_before=row.not_before,
        not_after=row.not_after,
        state=_state(row, at or now()),
        delivery_status=row.delivery_status,
        issued_at=row.issued_at,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        renewal_requested_at=row.renewal_requested_at,
        pem=row.pem,
    )


def normalize_serial(serial: int | str) -> str:
    """A serial as stored: lower-case hex without leading zeros (an int, or hex with or without
    colons, as tools print it)."""
    if isinstance(serial, int):
        return serial_hex(serial)
    text = serial.strip().lower().replace(":", "").removeprefix("0x")
    try:
        return serial_hex(int(text, 16))
    except ValueError:
        raise Invalid(f"{serial!r} is not a certificate serial number (hex)", code="invalid_serial") from None


class CertificateViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def certificates(
        self,
        *,
        charge_point_id: str | None = None,
        state: CertificateState | None = None,
        expires_before: dt.datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[IssuedCertificate]:
        c = t.issued_certificates.c
        at = now()
        query = sa.select(t.issued_certificates)
        if charge_point_id is not None:
            query = query.where(c.charge_point_id == charge_point_id)
        if state == "Revoked":
            query = query.where(c.revoked_at.is_not(None))
        elif state == "Expired":
            query = query.where(c.revoked_at.is_(None), c.not_after <= at)
        elif state == "Valid":
            query = query.where(c.revoked_at.is_(None), c.not_after > at)
        if expires_before is not None:
            query = query.where(c.not_after < expires_before)
        return await fetch_page(
            self._store, query, (c.issued_at.desc(), c.serial), limit, offset, lambda row: issued_certificate_of(row, at)
        )

    async def certificate(self, serial: int | str) -> IssuedCertificate:
        c = t.issued_certificates.c
        row = await self._store.query_one(sa.select(t.issued_certificates).where(c.serial == normalize_serial(serial)))
        if row is None:
            raise NotFound(f"no certificate of serial {serial} was issued", code="not_found")
        return issued_certificate_of(row)
