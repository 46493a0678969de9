"""Who may charge: the id-tag rules of OCPP, written once for every protocol version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.clock import now
from voltline.store import tables as t
from voltline.store.database import Store

ACCEPTED, BLOCKED, EXPIRED, INVALID, CONCURRENT_TX = "Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"
ID_TAG_STATUSES = (ACCEPTED, BLOCKED, EXPIRED, INVALID)


@dataclass(slots=True, frozen=True)
class IdTagInfo:
    status: str
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None


async def authorize(conn: AsyncConnection, id_tag: str, *, exclude_transaction: int | None = None) -> IdTagInfo:
    """The status of `id_tag` right now, as OCPP's IdTagInfo.

    Unknown → Invalid; Blocked → Blocked; past its expiry → Expired; already charging in an active
    transaction (other than `exclude_transaction`) → ConcurrentTx; the parent tag is returned when set.
    """
    tx = t.transactions.c
    active = sa.select(tx.id).where(tx.id_tag == id_tag, tx.stopped_at.is_(None))
    if exclude_transaction is not None:
        active = active.where(tx.id != exclude_transaction)
    tags = t.id_tags.c
    # One statement: on a loaded server every round trip to the database costs turns of the loop.
    row = (
        await conn.execute(
            sa.select(tags.status, tags.expiry_date, tags.parent_id_tag, active.exists().label("charging")).where(
                tags.id_tag == id_tag
            )
        )
    ).first()
    if row is None:
        return IdTagInfo(INVALID)
    status, expiry, parent = row.status, row.expiry_date, row.parent_id_tag
    if status != ACCEPTED:
        return IdTagInfo(status, expiry, parent)
    if expiry is not None and expiry <= now():
        return IdTagInfo(EXPIRED, expiry, parent)
    if row.charging:
        return IdTagInfo(CONCURRENT_TX, expiry, parent)
    return IdTagInfo(ACCEPTED, expiry, parent)


class AuthorizationService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def authorize(self, id_tag: str) -> IdTagInfo:
        async with self._store.read() as conn:
            return await authorize(conn, id_tag)
