"""One connected 2.0.1 charge point, as its handlers see it, and what they need of the domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from voltline.ocpp.registration import RegistrationGate
from voltline.ocpp.v201.tokens import IdTokenVerdict

if TYPE_CHECKING:
    from voltline.ocpp.v201.transactions import Transactions

Payload = dict[str, Any]


class BootVerdict(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def current_time(self) -> datetime: ...
    @property
    def interval(self) -> int: ...


class ChargePoints(Protocol):
    async def boot(
        self, identity: str, *, vendor: str, model: str, serial_number: str | None = None,
        firmware_version: str | None = None, iccid: str | None = None, imsi: str | None = None,
        reason: str | None = None,
    ) -> BootVerdict: ...

    def heartbeat(self, identity: str) -> datetime: ...

    async def status_notification(
        self, identity: str, *, connector_id: int, evse_id: int | None = None, status: str,
        timestamp: datetime | None = None,
    ) -> bool: ...

    async def record_event(
        self, identity: str, kind: str, status: str | None, *, request_id: int | None = None,
        timestamp: datetime | None = None, detail: dict[str, Any] | None = None,
    ) -> None: ...

    async def record_events(self, identity: str, kind: str, entries: Sequence[Mapping[str, Any]]) -> None: ...


class Authorization(Protocol):
    async def authorize(self, id_tag: str, *, charge_point_id: str | None = None) -> IdTokenVerdict: ...


class SignedCertificate(Protocol):
    @property
    def chain(self) -> str: ...


class Certificates(Protocol):
    async def sign_request(self, identity: str, csr_pem: str) -> SignedCertificate | None: ...

    def deliver_after_answer(self, identity: str, signed: Any) -> None: ...


class Services(Protocol):
    """What the 2.0.1 handlers need from the domain (see voltline/services), as it is structured
    there, so the protocol layer imports none of it. Each block module states its part."""

    # Provisioning, authorization and security (provisioning.py).
    @property
    def charge_points(self) -> ChargePoints: ...
    @property
    def authorization(self) -> Authorization: ...
    @property
    def certificates(self) -> Certificates: ...

    # Transactions (transactions.py).
    @property
    def transactions(self) -> Transactions: ...


class Context(RegistrationGate):
    __slots__ = ("lenient", "services")

    def __init__(self, identity: str, services: Services, registration_status: str = "Accepted") -> None:
        RegistrationGate.__init__(self, identity, registration_status)
        self.services = services
        self.lenient: frozenset[str] | None = None
