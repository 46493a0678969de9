"""Who may charge: the id-tag rules of OCPP, written once for every protocol version."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.clock import now
from voltline.store import tables as t
from voltline.store.database import Store

ACCEPTED, BLOCKED, EXPIRED, INVALID, CONCURRENT_TX = "Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"
ID_TAG_STATUSES = (ACCEPTED, BLOCKED, EXPIRED, INVALID)

# OCPP 2.0.1's IdTokenEnumType for a session nobody was asked to authorize (a station on free
# charging, a start button): its idToken is empty and names no one. C02.FR.02: the CSMS answers
# such a token Accepted; there is nothing to look up.
NO_AUTHORIZATION = "NoAuthorization"


class AuthorizationContext(Enum):
    """What a verdict answers. OCPP 1.6 allows ConcurrentTx only in a StartTransaction answer:
    an Authorize or a StopTransaction of a tag that is charging elsewhere gets its own status."""

    AUTHORIZE = "Authorize"
    START = "StartTransaction"
    STOP = "StopTransaction"


@dataclass(slots=True, frozen=True)
class IdTagInfo:
    status: str
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None
    token_type: str | None = None  # the registered tag's type (IdTokenEnumType); None: unknown tag
    # Whether the tag is registered at all: 2.0.1 tells an unknown token (Unknown) from one it
    # knows to be no good (Invalid); 1.6 answers Invalid for both.
    known: bool = True
    parent_token_type: str | None = None  # the parent tag's own type, when it is registered


async def authorize(
    conn: AsyncConnection,
    id_tag: str,
    context: AuthorizationContext = AuthorizationContext.AUTHORIZE,
    *,
    token_type: str | None = None,
    exclude_transactions: Collection[int] = (),
) -> IdTagInfo:
    """The status of `id_tag` right now, as OCPP's IdTagInfo.

    Unknown → Invalid (and not `known`); Blocked → Blocked; past its expiry → Expired; for a start, already in as
    many active transactions (other than `exclude_transactions`) as the tag may have → ConcurrentTx;
    the parent tag is returned when set.

    `token_type`: 2.0.1's IdTokenEnumType as the station read it (None on 1.6, whose id tags have
    none). A 2.0.1 token is its value and its type together: a registered tag of another type is
    not this token (unknown), as an RFID card's UID is not a key code of the same digits. A
    NoAuthorization token is Accepted without a lookup (NO_AUTHORIZATION).
    """
    if token_type == NO_AUTHORIZATION:
        return IdTagInfo(ACCEPTED, token_type=NO_AUTHORIZATION)
    tags = t.id_tags.c
    columns: list[sa.ColumnElement[object]] = [
        tags.status, tags.expiry_date, tags.parent_id_tag, tags.token_type, _PARENT_TOKEN_TYPE,
    ]
    starting = context is AuthorizationContext.START
    if starting:
        tx = t.transactions.c
        active = sa.select(sa.func.count()).where(tx.id_tag == id_tag, tx.stopped_at.is_(None))
        if token_type is not None:  # the same value of another type is another token's session
            active = active.where(sa.or_(tx.id_token_type == token_type, tx.id_token_type.is_(None)))
        if exclude_transactions:
            active = active.where(tx.id.not_in(list(exclude_transactions)))
        columns += [tags.max_active_transactions, active.scalar_subquery().label("active")]
    # One statement: on a loaded server every round trip to the database costs turns of the loop.
    query = sa.select(*columns).where(tags.id_tag == id_tag)
    if token_type is not None:
        query = query.where(tags.token_type == token_type)
    row = (await conn.execute(query)).first()
    if row is None:
        return IdTagInfo(INVALID, known=False)
    status, expiry, parent, kind = row.status, row.expiry_date, row.parent_id_tag, row.token_type
    parent_kind = row.parent_token_type
    if status != ACCEPTED:
        return IdTagInfo(status, expiry, parent, kind, parent_token_type=parent_kind)
    if expiry is not None and expiry <= now():
        return IdTagInfo(EXPIRED, expiry, parent, kind, parent_token_type=parent_kind)
    if starting and row.max_active_transactions and row.active >= row.max_active_transactions:
        return IdTagInfo(CONCURRENT_TX, expiry, parent, kind, parent_token_type=parent_kind)
    return IdTagInfo(ACCEPTED, expiry, parent, kind, parent_token_type=parent_kind)


# The parent's own type in the same statement (a 2.0.1 groupIdToken names it): a lookup by key.
_parent = t.id_tags.alias("parent")
_PARENT_TOKEN_TYPE = (
    sa.select(_parent.c.token_type).where(_parent.c.id_tag == t.id_tags.c.parent_id_tag)
    .scalar_subquery().label("parent_token_type")
)


class FailedStarts(Protocol):
    def failed_start(self, charge_point_id: str, id_tag_status: str, at: datetime) -> None: ...


class AuthorizationService:
    def __init__(self, store: Store, failed_starts: FailedStarts | None = None) -> None:
        self._store = store
        self._failed_starts = failed_starts

    async def authorize(
        self,
        id_tag: str,
        context: AuthorizationContext = AuthorizationContext.AUTHORIZE,
        *,
        token_type: str | None = None,
        charge_point_id: str | None = None,
    ) -> IdTagInfo:
        """`charge_point_id`: the charge point that asks, whose refused starts the reports count;
        `token_type`: a 2.0.1 token's type (see `authorize`)."""
        async with self._store.read() as conn:
            info = await authorize(conn, id_tag, context, token_type=token_type)
        if charge_point_id is not None and self._failed_starts is not None and info.status != ACCEPTED:
            self._failed_starts.failed_start(charge_point_id, info.status, now())
        return info
