"""An independent OCPP 1.6 central system, built on the `ocpp` package, for the simulator to talk to.

It shares no code with Voltline: if the simulator passes against it, it speaks standard OCPP 1.6J
rather than whatever Voltline's own protocol layer happens to accept.
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
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import ServerConnection, serve

from voltline.simulator import Simulator


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class CsmsConnection(ChargePoint):
    """The central system's side of one charge point's connection."""

    def __init__(self, identity: str, connection: ServerConnection, csms: CentralSystem) -> None:
        super().__init__(identity, connection, response_timeout=csms.response_timeout)
        self.csms = csms

    async def route_message(self, raw_msg: str) -> None:
        message = json.loads(raw_msg)
        if message[0] == 2:
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
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": self.csms.tag_status(id_tag)})

    @on(Action.start_transaction)
    async def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any) -> Any:
        key = (self.id, connector_id, meter_start, timestamp)
        # A repeated StartTransaction (its answer was lost) gets the same transactionId.
        tx_id = self.csms.start_keys.get(key)
        if tx_id is None:
            tx_id = self.csms.next_transaction_id
            self.csms.next_transaction_id += 1
            self.csms.start_keys[key] = tx_id
        if self.csms.lose_start_answers > 0:
            self.csms.lose_start_answers -= 1
            await self._connection.close()
            raise ConnectionAbortedError("answer deliberately lost")
        return call_result.StartTransaction(transaction_id=tx_id, id_tag_info={"status": self.csms.tag_status(id_tag)})

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.firmware_status_notification)
    def on_firmware(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.log_status_notification)
    def on_log(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    def on_signed_firmware(self, **_: Any) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")


class CentralSystem:
    def __init__(self) -> None:
        self.port = 0
        self.connections: dict[str, CsmsConnection] = {}
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.boot_script: deque[str] = deque()
        self.pending_interval = 1
        self.heartbeat_interval = 300
        self.tags: dict[str, str] = {}
        self.unknown_tag_status = "Accepted"
        self.next_transaction_id = 100
        self.start_keys: dict[tuple[Any, ...], int] = {}
        self.lose_start_answers = 0
        self.connects = 0
        self.handshakes: list[tuple[str, str | None, str | None]] = []
        self.refuse = False  # answer new connections with HTTP 503, as a central system that is down
        self.response_timeout = 5.0
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def tag_status(self, id_tag: str) -> str:
        return self.tags.get(id_tag, self.unknown_tag_status)

    def record(self, identity: str, action: str, payload: dict[str, Any]) -> None:
        self.received.append((identity, action, payload))
        self._changed.set()
        self._changed = asyncio.Event()

    def messages(self, identity: str, action: str | None = None) -> list[dict[str, Any]]:
        return [p for i, a, p in self.received if i == identity and (action is None or a == action)]

    def actions(self, identity: str) -> list[str]:
        return [a for i, a, _ in self.received if i == identity]

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
        def found() -> dict[str, Any] | None:
            return next((p for p in self.messages(identity, action) if match(p)), None)

        return await self.wait_for(found, timeout)

    async def wait_status(self, identity: str, connector_id: int, status: str, timeout: float = 10.0) -> dict[str, Any]:
        return await self.wait_message(
            identity,
            "StatusNotification",
            lambda p: p["connectorId"] == connector_id and p["status"] == status,
            timeout,
        )

    async def call(self, identity: str, request: Any) -> Any:
        return await self.connections[identity].call(request, suppress=False)

    async def _on_connect(self, connection: ServerConnection) -> None:
        self.handshakes.append(
            (connection.request.path, connection.request.headers.get("Authorization"), connection.subprotocol)
        )
        identity = unquote(connection.request.path.rstrip("/").rsplit("/", 1)[-1])
        station = CsmsConnection(identity, connection, self)
        self.connections[identity] = station
        self.connects += 1
        self._changed.set()
        self._changed = asyncio.Event()
        with contextlib.suppress(Exception):
            await station.start()


@pytest.fixture
async def csms() -> AsyncIterator[CentralSystem]:
    central = CentralSystem()

    def gate(connection: ServerConnection, request: Any) -> Any:
        if central.refuse:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down for the test\n")
        return None

    async with serve(central._on_connect, "127.0.0.1", 0, subprotocols=["ocpp1.6"], process_request=gate) as server:
        central.port = server.sockets[0].getsockname()[1]
        yield central


@pytest.fixture
def make_simulator(csms: CentralSystem) -> Callable[..., Simulator]:
    """Simulators against the test central system, fast and reproducible by default."""

    def make(**options: Any) -> Simulator:
        options.setdefault("speed", 50.0)
        options.setdefault("seed", 7)
        options.setdefault("reconnect_min", 0.5)
        options.setdefault("reconnect_max", 5.0)
        options.setdefault("call_timeout", 5.0)
        options.setdefault("boot_timeout", 10.0)
        return Simulator(csms.url, **options)

    return make
