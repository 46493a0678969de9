"""Revoked certificate serials kept in memory, for the profile-3 handshake.

The handshake is decided in a synchronous hook, so `is_revoked` cannot ask the database: the
serials Voltline revoked (issued_certificates.revoked_at) are loaded at the start, added to at
once when this node revokes one, and read again every `refresh_every` seconds for those that
another node of a cluster revoked.
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from voltline.services.security.authority import serial_hex
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.certificates")


class RevokedSerials:
    def __init__(self, store: Store, refresh_every: float = 30.0) -> None:
        self._store = store
        self.refresh_every = refresh_every
        self._serials: frozenset[str] = frozenset()

    def is_revoked(self, serial_number: int) -> bool:
        return serial_hex(serial_number) in self._serials

    def revoked(self, serial: str) -> None:
        """This node revoked `serial` (lower-case hex, as stored): refused from the next handshake."""
        self._serials = self._serials | {serial}

    async def load(self) -> None:
        c = t.issued_certificates.c
        rows = await self._store.fetch_all(sa.select(c.serial).where(c.revoked_at.is_not(None)))
        self._serials = frozenset(row.serial for row in rows) | self._serials

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            try:
                await self.load()
            except Exception:
                log.exception("could not read the revoked certificates again; the ones known stay refused")
