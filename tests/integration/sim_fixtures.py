"""Simulated charge points against the real Voltline server, and a view of what the server made of
them: its REST API, its message log and its database.

Both sides are read the same way: wait (bounded, real seconds) until a condition holds, then assert
on the values. Nothing here measures time.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from voltline.app import Voltline
from voltline.simulator import SimulatedChargePoint, Simulator
from tests.logged_frames import store_frames
from voltline.services.message_log.search import FrameQuery

SPEED = 500.0  # simulated seconds per real second
METER_INTERVAL = 60  # simulated seconds between periodic MeterValues: 0.12 real seconds
WAIT = 15.0  # real seconds any one condition may take to hold


async def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `check` (plain or async) until it returns something truthy, and return that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what} (last seen: {result!r})")
        await asyncio.sleep(0.05)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def in_(seconds: float) -> str:
    """A wall-clock timestamp `seconds` from now, as OCPP and the API write it."""
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


class Central:
    """The server side of the tests: the REST API as an operator uses it, plus its stored rows."""

    def __init__(self, server: Voltline, api: httpx.AsyncClient) -> None:
        self.server = server
        self.api = api

    # -- REST API ----------------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.api.get(f"/api/v1{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: Any = None, expect: int = 200) -> Any:
        response = await self.api.post(f"/api/v1{path}", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    async def delete(self, path: str, expect: int = 200) -> Any:
        response = await self.api.delete(f"/api/v1{path}")
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    async def command(self, identity: str, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The generic command endpoint: the charge point's OCPP answer."""
        return await self.post(f"/charge-points/{identity}/commands/{action}", payload or {})  # type: ignore[no-any-return]

    async def add_tag(self, id_tag: str, status: str = "Accepted") -> None:
        await self.post("/id-tags", {"id_tag": id_tag, "status": status}, expect=201)

    async def charge_point(self, identity: str) -> dict[str, Any]:
        return await self.get(f"/charge-points/{identity}")  # type: ignore[no-any-return]

    async def connector_status(self, identity: str, connector_id: int) -> str | None:
        connectors = (await self.charge_point(identity))["connectors"]
        return next((c["status"] for c in connectors if c["connector_id"] == connector_id), None)

    async def wait_connector(self, identity: str, connector_id: int, status: str) -> None:
        async def reached() -> bool:
            return await self.connector_status(identity, connector_id) == status

        await eventually(reached, f"the server sees {identity} connector {connector_id} {status}")

    async def transaction(self, transaction_id: int) -> dict[str, Any]:
        return await self.get(f"/transactions/{transaction_id}")  # type: ignore[no-any-return]

    async def wait_stopped(self, transaction_id: int) -> dict[str, Any]:
        async def stopped() -> dict[str, Any] | None:
            tx = await self.transaction(transaction_id)
            return tx if tx["status"] == "Stopped" else None

        return await eventually(stopped, f"the server stores transaction {transaction_id} as stopped")  # type: ignore[no-any-return]

    async def transactions(self, identity: str) -> list[dict[str, Any]]:
        return (await self.get("/transactions", charge_point_id=identity, limit=500))["items"]  # type: ignore[no-any-return]

    async def events(self, identity: str, kind: str) -> list[dict[str, Any]]:
        """The charge point's firmware / diagnostics / log history, oldest first."""
        page = await self.get(f"/charge-points/{identity}/events", kind=kind, limit=500)
        return list(reversed(page["items"]))

    async def wait_event(self, identity: str, kind: str, status: str) -> list[dict[str, Any]]:
        async def arrived() -> list[dict[str, Any]] | None:
            history = await self.events(identity, kind)
            return history if any(e["status"] == status for e in history) else None

        return await eventually(arrived, f"the server stores a {kind} event {status} for {identity}")  # type: ignore[no-any-return]

    # -- the message log and the database ----------------------------------------------------------

    async def rows(self, statement: Any) -> list[Any]:
        return await self.server.store.fetch_all(statement)

    async def last_message_id(self) -> int:
        await self.log_written()
        frames = await store_frames(self.server.store)
        return frames[-1].id if frames else 0

    async def log_written(self) -> None:
        """Let the message log, which the server writes in the background, reach the database:
        everything the server has received by now can be read afterwards."""
        await asyncio.sleep(0)  # a periodic flush already started queues its rows first
        flushing = self.server.services.message_log.flush()
        if flushing is not None:
            await flushing
        await self.server.store.write()  # writes commit in order: this one comes after them all

    async def received(self, identity: str, action: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        """The CALLs the server logged from the charge point (payloads, oldest first)."""
        await self.log_written()
        query = FrameQuery(charge_point_id=identity, direction="in", message_types=(2,), above=after, action=action)
        return [json.loads(row.payload)[3] for row in await store_frames(self.server.store, query)]

    async def actions(self, identity: str, after: int = 0) -> list[str]:
        await self.log_written()
        query = FrameQuery(charge_point_id=identity, direction="in", message_types=(2,), above=after)
        return [row.action for row in await store_frames(self.server.store, query)]

    async def wait_received(
        self,
        identity: str,
        action: str,
        match: Callable[[dict[str, Any]], bool] = lambda payload: True,
        after: int = 0,
    ) -> dict[str, Any]:
        async def found() -> list[dict[str, Any]]:
            return [p for p in await self.received(identity, action, after) if match(p)]

        # The first match (a list, since a payload such as Heartbeat's `{}` is falsy).
        return (await eventually(found, f"the server receives {action} from {identity}"))[0]  # type: ignore[no-any-return]


@pytest.fixture
async def central(server: Voltline, api: httpx.AsyncClient) -> Central:
    return Central(server, api)


StationFactory = Callable[..., Awaitable[SimulatedChargePoint]]


@pytest.fixture
async def station(server: Voltline, central: Central) -> AsyncIterator[StationFactory]:
    """`cp = await station("CP-1", connectors=2)`: register the charge point through the API, power
    a simulated station on against the server, and return it once the server holds the status of
    every connector the station reported after its boot."""
    simulators: list[Simulator] = []

    async def start(identity: str = "CP-1", *, connectors: int = 1, **options: Any) -> SimulatedChargePoint:
        await central.post("/charge-points", {"id": identity}, expect=201)
        options = {
            "speed": SPEED,
            "meter_interval": METER_INTERVAL,
            "seed": 11,
            "reconnect_min": 0.5,
            "reconnect_max": 5.0,
            "call_timeout": 10.0,
            "boot_timeout": WAIT,
            **options,
        }
        simulator = Simulator(
            f"ws://127.0.0.1:{server.ocpp_port}/ocpp", identities=[identity], connectors=connectors, **options
        )
        simulators.append(simulator)
        await simulator.start()
        await simulator.wait_accepted(WAIT)
        cp = simulator[identity]

        async def all_reported() -> bool:
            seen = {c["connector_id"]: c["status"] for c in (await central.charge_point(identity))["connectors"]}
            return seen == {c.connector_id: c.status for c in cp.all_connectors()}

        await eventually(all_reported, f"the server holds the status of every connector of {identity}")
        return cp

    yield start
    for simulator in simulators:
        await simulator.stop()
