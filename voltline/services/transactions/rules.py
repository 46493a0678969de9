"""What a transaction's start and stop do in the database, whichever OCPP version reported them:
its energy readings, the reservation it uses, the remote start it follows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.authorization.authorize import IdTagInfo
from voltline.services.clock import now
from voltline.services.remote_control.remote_start import STARTED
from voltline.services.reservations.service import EXPIRED, RESERVED, USED
from voltline.services.transactions import meter_values as mv
from voltline.store import tables as t

_m = t.meter_values.c


def _energy_reading(*, up_to_a_time: bool) -> sa.Select[Any]:
    """A transaction's last Energy.Active.Import.Register reading (Wh), up to `at` if bounded."""
    statement = sa.select(_m.value, _m.timestamp).where(
        _m.transaction_id == sa.bindparam("transaction_id"),
        _m.measurand == mv.ENERGY_REGISTER,
        _m.phase.is_(None),
        _m.value.is_not(None),
    )
    if up_to_a_time:
        statement = statement.where(_m.timestamp <= sa.bindparam("at", type_=t.UTCDateTime))
    return statement.order_by(_m.timestamp.desc(), _m.reading_id.desc()).limit(1)  # the order of the readings' index


def _first_energy() -> sa.Select[Any]:
    """A transaction's first Energy.Active.Import.Register reading (Wh): a 2.0.1 transaction's
    meter start (DESIGN §5), whatever order its readings came in."""
    statement = sa.select(_m.value).where(
        _m.transaction_id == sa.bindparam("transaction_id"),
        _m.measurand == mv.ENERGY_REGISTER,
        _m.phase.is_(None),
        _m.value.is_not(None),
    )
    return statement.order_by(_m.timestamp, _m.reading_id).limit(1)


LAST_ENERGY = _energy_reading(up_to_a_time=True)
# Any time: a transaction its rebooted charge point lost ended after its last reading, whatever
# that charge point's clock said.
LAST_ENERGY_EVER = _energy_reading(up_to_a_time=False)


FIRST_ENERGY = _first_energy()


async def fitting_reservation(
    conn: AsyncConnection,
    identity: str,
    connector_id: int,
    id_tag: str,
    info: IdTagInfo,
    reservation_id: int | None,
    at: datetime,
) -> tuple[int | None, str | None]:
    """The reservation a StartTransaction names, when it may use it; else None and why not.

    OCPP 1.6 §5.13: a reservation is for its connector (0: any) until its expiry, and for its id
    tag or any tag of its parent tag. One the sweep expired already still counts when the start
    came before its expiry (a charge point that was offline reports it late)."""
    if reservation_id is None:
        return None, None
    rv = t.reservations.c
    row = (
        await conn.execute(
            sa.select(rv.connector_id, rv.id_tag, rv.parent_id_tag, rv.expiry_date, rv.status).where(
                rv.id == reservation_id, rv.charge_point_id == identity
            )
        )
    ).first()
    if row is None:
        return None, "is not one of this charge point's"
    if row.status not in (RESERVED, EXPIRED):
        return None, f"is {row.status}"
    if row.expiry_date < at:
        return None, f"expired at {row.expiry_date.isoformat()}, before the start"
    if row.connector_id not in (0, connector_id):
        return None, f"is for connector {row.connector_id}"
    if row.id_tag != id_tag and (row.parent_id_tag is None or row.parent_id_tag != info.parent_id_tag):
        return None, f"is for id tag {row.id_tag}" + (f" or the tags of {row.parent_id_tag}" if row.parent_id_tag else "")
    return reservation_id, None


async def use_reservation(conn: AsyncConnection, reservation_id: int, transaction_id: int) -> None:
    """The reservation is used by the transaction (one the sweep expired counts too: see
    fitting_reservation)."""
    await conn.execute(
        t.reservations.update()
        .where(t.reservations.c.id == reservation_id, t.reservations.c.status.in_((RESERVED, EXPIRED)))
        .values(status=USED, transaction_id=transaction_id, updated_at=now())
    )


async def link_remote_start(conn: AsyncConnection, remote_start_id: int, transaction_id: int, connector_id: int) -> None:
    """The remote start led to the transaction: marked Started with it, and a charging profile it
    brought is the transaction's (installed once it was accepted)."""
    rs = t.remote_starts.c
    await conn.execute(
        t.remote_starts.update().where(rs.id == remote_start_id).values(transaction_id=transaction_id, status=STARTED)
    )
    cp = t.charging_profiles.c
    await conn.execute(
        t.charging_profiles.update()
        .where(cp.remote_start_id == remote_start_id, cp.transaction_id.is_(None))
        .values(transaction_id=transaction_id, connector_id=connector_id, updated_at=now())
    )
