"""Root certificates on charge points (security extension: InstallCertificate,
GetInstalledCertificateIds, DeleteCertificate), as the charge points last answered. Whatever path
sent the command (the generic command endpoint, the dashboard), its answer is recorded here.

A certificate is named as OCSP names it (RFC 6960 CertID), as the charge point does: hashes of its
issuer's name and key, and its serial number in hex.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.ocpp.commands import (
    Answer,
    CertificateHash,
    DeleteCertificate,
    GetInstalledCertificateIds,
    InstallCertificate,
    InstalledCertificateIds,
    Reply,
)
from voltline.services.clock import now
from voltline.services.read_model import ReadModel
from voltline.services.remote_control.commands import CommandService, Send
from voltline.store import tables as t
from voltline.store.database import Store

_DIGESTS = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}


class InstalledCertificate(ReadModel):
    certificate_type: str
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str
    pem: str | None
    updated_at: datetime


def _key_bits(certificate: x509.Certificate) -> bytes | None:
    """The subjectPublicKey bits, as OCSP hashes them (OpenSSL's X509_pubkey_digest)."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return None


def hash_data(pem: str, issuer_pem: str | None = None, algorithm: str = "SHA256") -> CertificateHash | None:
    """The CertID of a certificate: a self-signed one names itself; another needs its issuer."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
        issuer = x509.load_pem_x509_certificate(issuer_pem.encode()) if issuer_pem else None
    except ValueError:
        return None
    if issuer is None and certificate.issuer == certificate.subject:
        issuer = certificate
    if issuer is None or issuer.subject != certificate.issuer:
        return None
    bits = _key_bits(issuer)
    if bits is None:
        return None
    digest = _DIGESTS[algorithm]
    return CertificateHash(
        algorithm,
        digest(certificate.issuer.public_bytes()).hexdigest(),
        digest(bits).hexdigest(),
        format(certificate.serial_number, "x"),
    )


def _key(data: CertificateHash) -> tuple[str, str, str, str]:
    # Charge points write hex in either case, a serial with or without leading zeros.
    serial = data.serial_number.lower().lstrip("0") or "0"
    return data.hash_algorithm.upper(), data.issuer_name_hash.lower(), data.issuer_key_hash.lower(), serial


def _row_key(row: Any) -> tuple[str, str, str, str]:
    return _key(CertificateHash(row.hash_algorithm, row.issuer_name_hash, row.issuer_key_hash, row.serial_number))


class InstalledCertificates:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        commands.register(InstallCertificate, self._install)
        commands.register(GetInstalledCertificateIds, self._get_ids)
        commands.register(DeleteCertificate, self._delete)

    async def list(self, identity: str) -> list[InstalledCertificate]:
        c = t.installed_certificates.c
        rows = await self._store.fetch_all(
            sa.select(t.installed_certificates)
            .where(c.charge_point_id == identity)
            .order_by(c.certificate_type, c.serial_number)
        )
        return [
InstalledCertificate.model_validate(r) for r in rows
        ]

    async def _rows(self, identity: str) -> list[Any]:
        c = t.installed_certificates.c
        return await self._store.fetch_all(sa.select(t.installed_certificates).where(c.charge_point_id == identity))

    async def _install(
        self, identity: str, request: InstallCertificate, send: Send[InstallCertificate]
    ) -> Reply[Answer]:
        reply = await send(request)
        if not reply.result.accepted:
            return reply
        pem, certificate_type = request.certificate, request.certificate_type
        existing = await self._rows(identity)
        data = hash_data(pem)
        for row in existing:  # an intermediate whose issuer is installed already
            if data is None and row.pem:
                data = hash_data(pem, row.pem)
        if data is None:
            # Not nameable without its issuer: GetInstalledCertificateIds brings its CertID.
            self._bus.publish(Event("certificates.installed", identity, {"certificate_type": certificate_type}))
            return reply
        key = _key(data)
        c = t.installed_certificates.c

        async def store(conn: AsyncConnection) -> None:
            for row in existing:
                if _row_key(row) == key:
                    await conn.execute(t.installed_certificates.delete().where(c.id == row.id))
            await conn.execute(t.installed_certificates.insert().values(
                charge_point_id=identity, certificate_type=certificate_type, hash_algorithm=key[0],
                issuer_name_hash=key[1], issuer_key_hash=key[2], serial_number=key[3], pem=pem, updated_at=now(),
            ))

        await self._store.write(store)
        self._bus.publish(Event("certificates.installed", identity, {"certificate_type": certificate_type}))
        return reply

    async def _get_ids(
        self, identity: str, request: GetInstalledCertificateIds, send: Send[GetInstalledCertificateIds]
    ) -> Reply[InstalledCertificateIds]:
        reply: Reply[InstalledCertificateIds] = await send(request)
        status = reply.result.status
        if status not in ("Accepted", "NotFound"):
            return reply
        certificate_type = request.certificate_type
        reported = reply.result.certificates if status == "Accepted" else ()
        c = t.installed_certificates.c
        known = {_row_key(row): row.pem for row in await self._rows(identity) if row.certificate_type == certificate_type}
        at = now()

        async def store(conn: AsyncConnection) -> None:
            # What the charge point reports is what it has: the rest of this type is gone.
            await conn.execute(t.installed_certificates.delete().where(
                c.charge_point_id == identity, c.certificate_type == certificate_type
            ))
            rows = {}
            for data in reported:
                key = _key(data)
                rows[key] = {
                    "charge_point_id": identity, "certificate_type": certificate_type, "hash_algorithm": key[0],
                    "issuer_name_hash": key[1], "issuer_key_hash": key[2], "serial_number": key[3],
                    "pem": known.get(key), "updated_at": at,
                }
            if rows:
                await conn.execute(t.installed_certificates.insert(), list(rows.values()))

        await self._store.write(store)
        self._bus.publish(Event("certificates.read", identity, {"certificate_type": certificate_type, "count": len(reported)}))
        return reply

    async def _delete(
        self, identity: str, request: DeleteCertificate, send: Send[DeleteCertificate]
    ) -> Reply[Answer]:
        reply = await send(request)
        status = reply.result.status
        if status not in ("Accepted", "NotFound"):
            return reply
        key = _key(request.certificate)
        c = t.installed_certificates.c
        doomed = [row.id for row in await self._rows(identity) if _row_key(row) == key]
        if doomed:
            await self._store.write(lambda conn: conn.execute(t.installed_certificates.delete().where(c.id.in_(doomed))))
        self._bus.publish(Event("certificates.deleted", identity, {"status": status}))
        return reply
