"""The services' `ChargePointLink`, implemented over the gateway's live connections.

Each connection carries its OCPP version: a domain request is encoded by that version's
translators, the answer decoded by them, and the protocol's failures come out as the services'
domain errors, so nothing above the gateway sees an `ocpp.rpc` exception. A trigger lets the
message it asks for through to a charge point that is not yet Accepted (OCPP allows it): allowed
before sending, since the message may arrive before the answer is read, withdrawn when the charge
point does not accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from voltline.ocpp.commands import Answer, Inexpressible, Reply, Request
from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltline.ocpp.schemas import SchemaViolation
from voltline.services.errors import ChargePointOffline, CommandFailed, CommandTimeout, Invalid
from voltline.services.remote_control.request_checks import Problem

if TYPE_CHECKING:
    from voltline.gateway.server import ChargePointConnection, OcppGateway
    from voltline.ocpp.versions import OcppVersion

R = TypeVar("R", bound=Answer)


class GatewayLink:
    def __init__(self, gateway: OcppGateway) -> None:
        self._gateway = gateway

    def is_connected(self, charge_point_id: str) -> bool:
        return self._gateway.is_connected(charge_point_id)

    def holds(self, charge_point_id: str) -> bool:
        return self._gateway.is_connected(charge_point_id)

    def actions(self, charge_point_id: str) -> tuple[str, ...]:
        connection = self._gateway.connections.get(charge_point_id)
        return connection.version.actions if connection is not None else ()

    def check(self, charge_point_id: str, request: Request[Any], found: Sequence[Problem]) -> list[Problem]:
        connection = self._gateway.connections.get(charge_point_id)
        if connection is None:
            return list(found)  # no version to name the fields in, and nothing goes out
        return check_in(connection.version, charge_point_id, request, found)

    def version(self, charge_point_id: str) -> str | None:
        connection = self._gateway.connections.get(charge_point_id)
        return connection.version.label if connection is not None else None

    def read(self, charge_point_id: str, action: str, payload: dict[str, Any]) -> Request[Any] | None:
        return read_in(self._connection(charge_point_id, action).version, action, payload)

    async def send(self, charge_point_id: str, request: Request[R], timeout: float | None = None) -> Reply[R]:
        connection = self._connection(charge_point_id, type(request).__name__)
        action, payload = self._encode(connection, request)
        return await self._exchange(connection, action, payload, timeout)  # type: ignore[return-value]

    @staticmethod
    def _encode(connection: ChargePointConnection, request: Request[Any]) -> tuple[str, dict[str, Any]]:
        return encode_in(connection.version, connection.identity, request)

    async def send_as_written(
        self, charge_point_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> Reply[Answer]:
        return await self._exchange(self._connection(charge_point_id, action), action, payload, timeout)

    def _connection(self, identity: str, what: str) -> ChargePointConnection:
        connection = self._gateway.connections.get(identity)
        if connection is None or connection.session is None:
            raise ChargePointOffline(f"charge point {identity} is offline: {what} was not sent")
        return connection

    async def _exchange(
        self, connection: ChargePointConnection, action: str, payload: dict[str, Any], timeout: float | None
    ) -> Reply[Answer]:
        identity, version = connection.identity, connection.version
        triggered = version.outbound.triggered(action, payload)
        allowance = connection.context.allow(*triggered) if triggered is not None else None
        accepted = False
        try:
            answer = await connection.session.call(action, payload, timeout)  # type: ignore[union-attr]
            result = version.outbound.decode_answer(action, answer)
            accepted = result.accepted
        except SchemaViolation as exc:
            raise _invalid(action, version.label, exc) from None
        except CallTimeout as exc:
            raise CommandTimeout(str(exc)) from None
        except CallErrorReceived as exc:
            raise CommandFailed(
                f"{identity} answered {action} with the CALLERROR {exc.code}",
                ocpp_code=exc.code, description=exc.description, details=exc.details or None, action=action,
            ) from None
        except OcppError as exc:
            raise CommandFailed(
                f"{identity} answered {action} with a response that is not valid OCPP",
                ocpp_code=exc.code, description=exc.description,
            ) from None
        except ConnectionLost:
            raise ChargePointOffline(f"charge point {identity} disconnected before answering {action}") from None
        finally:
            if allowance is not None and not accepted:
                connection.context.withdraw(allowance)
        return Reply(result, action, payload, answer)


# What depends on the connection's version alone, not on the connection: a node that does not
# hold the charge point's connection (cluster mode) encodes, checks and decodes with these too.


def encode_in(version: OcppVersion, identity: str, request: Request[Any]) -> tuple[str, dict[str, Any]]:
    """`request` as `version`'s message: (action, payload); Invalid when the version cannot say it."""
    try:
        return version.outbound.encode(request)
    except Inexpressible as exc:
        raise Invalid(
            f"{type(request).__name__} cannot be sent to {identity} in OCPP {version.label}: {exc}",
            code="not_in_this_version",
        ) from None


def check_in(version: OcppVersion, identity: str, request: Request[Any], found: Sequence[Problem]) -> list[Problem]:
    outbound = version.outbound
    action, payload = encode_in(version, identity, request)
    problems = []
    for violation in version.validators().request_violations(action, payload):
        # The description starts with the path ("payload.x: …"): the path is kept apart here.
        message = violation.description.split(": ", 1)[-1]
        problems.append(Problem(outbound.domain_path(action, violation.path) or (), message, wire=violation.path))
    return problems + [replace(p, wire=outbound.wire_path(action, p.path)) for p in found]


def read_in(version: OcppVersion, action: str, payload: dict[str, Any]) -> Request[Any] | None:
    try:
        version.validators().validate_request(action, payload)
    except SchemaViolation as exc:
        raise _invalid(action, version.label, exc) from None
    return version.outbound.read_request(action, payload)


def decode_in(version: OcppVersion, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> Reply[Answer]:
    """The charge point's answer to `action` (sent as `payload`) as the reply a local call gives."""
    try:
        result = version.outbound.decode_answer(action, answer)
    except SchemaViolation as exc:
        raise _invalid(action, version.label, exc) from None
    return Reply(result, action, payload, answer)


def _invalid(action: str, label: str, exc: SchemaViolation) -> Invalid:
    return Invalid(
        f"the {action} request is not valid OCPP {label}: {exc.description}",
        code="invalid_ocpp_request",
        details={"ocpp_error": exc.code},
    )
