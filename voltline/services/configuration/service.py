"""Charge point configuration as last read by GetConfiguration and changed by ChangeConfiguration."""

from __future__ import annotations


from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.clock import now
from voltline.ocpp.commands import Answer, ChangeConfiguration, ConfigurationRead, ReadConfiguration, Reply
from voltline.services.remote_control.commands import CommandService, Send
from voltline.store import tables as t
from voltline.store.database import Store

# ChangeConfiguration answers after which the new value holds (now, or after a reboot).
_CHANGED = ("Accepted", "RebootRequired")


class ConfigurationService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        commands.register(ReadConfiguration, self._get_configuration)
        commands.register(ChangeConfiguration, self._change_configuration)

    async def read(
        self, identity: str, keys: tuple[str, ...] = (), *, timeout: float | None = None
    ) -> Reply[ConfigurationRead]:
        """Read the charge point's configuration (all of it, or `keys`) and keep what it says."""
        return await self._commands.send(identity, ReadConfiguration(keys), timeout)

    async def change(self, identity: str, key: str, value: str, *, timeout: float | None = None) -> Reply[Answer]:
        return await self._commands.send(identity, ChangeConfiguration(key, value), timeout)

    async def _get_configuration(
        self, identity: str, request: ReadConfiguration, send: Send[ReadConfiguration]
    ) -> Reply[ConfigurationRead]:
        reply: Reply[ConfigurationRead] = await send(request)
        asked = request.keys
        known = reply.result.keys
        unknown = reply.result.unknown_keys
        c = t.configuration.c
        at = now()

        async def store(conn: AsyncConnection) -> None:
            if not asked:
                # The whole configuration was read: what is not in it is gone.
                await conn.execute(t.configuration.delete().where(c.charge_point_id == identity))
            else:
                names = [item.key for item in known] + list(unknown)
                if names:
                    await conn.execute(t.configuration.delete().where(c.charge_point_id == identity, c.key.in_(names)))
            rows = {
                item.key: {
                    "charge_point_id": identity,
                    "key": item.key,
                    "value": item.value,
                    "readonly": item.readonly,
                    "updated_at": at,
                }
                for item in known
            }
            if rows:
                await conn.execute(t.configuration.insert(), list(rows.values()))

        await self._store.write(store)
        self._bus.publish(Event("configuration.read", identity, {"keys": len(known)}))
        return reply

    async def _change_configuration(
        self, identity: str, request: ChangeConfiguration, send: Send[ChangeConfiguration]
    ) -> Reply[Answer]:
        reply = await send(request)
        if reply.result.status not in _CHANGED:
            return reply
        key, value = request.key, request.value
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
        self._bus.publish(Event("configuration.changed", identity, {"key": key, "status": reply.result.status}))
        return reply
