"""2.0.1 charge points against a real server: the `ocpp` package's v201.ChargePoint (an
independent implementation) for what a station does right, the plain OcppClient for frames a
station gets wrong."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from tests.ocpp_client import OcppClient
from voltline.app import Voltline

OCPP201 = "ocpp2.0.1"


class Station(ChargePoint):  # type: ignore[misc]
    """A 2.0.1 charging station of the `ocpp` package that keeps what the CSMS sent it."""

    certificates_signed: list[tuple[str, str | None]]

    @on(Action.certificate_signed)
    def on_certificate_signed(
        self, certificate_chain: str, certificate_type: str | None = None, **_: Any
    ) -> call_result.CertificateSigned:
        self.certificates_signed.append((certificate_chain, certificate_type))
        return call_result.CertificateSigned(status="Accepted")


def boot_request(reason: str = "PowerUp", **station: Any) -> call.BootNotification:
    return call.BootNotification(
        charging_station={"model": "Wallbox 2", "vendor_name": "Voltline Test Equipment", **station}, reason=reason
    )


ConnectStation = Callable[..., Awaitable[Station]]


@pytest.fixture
async def station(server: Voltline) -> AsyncIterator[ConnectStation]:
    """`cp = await station("CS-1")`: a 2.0.1 station connected (not booted), closed after the test."""
    running: list[tuple[Any, asyncio.Task[None]]] = []

    async def connect(identity: str, *, subprotocols: list[str] | None = None) -> Station:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", subprotocols=subprotocols or [OCPP201],
            ping_interval=None,
        )
        cp = Station(identity, ws, response_timeout=10)
        cp.certificates_signed = []
        task = asyncio.create_task(cp.start())
        running.append((ws, task))
        return cp

    yield connect
    for ws, task in running:
        await ws.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@pytest.fixture
async def raw201(connect: Callable[..., Awaitable[OcppClient]]) -> Callable[..., Awaitable[OcppClient]]:
    """`client = await raw201("CS-1")`: the plain client, speaking 2.0.1."""

    async def _connect(identity: str) -> OcppClient:
        return await connect(identity, subprotocols=[OCPP201])

    return _connect


RAW_BOOT = {"chargingStation": {"model": "Raw", "vendorName": "Voltline"}, "reason": "PowerUp"}
