"""What the handlers of every OCPP version need of the domain alike (see voltline/services), so
that the protocol layer imports none of it. Each version's `Services` protocol (ocpp/v16/inbound,
ocpp/v201/context) is built from these and adds what only its messages need."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class IdVerdict(Protocol):
    """An id tag's or id token's verdict (Authorize, a transaction's start or stop)."""

    @property
    def status(self) -> str: ...
    @property
    def expiry_date(self) -> datetime | None: ...
    @property
    def parent_id_tag(self) -> str | None: ...


class BootVerdict(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def current_time(self) -> datetime: ...
    @property
    def interval(self) -> int: ...


class StationRecords(Protocol):
    """What every version's charge point tells alike: it is alive, and what it notifies."""

    def heartbeat(self, identity: str) -> datetime: ...

    async def record_event(
        self, identity: str, kind: str, status: str | None, *, request_id: int | None = None,
        timestamp: datetime | None = None, detail: dict[str, Any] | None = None,
    ) -> None: ...


class SignedCertificate(Protocol):
    @property
    def chain(self) -> str: ...


class Certificates(Protocol):
    async def sign_request(self, identity: str, csr_pem: str) -> SignedCertificate | None: ...

    def deliver_after_answer(self, identity: str, signed: Any) -> None: ...


class MeteredTransactions(Protocol):
    """The transaction rules both versions reach the same way: a reboot, and meter values."""

    async def rebooted(self, identity: str, at: datetime) -> None: ...

    async def meter_values(
        self, identity: str, connector_id: int, transaction_id: int | None, meter_value: list[dict[str, Any]]
    ) -> None: ...
