"""The certificates Voltline's CA issued to charge points: signing a charge point's request,
delivering the certificate after the answer, revocation and renewal (what operators read of
them is the block's read model, views.py). Version-free: the
1.6 and 2.0.1 handlers call the same verbs, and the delivery goes out in the connection's version.

The handshake (profile 3) asks `is_revoked(serial)` of a client certificate that chains to
Voltline's CA.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.services.errors import Conflict, DomainError
from voltline.ocpp.commands import CertificateSigned, ExtendedTriggerMessage
from voltline.services.remote_control.commands import CommandService
from voltline.services.security.authority import (
    AuthorityNotConfigured,
    CertificateAuthority,
    CsrRejected,
    SignedCertificate,
    check_csr,
)
from voltline.services.security.views import (
    STATES,
    CertificateState,
    CertificateViews,
    IssuedCertificate,
    issued_certificate_of,
    normalize_serial,
)
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.certificates")

# The security event a refused signing request is recorded as, in the charge point's history.
CSR_REJECTED = "CertificateSigningRejected"
CERTIFICATE_NOT_INSTALLED = "CertificateNotInstalled"
RENEWAL_RETRY = dt.timedelta(days=1)
# What a charge point is asked to send for a new certificate: a SignCertificate request.
RENEWAL_MESSAGE = "SignChargePointCertificate"

RecordEvent = Callable[..., Awaitable[None]]


class IssuedCertificates:
    """The CA's register. `authority` is None while no CA is configured: every request is then
    refused (Rejected), never accepted and left unsigned."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        commands: CommandService,
        record_event: RecordEvent,
        authority: CertificateAuthority | None,
        *,
        validity: dt.timedelta = dt.timedelta(days=365),
        renew_before: dt.timedelta = dt.timedelta(days=30),
        organization: str | None = None,
        on_revoked: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._views = CertificateViews(store)
        # Told of each revocation at once: the handshake's in-memory list (security/revocations.py).
        self._on_revoked = on_revoked
        self._bus = bus
        self._commands = commands
        self._record_event = record_event
        self.authority = authority
        self.validity = validity
        self.renew_before = renew_before
        self.organization = organization
        self._deliveries: set[asyncio.Task[None]] = set()

    # -- the handshake's question ---------------------------------------------------------------

    async def is_revoked(self, serial: int | str) -> bool:
        """Whether Voltline revoked the certificate of this serial (False for one it never issued)."""
        c = t.issued_certificates.c
        row = await self._store.fetch_one(
            sa.select(c.revoked_at).where(c.serial == normalize_serial(serial))
        )
        return row is not None and row.revoked_at is not None

    # -- SignCertificate ------------------------------------------------------------------------

    async def sign_request(self, identity: str, csr_pem: str) -> SignedCertificate | None:
        """Check and sign a charge point's request, and record the certificate; None when it is
        refused (the reason kept as a security event of the charge point)."""
        try:
            if self.authority is None:
                raise AuthorityNotConfigured("no certificate authority is configured (voltline ca init)")
            csr = check_csr(csr_pem, identity, self.organization)
        except (CsrRejected, AuthorityNotConfigured) as exc:
            log.info("refused to sign a certificate for %s: %s", identity, exc)
            await self._record_event(identity, "security", CSR_REJECTED, detail={"reason": str(exc)})
            return None
        signed = self.authority.sign(csr, self.validity)
        await self._store.write(
            lambda conn: conn.execute(
                t.issued_certificates.insert().values(
                    serial=signed.serial,
                    charge_point_id=identity,
                    subject=signed.subject,
                    not_before=signed.not_before,
                    not_after=signed.not_after,
                    pem=signed.pem,
                    delivery_status="Pending",
                    issued_at=now(),
                )
            )
        )
        self._bus.publish(Event("certificate.issued", identity, {"serial": signed.serial}))
        return signed

    def deliver_after_answer(self, identity: str, signed: SignedCertificate) -> None:
        """Send CertificateSigned (the certificate and its chain) once the SignCertificate answer
        is out: the task starts on a later turn of the loop, after the handler's return value was
        sent."""
        task = asyncio.get_running_loop().create_task(self._deliver(identity, signed))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, identity: str, signed: SignedCertificate) -> None:
        serial = signed.serial
        await asyncio.sleep(0)
        try:
            reply = await self._commands.call(identity, CertificateSigned(signed.chain))
            status = reply.result.status or "Rejected"
        except DomainError as exc:
            log.warning("CertificateSigned to %s not delivered: %s", identity, exc.message)
            status = "Failed"
        c = t.issued_certificates.c
        await self._store.write(
            lambda conn: conn.execute(
                t.issued_certificates.update().where(c.serial == serial).values(delivery_status=status)
            )
        )
        if status != "Accepted":
            # The charge point goes on with its old certificate (or none): the operator should know.
            await self._record_event(
                identity, "security", CERTIFICATE_NOT_INSTALLED, detail={"serial": serial, "answer": status}
            )
        self._bus.publish(Event("certificate.delivered", identity, {"serial": serial, "status": status}))

    async def deliveries_done(self) -> None:
        """Wait for the CertificateSigned calls in flight (tests, and a stop)."""
        if self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    # -- what operators read and do -------------------------------------------------------------

    async def revoke(self, serial: int | str, reason: str | None = None) -> IssuedCertificate:
        """Revoke an issued certificate: the handshake refuses it from now on."""
        key = normalize_serial(serial)
        c = t.issued_certificates.c
        at = now()

        async def apply(conn: AsyncConnection) -> int:
            result = await conn.execute(
                t.issued_certificates.update()
                .where(c.serial == key, c.revoked_at.is_(None))
                .values(revoked_at=at, revocation_reason=reason)
            )
            return int(result.rowcount or 0)

        changed = await self._store.write(apply)
        certificate = await self._views.certificate(key)
        if not changed:
            raise Conflict(f"the certificate {key} was revoked already", code="already_revoked")
        if self._on_revoked is not None:
            self._on_revoked(key)
        self._bus.publish(Event("certificate.revoked", certificate.charge_point_id, {"serial": key}))
        return certificate

    async def valid_for(self, identity: str) -> IssuedCertificate | None:
        """The charge point's newest certificate that it accepted and that is neither expired nor
        revoked: what profile 3 needs."""
        c = t.issued_certificates.c
        at = now()
        row = await self._store.fetch_one(
            sa.select(t.issued_certificates)
            .where(
                c.charge_point_id == identity,
                c.delivery_status == "Accepted",
                c.revoked_at.is_(None),
                c.not_before <= at,
                c.not_after > at,
            )
            .order_by(c.not_after.desc())
            .limit(1)
        )
        return None if row is None else issued_certificate_of(row, at)

    # -- renewal --------------------------------------------------------------------------------

    async def renew_due(self) -> list[str]:
        """Ask each connected charge point whose newest valid certificate expires within
        `renew_before` for a new request (ExtendedTriggerMessage SignChargePointCertificate), at
        most once a day; returns the charge points asked."""
        c = t.issued_certificates.c
        at = now()
        newest = (
            sa.select(c.charge_point_id, sa.func.max(c.not_after).label("not_after"))
            .where(c.revoked_at.is_(None), c.delivery_status == "Accepted")
            .group_by(c.charge_point_id)
            .subquery()
        )
        rows = await self._store.fetch_all(
            sa.select(c.serial, c.charge_point_id, c.renewal_requested_at)
            .join(newest, sa.and_(newest.c.charge_point_id == c.charge_point_id, newest.c.not_after == c.not_after))
            .where(c.revoked_at.is_(None), c.not_after > at, c.not_after <= at + self.renew_before)
        )
        asked = []
        for row in rows:
            if row.renewal_requested_at is not None and at - row.renewal_requested_at < RENEWAL_RETRY:
                continue
            if not self._commands.holds(row.charge_point_id):
                continue  # every node asks those it holds (in a cluster, the others ask theirs)
            try:
                reply = await self._commands.send(row.charge_point_id, ExtendedTriggerMessage(RENEWAL_MESSAGE))
            except DomainError as exc:
                log.warning("could not ask %s to renew its certificate: %s", row.charge_point_id, exc.message)
                continue
            if not reply.result.accepted:
                log.info("%s answered %s to a certificate renewal", row.charge_point_id, reply.result.status)
            serial = row.serial
            await self._store.write(
                lambda conn, serial=serial: conn.execute(
                    t.issued_certificates.update().where(c.serial == serial).values(renewal_requested_at=at)
                )
            )
            asked.append(row.charge_point_id)
        return asked

    async def run_renewal(self, interval: float) -> None:
        """Look for certificates near their expiry every `interval` seconds, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew_due()
            except Exception:
                log.exception("the certificate renewal pass failed")


__all__ = ["CSR_REJECTED", "STATES", "CertificateState", "IssuedCertificate", "IssuedCertificates", "normalize_serial"]
