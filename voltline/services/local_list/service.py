"""The local authorization list: built from the id tags, versioned, sent Full or Differential,
and kept per charge point as it last accepted it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.ocpp.commands import (
    Answer,
    GetLocalListVersion,
    IdTagInfo,
    LocalListChange,
    LocalListVersionRead,
    Reply,
    SendLocalList,
)
from voltline.services.errors import Invalid
from voltline.services.remote_control.commands import CommandService, Send, require_storable
from voltline.store import tables as t
from voltline.store.database import Store

FULL, DIFFERENTIAL = "Full", "Differential"


class LocalListService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register(SendLocalList, self._send_local_list)
        commands.register(GetLocalListVersion, self._get_local_list_version)

    async def synchronize(
        self, identity: str, update_type: str = FULL, *, timeout: float | None = None
    ) -> tuple[SendLocalList, Reply[Answer]]:
        """Send the id tags as the charge point's local list: all of them (Full), or what changed
        since the list it last accepted (Differential). Returns the request and the reply."""
        if update_type not in (FULL, DIFFERENTIAL):
            raise Invalid("update_type must be Full or Differential")
        async with self._store.read() as conn:
            current = await conn.scalar(sa.select(t.charge_points.c.local_list_version).where(t.charge_points.c.id == identity))
            rows = (await conn.execute(sa.select(t.id_tags))).all()
            tags = {row.id_tag: _info(row) for row in rows}
            token_types = {row.id_tag: row.token_type for row in rows}  # 2.0.1 names each token's type
            entries: list[LocalListChange]
            if update_type == FULL:
                entries = [LocalListChange(tag, info, token_types[tag]) for tag, info in sorted(tags.items())]
            else:
                held = {
                    row.id_tag: _info(row)
                    for row in (
                        await conn.execute(
                            sa.select(t.local_list_entries).where(t.local_list_entries.c.charge_point_id == identity)
                        )
                    ).all()
                }
                entries = [LocalListChange(tag, info, token_types[tag])
                           for tag, info in sorted(tags.items()) if held.get(tag) != info]
                entries += [LocalListChange(tag, None) for tag in sorted(held.keys() - tags.keys())]
        request = SendLocalList(max(current or 0, 0) + 1, FULL if update_type == FULL else DIFFERENTIAL, tuple(entries))
        return request, await self._commands.send(identity, request, timeout)

    # -- domain effects of the commands --------------------------------------------------------

    async def _send_local_list(self, identity: str, request: SendLocalList, send: Send[SendLocalList]) -> Reply[Answer]:
        require_storable(request, "version")
        reply = await send(request)
        if not reply.result.accepted:
            return reply
        c = t.local_list_entries.c

        async def apply(conn: AsyncConnection) -> None:
            if request.update_type == FULL:
                await conn.execute(t.local_list_entries.delete().where(c.charge_point_id == identity))
            for entry in request.entries:
                await conn.execute(
                    t.local_list_entries.delete().where(c.charge_point_id == identity, c.id_tag == entry.id_tag)
                )
                info = entry.info
                if info is not None:
                    await conn.execute(
                        t.local_list_entries.insert().values(
                            charge_point_id=identity,
                            id_tag=entry.id_tag,
                            status=info.status,
                            expiry_date=info.expiry_date,
                            parent_id_tag=info.parent_id_tag,
                        )
                    )
            await conn.execute(
                t.charge_points.update()
                .where(t.charge_points.c.id == identity)
                .values(local_list_version=request.version)
            )

        await self._store.write(apply)
        self._bus.publish(
            Event("local_list.updated", identity, {"version": request.version, "update_type": request.update_type})
        )
        return reply

    async def _get_local_list_version(
        self, identity: str, request: GetLocalListVersion, send: Send[GetLocalListVersion]
    ) -> Reply[LocalListVersionRead]:
        reply: Reply[LocalListVersionRead] = await send(request)
        version = reply.result.version
        if isinstance(version, int) and -(2**31) <= version < 2**31:
            await self._store.write(
                lambda conn: conn.execute(
                    t.charge_points.update().where(t.charge_points.c.id == identity).values(local_list_version=version)
                )
            )
        return reply


def _info(row: Any) -> IdTagInfo:
    # At the millisecond, as OCPP carries it: what the charge point holds compares equal.
    expiry = row.expiry_date
    if expiry is not None:
        expiry = expiry.replace(microsecond=expiry.microsecond // 1000 * 1000)
    return IdTagInfo(row.status, expiry, row.parent_id_tag)
