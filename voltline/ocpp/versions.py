"""The OCPP versions Voltline speaks, by the WebSocket subprotocol that names them.

The gateway picks a connection's version from the subprotocol it negotiated and takes from it
everything that depends on the version: the inbound handlers, the validators, the handler
context, and the outbound translators that turn the services' requests into that version's
messages and its answers back into results. A new version is one more `OcppVersion` registered
here; no service changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from voltline.ocpp import commands
from voltline.ocpp.frames import ErrorCode
from voltline.ocpp.rpc import Handler
from voltline.ocpp.schemas import OCPP16, OCPP201, Validators, validators
from voltline.ocpp.v16 import inbound as inbound16
from voltline.ocpp.v16 import outbound as outbound16
from voltline.ocpp.v201 import context as context201
from voltline.ocpp.v201 import inbound as inbound201
from voltline.ocpp.v201 import outbound as outbound201

Payload = dict[str, Any]


class HandlerContext(Protocol):
    """What the gateway needs of a connection's handler context, whatever its version."""

    def allow(self, action: str, within: float | None = None) -> object:
        """Let `action` through while not Accepted (a trigger asked for it); the allowance."""
        ...

    def withdraw(self, allowance: Any) -> None: ...


ContextFactory = Callable[[str, Any, str], HandlerContext]
"""`factory(identity, services, registration_status)`: the context a connection's handlers get.
The services are the container of voltline/services, which this layer cannot name: each version
states what it needs of them as a Protocol (v16.inbound.Services)."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """A version's translators for what the Central System sends."""

    encode: Callable[[commands.Request[Any]], tuple[str, Payload]]
    decode_answer: Callable[[str, Mapping[str, Any]], commands.Answer]
    read_request: Callable[[str, Payload], commands.Request[Any] | None]
    # The message a trigger asks for, and for how long it may keep coming (see v16.outbound).
    triggered: Callable[[str, Mapping[str, Any]], tuple[str, float | None] | None]


@dataclass(frozen=True, slots=True)
class OcppVersion:
    subprotocol: str  # as negotiated on the WebSocket: ocpp1.6
    label: str  # as shown to operators: 1.6
    handlers: Mapping[str, Handler]  # CP→CS actions
    validators: Callable[[], Validators]  # compiled on first use, shared by every connection
    context: ContextFactory
    outbound: Outbound
    actions: tuple[str, ...]  # CS→CP actions
    # The CALLERROR codes by their meaning, as this version spells them.
    error_codes: Mapping[str, str] = field(default_factory=dict)


OCPP_16 = OcppVersion(
    subprotocol=OCPP16,
    label="1.6",
    handlers=inbound16.HANDLERS,
    validators=lambda: validators(OCPP16),
    context=inbound16.Context,
    outbound=Outbound(outbound16.encode, outbound16.decode_answer, outbound16.read_request, outbound16.triggered),
    actions=outbound16.CENTRAL_SYSTEM_ACTIONS,
    error_codes={
        "format": ErrorCode.FORMATION_VIOLATION,
        "occurrence": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
        "security": ErrorCode.SECURITY_ERROR,
    },
)

OCPP_201 = OcppVersion(
    subprotocol=OCPP201,
    label="2.0.1",
    handlers=inbound201.HANDLERS,
    validators=lambda: validators(OCPP201),
    context=context201.Context,
    outbound=Outbound(outbound201.encode, outbound201.decode_answer, outbound201.read_request, outbound201.triggered),
    actions=outbound201.CENTRAL_SYSTEM_ACTIONS,
    error_codes={
        "format": ErrorCode.FORMAT_VIOLATION,
        "occurrence": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
        "security": ErrorCode.SECURITY_ERROR,
    },
)


class VersionRegistry:
    """The versions a gateway accepts, in its order of preference for the registry's own lists."""

    def __init__(self, *versions: OcppVersion) -> None:
        self._versions: dict[str, OcppVersion] = {}
        for version in versions:
            self.register(version)

    def register(self, version: OcppVersion) -> None:
        self._versions[version.subprotocol] = version

    def unregister(self, subprotocol: str) -> None:
        self._versions.pop(subprotocol, None)

    def get(self, subprotocol: str) -> OcppVersion | None:
        return self._versions.get(subprotocol)

    @property
    def subprotocols(self) -> tuple[str, ...]:
        return tuple(self._versions)

    def negotiate(self, offered: list[str]) -> OcppVersion | None:
        """The first subprotocol in the charge point's own list that is supported (DESIGN §5)."""
        return next((self._versions[p] for p in offered if p in self._versions), None)

    def inbound_actions(self) -> list[str]:
        """Every CP→CS action of every version, sorted (an operator may make any lenient)."""
        return sorted({action for version in self._versions.values() for action in version.handlers})

    def outbound_actions(self) -> tuple[str, ...]:
        """Every CS→CP action of every version, in the first version's order."""
        seen: dict[str, None] = {}
        for version in self._versions.values():
            seen.update(dict.fromkeys(version.actions))
        return tuple(seen)

    def __iter__(self) -> Iterator[OcppVersion]:
        return iter(self._versions.values())


def default_registry() -> VersionRegistry:
    return VersionRegistry(OCPP_16, OCPP_201)


VERSIONS = default_registry()
"""The versions this build speaks."""
