"""The port through which the services reach charge points, whatever their OCPP version.

The gateway implements it with the translators of each connection's version; a service sends a
domain request and gets its result, or one of the domain errors: ChargePointOffline,
CommandTimeout, CommandFailed (the charge point's CALLERROR, or an answer that breaks its
version's schema), Invalid (a request the version's schema refuses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from voltline.ocpp.commands import Answer, Reply, Request
from voltline.services.errors import ChargePointOffline
from voltline.services.remote_control.request_checks import Problem

R = TypeVar("R", bound=Answer)


class ChargePointLink(Protocol):
    def is_connected(self, charge_point_id: str) -> bool: ...

    def holds(self, charge_point_id: str) -> bool:
        """Whether the connection is on this node (in a cluster, is_connected is true for a charge
        point another node holds too): what every node does for its own charge points asks this."""
        ...

    def actions(self, charge_point_id: str) -> tuple[str, ...]:
        """The actions the Central System may send in the version of the charge point's connection."""
        ...

    def version(self, charge_point_id: str) -> str | None:
        """The OCPP version of the charge point's connection, as operators read it (1.6, 2.0.1)."""
        ...

    async def send(self, charge_point_id: str, request: Request[R], timeout: float | None = None) -> Reply[R]:
        """Ask the charge point for `request` in its version; its answer as a result."""
        ...

    def check(self, charge_point_id: str, request: Request[Any], found: Sequence[Problem]) -> list[Problem]:
        """What the schema of the charge point's version refuses of `request` as it would go out,
        then `found` (the domain's own rules); each named at its field in that version's message.
        Offline: `found` alone, in the domain's names (nothing goes out, in no version)."""
        ...

    def read(self, charge_point_id: str, action: str, payload: dict[str, Any]) -> Request[Any] | None:
        """What a request written in the charge point's own version (`action`, `payload`) means
        (None: nothing the domain keeps track of); Invalid when its schema refuses it."""
        ...

    async def send_as_written(
        self, charge_point_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> Reply[Answer]:
        """Send a request written in the charge point's own version exactly as it is."""
        ...


class Offline:
    """The link before the gateway is bound: every charge point is offline."""

    def is_connected(self, charge_point_id: str) -> bool:
        return False

    def holds(self, charge_point_id: str) -> bool:
        return False

    def actions(self, charge_point_id: str) -> tuple[str, ...]:
        return ()

    def version(self, charge_point_id: str) -> str | None:
        return None

    async def send(self, charge_point_id: str, request: Request[R], timeout: float | None = None) -> Reply[R]:
        raise _offline(charge_point_id)

    def check(self, charge_point_id: str, request: Request[Any], found: Sequence[Problem]) -> list[Problem]:
        return list(found)

    def read(self, charge_point_id: str, action: str, payload: dict[str, Any]) -> Request[Any] | None:
        raise _offline(charge_point_id)

    async def send_as_written(
        self, charge_point_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> Reply[Answer]:
        raise _offline(charge_point_id)


def _offline(charge_point_id: str) -> ChargePointOffline:
    return ChargePointOffline(f"charge point {charge_point_id} is offline")
