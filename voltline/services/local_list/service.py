"""The local authorization list: built from the id tags, versioned, sent Full or Differential,
and kept per charge point as it last accepted it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import iso, parse_timestamp
from voltline.services.remote_control.commands import CommandService, Payload, Send, require_storable
from voltline.services.errors import Invalid
from voltline.store import tables as t
from voltline.store.database import Store

FULL, DIFFERENTIAL = "Full", "Differential"


class LocalListService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register("SendLocalList", self._send_local_list)
        commands.register("GetLocalListVersion", self._get_local_list_version)

    async def synchronize(
        self, identity: str, update_type: str = FULL, *, timeout: float | None = None
    ) -> tuple[Payload, Payload]:
        """Send the id tags as the charge point's local list: all of them (Full), or what changed
        since the list it last accepted (Differential). Returns the request and the answer."""
        if update_type not in (FULL, DIFFERENTIAL):
            raise Invalid("update_type must be Full or Differential")
        async with self._store.read() as conn:
            current = await conn.scalar(sa.select(t.charge_points.c.local_list_version).where(t.charge_points.c.id == identity))
            tags = {row.id_tag: _info(row) for row in (await conn.execute(sa.select(t.id_tags))).all()}
            entries: list[Payload]
            if update_type == FULL:
                entries = [{"idTag": tag, "idTagInfo": info} for tag, info in sorted(tags.items())]
            else:
                held = {
                    row.id_tag: _info(row)
                    for row in (
                        await conn.execute(
                            sa.select(t.local_list_entries).where(t.local_list_entries.c.charge_point_id == identity)
                        )
                    ).all()
                }
                entries = [{"idTag": tag, "idTagInfo": info} for tag, info in sorted(tags.items()) if held.get(tag) != info]
                entries += [{"idTag": tag} for tag in sorted(held.keys() - tags.keys())]
        payload: Payload = {"listVersion": max(current or 0, 0) + 1, "updateType": update_type}
        if entries:
            payload["localAuthorizationList"] = entries
        response = await self._commands.send(identity, "SendLocalList", payload, timeout)
        return payload, response

    # -- domain effects of the commands --------------------------------------------------------

    async def _send_local_list(self, identity: str, payload: Payload, send: Send) -> Payload:
        require_storable(payload, "listVersion")
        response = await send(payload)
        if response.get("status") != "Accepted":
            return response
        c = t.local_list_entries.c

        async def apply(conn: AsyncConnection) -> None:
            if payload["updateType"] == FULL:
                await conn.execute(t.local_list_entries.delete().where(c.charge_point_id == identity))
            for entry in payload.get("localAuthorizationList", ()):
                await conn.execute(
                    t.local_list_entries.delete().where(c.charge_point_id == identity, c.id_tag == entry["idTag"])
                )
                info = entry.get("idTagInfo")
                if info is not None:
                    await conn.execute(
                        t.local_list_entries.insert().values(
                            charge_point_id=identity,
                            id_tag=entry["idTag"],
                            status=info["status"],
                            expiry_date=parse_timestamp(info["expiryDate"]) if info.get("expiryDate") else None,
                            parent_id_tag=info.get("parentIdTag"),
                        )
                    )
            await conn.execute(
                t.charge_points.update()
                .where(t.charge_points.c.id == identity)
                .values(local_list_version=payload["listVersion"])
            )

        await self._store.write(apply)
        self._bus.publish(
            Event("local_list.updated", identity, {"version": payload["listVersion"], "update_type": payload["updateType"]})
        )
        return response

    async def _get_local_list_version(self, identity: str, payload: Payload, send: Send) -> Payload:
        response = await send(payload)
        version = response.get("listVersion")
        if isinstance(version, int) and -(2**31) <= version < 2**31:
            await self._store.write(
                lambda conn: conn.execute(
                    t.charge_points.update().where(t.charge_points.c.id == identity).values(local_list_version=version)
                )
            )
        return response


def _info(row: Any) -> Payload:
    info: Payload = {"status": row.status}
    if row.expiry_date is not None:
        info["expiryDate"] = iso(row.expiry_date)
    if row.parent_id_tag is not None:
        info["parentIdTag"] = row.parent_id_tag
    return info
