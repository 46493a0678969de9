"""One connected 2.0.1 charge point, as its handlers see it, and what they need of the domain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from voltline.ocpp.registration import RegistrationGate

if TYPE_CHECKING:
    from voltline.ocpp.v201.device_model import DeviceModel
    from voltline.ocpp.v201.provisioning import ChargePoints

Payload = dict[str, Any]


class Services(Protocol):
    """What the 2.0.1 handlers need from the domain (see voltline/services), as it is structured
    there, so the protocol layer imports none of it. Each block module states its part."""

    @property
    def charge_points(self) -> ChargePoints: ...
    @property
    def device_model(self) -> DeviceModel: ...


class Context(RegistrationGate):
    __slots__ = ("lenient", "services")

    def __init__(self, identity: str, services: Services, registration_status: str = "Accepted") -> None:
        RegistrationGate.__init__(self, identity, registration_status)
        self.services = services
        self.lenient: frozenset[str] | None = None
