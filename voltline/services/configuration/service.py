"""Charge point configuration as last read by GetConfiguration and changed by ChangeConfiguration."""

from __future__ import annotations


from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.services.remote_control.commands import CommandService, Payload, Send
from voltline.store import tables as t
from voltline.store.database import Store

# ChangeConfiguration answers after which the new value holds (now, or after a reboot).
_CHANGED = ("Accepted", "RebootRequired")


class ConfigurationService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        commands.register("GetConfiguration", self._get_configuration)
        commands.register("ChangeConfiguration", self._change_configuration)

    async def _get_configuration(self, identity: str, payload: Payload, send: Send) -> Payload:
        response = await send(payload)
        asked = payload.get("key") or []
        known = response.get("configurationKey") or []
        unknown = response.get("unknownKey") or []
        c = t.configuration.c
        at = now()

        async def store(conn: AsyncConnection) -> None:
            if not asked:
                # The whole configuration was read: what is not in it is gone.
                await conn.execute(t.configuration.delete().where(c.charge_point_id == identity))
            else:
                names = [item["key"] for item in known] + list(unknown)
                if names:
                    await conn.execute(t.configuration.delete().where(c.charge_point_id == identity, c.key.in_(names)))
            rows = {
                item["key"]: {
                    "charge_point_id": identity,
                    "key": item["key"],
                    "value": item.get("value"),
                    "readonly": bool(item.get("readonly", False)),
                    "updated_at": at,
                }
                for item in known
            }
            if rows:
                await conn.execute(t.configuration.insert(), list(rows.values()))

        await self._store.write(store)
        self._bus.publish(Event("configuration.read", identity, {"keys": len(known)}))
        return response

    async def _change_configuration(self, identity: str, payload: Payload, send: Send) -> Payload:
        response = await send(payload)
        if response.get("status") not in _CHANGED:
            return response
        key, value = payload["key"], payload["value"]
        c = t.configuration.c

        async def store(conn: AsyncConnection) -> None:
            updated = await conn.execute(
                t.configuration.update()
                .where(c.charge_point_id == identity, c.key == key)
                .values(value=value, updated_at=now())
            )
            if not updated.rowcount:
                await conn.execute(
                    t.configuration.insert().values(charge_point_id=identity, key=key, value=value, readonly=False, updated_at=now())
                )

        await self._store.write(store)
        self._bus.publish(Event("configuration.changed", identity, {"key": key, "status": response.get("status")}))
        return response
