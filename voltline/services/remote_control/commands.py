"""The one path for calls from the Central System to a charge point, whatever asked for them.

The gateway is reached through a narrow port (`call`, `is_connected`, and the connection's handler
context for TriggerMessage), so the same service works when a call must travel to another node.
Failures come out as domain errors: offline, timeout, the charge point's CALLERROR, or a request
that breaks the OCPP schema. Services that give a command its domain effect (a reservation stored,
a profile cleared) register an effect for its action; the effect wraps the call itself, so it can
prepare before and record after, and it runs whether the command came from the generic command
endpoint, a friendly shortcut or the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from voltline.bus.events import Event, EventBus
from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltline.ocpp.schemas import SchemaViolation
from voltline.services.errors import ChargePointOffline, CommandFailed, CommandTimeout, Invalid, NotFound

log = logging.getLogger("voltline.commands")

Payload = dict[str, Any]
GatewayCall = Callable[[str, str, Payload, float | None], Awaitable[Payload]]
Send = Callable[[Payload], Awaitable[Payload]]
Effect = Callable[[str, Payload, Send], Awaitable[Payload]]
"""`effect(identity, payload, send)`: calls `send(payload)` once and returns its response."""

# Every message the Central System sends in OCPP 1.6, and in its security extension.
CENTRAL_SYSTEM_ACTIONS = (
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "InstallCertificate",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "SignedUpdateFirmware",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
)

# TriggerMessage / ExtendedTriggerMessage `requestedMessage` → the action the charge point sends.
TRIGGERED_ACTIONS = {
    "BootNotification": "BootNotification",
    "DiagnosticsStatusNotification": "DiagnosticsStatusNotification",
    "FirmwareStatusNotification": "FirmwareStatusNotification",
    "Heartbeat": "Heartbeat",
    "MeterValues": "MeterValues",
    "StatusNotification": "StatusNotification",
    "LogStatusNotification": "LogStatusNotification",
    "SignChargePointCertificate": "SignCertificate",
}

# Triggered for no connector in particular, these come once per connector.
PER_CONNECTOR = frozenset({"StatusNotification", "MeterValues"})
PER_CONNECTOR_WITHIN_S = 60.0

INT32_MAX = 2**31 - 1


def require_storable(payload: Payload, *fields: str) -> None:
    """OCPP integers have no bound, the database's do: refuse, before sending, a value that could
    not be stored once the charge point has accepted it."""
    for name in fields:
        value = payload.get(name)
        if isinstance(value, int) and not -INT32_MAX - 1 <= value <= INT32_MAX:
            raise Invalid(f"{name} {value} is out of range (at most {INT32_MAX})", code="invalid_ocpp_request")


class CommandService:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._call: GatewayCall | None = None
        self._is_connected: Callable[[str], bool] = lambda identity: False
        self._context: Callable[[str], Any] | None = None
        self._offline_errors: tuple[type[BaseException], ...] = ()
        self._effects: dict[str, Effect] = {}
        self.register("TriggerMessage", self._trigger)
        self.register("ExtendedTriggerMessage", self._trigger)

    def bind(
        self,
        call: GatewayCall,
        is_connected: Callable[[str], bool],
        context: Callable[[str], Any] | None = None,
        offline_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        """Connect to the gateway: `call(identity, action, payload, timeout)`, `is_connected(identity)`,
        `context(identity)` (the live connection's handler context, or None), and the exceptions
        the gateway raises when the charge point has no connection."""
        self._call = call
        self._is_connected = is_connected
        self._context = context
        self._offline_errors = offline_errors

    def register(self, action: str, effect: Effect) -> None:
        self._effects[action] = effect

    def effect(self, action: str) -> Effect | None:
        """The effect registered for `action`, for a service that wraps it with rules of its own."""
        return self._effects.get(action)

    def is_connected(self, identity: str) -> bool:
        return self._is_connected(identity)

    async def send(self, identity: str, action: str, payload: Payload, timeout: float | None = None) -> Payload:
        """Send `action` to the charge point with its domain effect; return the OCPP response."""
        if action not in CENTRAL_SYSTEM_ACTIONS:
            raise NotFound(f"{action!r} is not an action the Central System sends in OCPP 1.6", code="unknown_action")
        effect = self._effects.get(action)
        if effect is None or not self._is_connected(identity):
            return await self.call(identity, action, payload, timeout)
        return await effect(identity, payload, lambda p: self.call(identity, action, p, timeout))

    async def call(self, identity: str, action: str, payload: Payload, timeout: float | None = None) -> Payload:
        """The bare call, without domain effect: for services that apply their own."""
        if self._call is None or not self._is_connected(identity):
            raise ChargePointOffline(f"charge point {identity} is offline: {action} was not sent")
        try:
            response = await self._call(identity, action, payload, timeout)
        except SchemaViolation as exc:
            raise Invalid(
                f"the {action} request is not valid OCPP 1.6: {exc.description}",
                code="invalid_ocpp_request",
                details={"ocpp_error": exc.code},
            ) from None
        except CallTimeout as exc:
            raise CommandTimeout(str(exc)) from None
        except CallErrorReceived as exc:
            self._bus.publish(Event("command", identity, {"action": action, "error_code": exc.code}))
            raise CommandFailed(
                f"{identity} answered {action} with the CALLERROR {exc.code}",
                ocpp_code=exc.code,
                description=exc.description,
                details=exc.details or None,
            ) from None
        except OcppError as exc:
            raise CommandFailed(
                f"{identity} answered {action} with a response that is not valid OCPP",
                ocpp_code=exc.code,
                description=exc.description,
            ) from None
        except ConnectionLost:
            raise ChargePointOffline(f"charge point {identity} disconnected before answering {action}") from None
        except self._offline_errors:
            raise ChargePointOffline(f"charge point {identity} is offline: {action} was not sent") from None
        self._bus.publish(Event("command", identity, {"action": action, "status": response.get("status")}))
        return response

    async def _trigger(self, identity: str, payload: Payload, send: Send) -> Payload:
        # A charge point whose registration is Pending may send only what we asked for: the
        # guarded handlers let a triggered action through. It is allowed before sending,
        # because the triggered message may arrive before we have read the answer. Asked for no
        # connector in particular, a charge point sends one message per connector (and for
        # connector 0): those are let through for a while, as many as come.
        action = TRIGGERED_ACTIONS.get(payload.get("requestedMessage", ""))
        context = self._context(identity) if self._context is not None and action else None
        within = PER_CONNECTOR_WITHIN_S if action in PER_CONNECTOR and payload.get("connectorId") is None else None
        allowance = context.allow(action, within) if context is not None else None
        try:
            response = await send(payload)
        except Exception:
            if allowance is not None:
                context.withdraw(allowance)
            raise
        if allowance is not None and response.get("status") != "Accepted":
            context.withdraw(allowance)
        return response
