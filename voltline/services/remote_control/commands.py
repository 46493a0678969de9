"""The one path for calls from the Central System to a charge point, whatever asked for them.

Charge points are reached through the `ChargePointLink` port (the gateway, with the translators of
each connection's OCPP version), so this service speaks domain requests and results only and works
the same when a call must travel to another node. Services that give a command its domain effect
(a reservation stored, a profile cleared) register an effect for its kind of request; the effect
wraps the call itself, so it can prepare before and record after, and it runs whether the command
came from the generic command endpoint (a request written in the charge point's own version,
read by the link as the domain request it means), a friendly shortcut or the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

from voltline.bus.events import Event, EventBus
from voltline.ocpp import commands as c
from voltline.ocpp.commands import Answer, Reply, Request
from voltline.services.errors import ChargePointOffline, CommandFailed, Invalid
from voltline.services.remote_control.port import ChargePointLink, Offline
from voltline.services.remote_control.request_checks import Problem

log = logging.getLogger("voltline.commands")

R = TypeVar("R", bound=Answer)
Q = TypeVar("Q", bound=Request[Any])
Send = Callable[[Q], Awaitable[Reply[Any]]]
Effect = Callable[[str, Q, Callable[[Q], Awaitable[Reply[Any]]]], Awaitable[Reply[Any]]]
"""`effect(identity, request, send)`: calls `send(request)` once and returns its reply."""

INT32_MAX = 2**31 - 1

ResetKind = Literal["Hard", "Soft", "Immediate", "OnIdle"]


def require_storable(request: object, *fields: str) -> None:
    """OCPP integers have no bound, the database's do: refuse, before sending, a value that could
    not be stored once the charge point has accepted it."""
    for name in fields:
        value = getattr(request, name, None)
        if isinstance(value, int) and not -INT32_MAX - 1 <= value <= INT32_MAX:
            raise Invalid(f"{name} {value} is out of range (at most {INT32_MAX})", code="invalid_ocpp_request")


class CommandService:
    def __init__(self, bus: EventBus, link: ChargePointLink | None = None) -> None:
        self._bus = bus
        self._link: ChargePointLink = link or Offline()
        self._effects: dict[type[Request[Any]], Effect[Any]] = {}

    def bind(self, link: ChargePointLink) -> None:
        """Connect to the gateway (app.py)."""
        self._link = link

    def register(self, kind: type[Q], effect: Effect[Q]) -> None:
        self._effects[kind] = effect

    def effect(self, kind: type[Q]) -> Effect[Q] | None:
        """The effect registered for `kind`, for a service that wraps it with rules of its own."""
        return self._effects.get(kind)

    def is_connected(self, identity: str) -> bool:
        return self._link.is_connected(identity)

    def holds(self, identity: str) -> bool:
        """Whether this node holds the connection (is_connected, in a cluster, counts every node's)."""
        return self._link.holds(identity)

    def speaks(self, identity: str, action: str) -> bool:
        """Whether `action` is sent in the OCPP version of the charge point's connection (False offline)."""
        return action in self._link.actions(identity)

    async def send(self, identity: str, request: Request[R], timeout: float | None = None) -> Reply[R]:
        """Send `request` to the charge point with its domain effect."""
        effect = self._effects.get(type(request))
        if effect is None or not self._link.is_connected(identity):
            return await self.call(identity, request, timeout)
        return await effect(identity, request, lambda r: self.call(identity, r, timeout))  # type: ignore[no-any-return]

    async def call(self, identity: str, request: Request[R], timeout: float | None = None) -> Reply[R]:
        """The bare call, without domain effect: for services that apply their own."""
        if not self._link.is_connected(identity):
            raise ChargePointOffline(f"charge point {identity} is offline: {type(request).__name__} was not sent")
        return self._answered(identity, await self._failures(identity, self._link.send(identity, request, timeout)))

    def check(self, identity: str, request: Request[Any], found: Sequence[Problem] = ()) -> list[Problem]:
        """Every problem of `request` before it is sent: `found` by the domain's rules, and what
        the charge point's version refuses of it, each at its field as that version names it."""
        return self._link.check(identity, request, found)

    async def send_as_written(
        self, identity: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> Reply[Answer]:
        """A request written in the charge point's own version, sent exactly as it is, with the
        domain effect of what it means; the reply holds the charge point's answer exactly."""
        if not self._link.is_connected(identity):
            raise ChargePointOffline(f"charge point {identity} is offline: {action} was not sent")
        if action not in self._link.actions(identity):
            # The API knows every version's actions (404 for none); this one is another version's.
            version = self._link.version(identity)
            raise Invalid(
                f"{action!r} is not an action of OCPP {version}, which {identity} speaks",
                code="action_not_in_version", details={"ocpp_version": version},
            )
        request = self._link.read(identity, action, payload)
        effect = self._effects.get(type(request)) if request is not None else None

        async def send(_: Request[Any] | None = None) -> Reply[Answer]:
            reply = await self._failures(identity, self._link.send_as_written(identity, action, payload, timeout))
            return self._answered(identity, reply)

        if effect is None:
            return await send()
        return await effect(identity, request, send)  # type: ignore[no-any-return]

    async def _failures(self, identity: str, sending: Awaitable[Reply[R]]) -> Reply[R]:
        try:
            return await sending
        except CommandFailed as exc:
            if exc.ocpp_code and exc.action:
                self._bus.publish(Event("command", identity, {"action": exc.action, "error_code": exc.ocpp_code}))
            raise

    def _answered(self, identity: str, reply: Reply[R]) -> Reply[R]:
        self._bus.publish(Event("command", identity, {"action": reply.action, "status": reply.result.status}))
        return reply

    # -- remote control verbs ----------------------------------------------------------------

    async def stop_charging(
        self, identity: str, transaction_id: int, *, ocpp_transaction_id: str | None = None, timeout: float | None = None
    ) -> Reply[Answer]:
        """Stop Voltline's transaction `transaction_id`; 2.0.1 names it by `ocpp_transaction_id`
        (RemoteStartService.stop finds it)."""
        return await self.send(identity, c.StopCharging(transaction_id, ocpp_transaction_id), timeout)

    async def reset(
        self, identity: str, kind: ResetKind = "Soft", *, evse_id: int | None = None, timeout: float | None = None
    ) -> Reply[Answer]:
        return await self.send(identity, c.Reset(kind, evse_id), timeout)

    async def unlock(
        self, identity: str, connector_id: int, *, evse_id: int | None = None, timeout: float | None = None
    ) -> Reply[Answer]:
        return await self.send(identity, c.UnlockConnector(connector_id, evse_id), timeout)

    async def change_availability(
        self, identity: str, connector_id: int, availability: Literal["Operative", "Inoperative"],
        *, evse_id: int | None = None, timeout: float | None = None,
    ) -> Reply[Answer]:
        return await self.send(identity, c.ChangeAvailability(connector_id, availability, evse_id), timeout)

    async def trigger(
        self, identity: str, message: str, connector_id: int | None = None, *, evse_id: int | None = None,
        timeout: float | None = None,
    ) -> Reply[Answer]:
        """Ask the charge point to send `message` (the link lets it through while not Accepted)."""
        return await self.send(identity, c.TriggerMessage(message, connector_id, evse_id), timeout)
