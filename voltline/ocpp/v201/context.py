"""One connected 2.0.1 charge point, as its handlers see it, and what they need of the domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from voltline.ocpp import commands as c
from voltline.ocpp import domain_needs as needs
from voltline.ocpp.registration import RegistrationGate
from voltline.ocpp.v201.tokens import IdTokenVerdict

Payload = dict[str, Any]


class ChargePoints(needs.StationRecords, Protocol):
    async def boot(
        self, identity: str, *, vendor: str, model: str, serial_number: str | None = None,
        firmware_version: str | None = None, iccid: str | None = None, imsi: str | None = None,
        reason: str | None = None,
    ) -> needs.BootVerdict: ...

    async def status_notification(
        self, identity: str, *, connector_id: int, evse_id: int | None = None, status: str,
        timestamp: datetime | None = None,
    ) -> bool: ...

    async def record_events(self, identity: str, kind: str, entries: Sequence[Mapping[str, Any]]) -> None: ...


class Authorization(Protocol):
    async def authorize(
        self, id_tag: str, *, token_type: str | None = None, charge_point_id: str | None = None
    ) -> IdTokenVerdict: ...


# Transactions (transactions.py).
class EventApplied(Protocol):
    @property
    def id_tag_info(self) -> IdTokenVerdict | None: ...


class Transactions(needs.MeteredTransactions, Protocol):
    async def connector_reported(
        self, identity: str, connector_id: int, status: str, timestamp: datetime | None, evse_id: int | None = None
    ) -> object: ...

    async def transaction_event(
        self, identity: str, *, event_type: str, timestamp: datetime, trigger_reason: str, seq_no: int,
        ocpp_transaction_id: str, offline: bool = False, charging_state: str | None = None,
        stopped_reason: str | None = None, id_token: str | None = None, token_type: str | None = None,
        evse_id: int | None = None, connector_id: int | None = None, meter_value: list[dict[str, Any]] = ...,
        remote_start_id: int | None = None, reservation_id: int | None = None,
    ) -> EventApplied: ...


# The device model (device_model.py).
class DeviceModel(Protocol):
    async def report_received(
        self, identity: str, request_id: int, seq_no: int, tbc: bool, generated_at: datetime,
        variables: list[c.ReportedVariable],
    ) -> None: ...

    def inventory_after_boot(self, identity: str, registration_status: str) -> None:
        """Called by the BootNotification handler as it answers: a station Accepted for the first
        time is asked for its full inventory, once the answer is out."""
        ...


class Services(Protocol):
    """What the 2.0.1 handlers need from the domain (see voltline/services), as it is structured
    there, so the protocol layer imports none of it. Each block module states its part."""

    # Provisioning, authorization and security (provisioning.py).
    @property
    def charge_points(self) -> ChargePoints: ...
    @property
    def authorization(self) -> Authorization: ...
    @property
    def certificates(self) -> needs.Certificates: ...

    # Transactions (transactions.py).
    @property
    def transactions(self) -> Transactions: ...

    # The device model (device_model.py).
    @property
    def device_model(self) -> DeviceModel: ...


class Context(RegistrationGate):
    __slots__ = ("lenient", "services")

    def __init__(self, identity: str, services: Services, registration_status: str = "Accepted") -> None:
        RegistrationGate.__init__(self, identity, registration_status)
        self.services = services
        self.lenient: frozenset[str] | None = None
