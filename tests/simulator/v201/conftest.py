"""An independent OCPP 2.0.1 CSMS, built on the `ocpp` package's `v201.ChargePoint`, for the
simulated 2.0.1 stations to talk to.

It shares no code with Voltline (the `ocpp` package validates every message both ways against
the official schemas): a station that passes against it speaks standard OCPP 2.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import pytest
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.server import ServerConnection, serve

from voltline.simulator import Simulator


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class CsmsConnection(ChargePoint):
    """The CSMS's side of one station's connection."""

    def __init__(self, identity: str, connection: ServerConnection, csms: Csms201) -> None:
        super().__init__(identity, connection, response_timeout=csms.response_timeout)
        self.csms = csms

    async def route_message(self, raw_msg: str) -> None:
        message = json.loads(raw_msg)
        self.csms.frames.append((self.id, message))
        if message[0] != 2:
            self.csms.changed()
        else:
            self.csms.record(self.id, message[2], message[3])
        await super().route_message(raw_msg)

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        script = self.csms.boot_script
        status = script.popleft() if script else "Accepted"
        interval = self.csms.heartbeat_interval if status == "Accepted" else self.csms.pending_interval
        return call_result.BootNotification(current_time=_now(), interval=interval, status=status)

    @on(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info={"status": self.csms.tag_status(id_token["id_token"])})

    @on(Action.transaction_event)
    def on_transaction_event(self, id_token: dict[str, Any] | None = None, **_: Any) -> call_result.TransactionEvent:
        if id_token is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info={"status": self.csms.tag_status(id_token["id_token"])})

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.notify_report)
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on(Action.firmware_status_notification)
    def on_firmware(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    def on_log(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.notify_customer_information)
    def on_customer_information(self, **_: Any) -> call_result.NotifyCustomerInformation:
        return call_result.NotifyCustomerInformation()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, **_: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status="Accepted")


class Csms201:
    def __init__(self) -> None:
        self.port = 0
        self.connections: dict[str, CsmsConnection] = {}
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.frames: list[tuple[str, list[Any]]] = []  # every frame a station sent, as read
        self.boot_script: deque[str] = deque()
        self.pending_interval = 1
        self.heartbeat_interval = 3600
        self.tags: dict[str, str] = {}
        self.subprotocols: list[str | None] = []
        self.refuse = False  # answer new connections with HTTP 503, as a CSMS that is down
        self.response_timeout = 5.0
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def tag_status(self, token: str) -> str:
        return self.tags.get(token, "Accepted")

    def record(self, identity: str, action: str, payload: dict[str, Any]) -> None:
        self.received.append((identity, action, payload))
        self.changed()

    def changed(self) -> None:
        """Wake whoever waits for a message (wait_for)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def messages(self, identity: str, action: str | None = None) -> list[dict[str, Any]]:
        return [p for i, a, p in self.received if i == identity and (action is None or a == action)]

    def actions(self, identity: str) -> list[str]:
        return [a for i, a, _ in self.received if i == identity]

    def events(self, identity: str, transaction_id: str | None = None) -> list[dict[str, Any]]:
        return [
            p
            for p in self.messages(identity, "TransactionEvent")
            if transaction_id is None or p["transactionInfo"]["transactionId"] == transaction_id
        ]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                await self._changed.wait()
        return result

    async def wait_message(
        self,
        identity: str,
        action: str,
        match: Callable[[dict[str, Any]], bool] = lambda p: True,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            # In a list: a payload may be empty ({} is a Heartbeat) and still be the one.
            return [p for p in self.messages(identity, action) if match(p)][:1]

        return (await self.wait_for(found, timeout))[0]

    async def wait_status(
        self, identity: str, evse_id: int, connector_id: int, status: str, timeout: float = 10.0
    ) -> dict[str, Any]:
        return await self.wait_message(
            identity,
            "StatusNotification",
            lambda p: (p["evseId"], p["connectorId"], p["connectorStatus"]) == (evse_id, connector_id, status),
            timeout,
        )

    async def send_raw(self, identity: str, text: str) -> None:
        """Put a frame on the wire as it is, valid OCPP-J or not."""
        await self.connections[identity]._connection.send(text)

    async def call(self, identity: str, request: Any, **options: Any) -> Any:
        return await self.connections[identity].call(request, suppress=False, **options)

    async def _on_connect(self, connection: ServerConnection) -> None:
        self.subprotocols.append(connection.subprotocol)
        identity = unquote(connection.request.path.rstrip("/").rsplit("/", 1)[-1])
        station = CsmsConnection(identity, connection, self)
        self.connections[identity] = station
        self.changed()
        with contextlib.suppress(Exception):
            await station.start()


@pytest.fixture
async def csms201() -> AsyncIterator[Csms201]:
    central = Csms201()

    def gate(connection: ServerConnection, request: Any) -> Any:
        if central.refuse:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down for the test\n")
        return None

    async with serve(
        central._on_connect, "127.0.0.1", 0, subprotocols=["ocpp2.0.1", "ocpp1.6"], process_request=gate
    ) as server:
        central.port = server.sockets[0].getsockname()[1]
        yield central


@pytest.fixture
def make_stations(csms201: Csms201) -> Callable[..., Simulator]:
    """2.0.1 stations against the test CSMS, fast and reproducible by default."""

    def make(**options: Any) -> Simulator:
        options.setdefault("ocpp_version", "2.0.1")
        options.setdefault("speed", 500.0)
        options.setdefault("seed", 7)
        options.setdefault("meter_interval", 10)
        options.setdefault("reconnect_min", 0.5)
        options.setdefault("reconnect_max", 5.0)
        options.setdefault("call_timeout", 5.0)
        options.setdefault("boot_timeout", 10.0)
        return Simulator(csms201.url, **options)

    return make
