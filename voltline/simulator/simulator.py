"""A fleet of simulated charge points sharing one clock and one seed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from voltline.simulator.clock import Clock
from voltline.simulator.station import DEFAULT_MAX_POWER_W, SimulatedChargePoint
from voltline.simulator.tls import ClientTls
from voltline.simulator.v201.station import SimulatedChargingStation

VERSIONS = ("1.6", "2.0.1", "mixed")


def speaks_201(index: int, ocpp_version: str, share_201: float) -> bool:
    """Whether the fleet's station number `index` (from 0) speaks 2.0.1. A mixed fleet spreads its
    2.0.1 stations evenly: with a share of 0.5 every second one is."""
    if ocpp_version == "mixed":
        return int((index + 1) * share_201) > int(index * share_201)
    return ocpp_version == "2.0.1"


class Simulator:
    """`count` charge points named `{prefix}{n}` (n from `first`), each with `connectors` connectors.

        async with Simulator("ws://127.0.0.1:9000/ocpp", count=3, connectors=2, speed=60) as sim:
            cp = sim["CP-1"]
            await cp.plug_in(1, "TAG")
            await cp.wait_for_status(1, "Charging")

    Entering the context starts every charge point and, with `wait_accepted`, waits (real
    seconds, `boot_timeout`) until each has been accepted by the central system.

    `ocpp_version` "2.0.1" makes every station a `SimulatedChargingStation` (EVSEs =
    `connectors`, each with `connectors_per_evse` connectors); "mixed" makes a share
    `share_201` of them so, the others 1.6.
    """

    def __init__(
        self,
        url: str,
        count: int = 1,
        connectors: int = 1,
        *,
        prefix: str = "CP-",
        first: int = 1,
        identities: list[str] | None = None,
        vendor: str = "Voltline",
        model: str = "Simulator",
        firmware: str = "1.0.0",
        password: str | None = None,
        passwords: dict[str, str] | None = None,
        tls: ClientTls | None = None,
        heartbeat_interval: int | None = None,
        meter_interval: int = 60,
        max_power_w: float = DEFAULT_MAX_POWER_W,
        seed: int | str | None = None,
        speed: float = 1.0,
        reconnect_min: float = 1.0,
        reconnect_max: float = 60.0,
        call_timeout: float = 30.0,
        wait_accepted: bool = True,
        boot_timeout: float = 30.0,
        ocpp_version: str = "1.6",
        share_201: float = 0.5,
        connectors_per_evse: int = 1,
    ) -> None:
        if ocpp_version not in VERSIONS:
            raise ValueError(f"ocpp_version is one of {', '.join(VERSIONS)}")
        if not 0.0 <= share_201 <= 1.0:
            raise ValueError("share_201 is between 0 and 1")
        names = identities if identities is not None else [f"{prefix}{i}" for i in range(first, first + count)]
        if len(set(names)) != len(names):
            raise ValueError("charge point identities must be unique")
        self.url = url
        self.seed = seed
        self.clock = Clock(speed)
        self.wait_accepted_on_enter = wait_accepted
        self.boot_timeout = boot_timeout
        common: dict[str, Any] = {
            "vendor": vendor,
            "model": model,
            "firmware": firmware,
            "tls": tls,
            "heartbeat_interval": heartbeat_interval,
            "meter_interval": meter_interval,
            "max_power_w": max_power_w,
            "clock": self.clock,
            "seed": seed,
            "reconnect_min": reconnect_min,
            "reconnect_max": reconnect_max,
            "call_timeout": call_timeout,
        }
        self.charge_points: dict[str, SimulatedChargePoint | SimulatedChargingStation] = {}
        for index, name in enumerate(names):
            password_of = (passwords or {}).get(name, password)
            if speaks_201(index, ocpp_version, share_201):
                self.charge_points[name] = SimulatedChargingStation(
                    name, url, evses=connectors, connectors_per_evse=connectors_per_evse, password=password_of, **common
                )
            else:
                self.charge_points[name] = SimulatedChargePoint(
                    name, url, connectors=connectors, password=password_of, **common
                )

    def __getitem__(self, identity: str) -> Any:
        return self.charge_points[identity]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.charge_points.values())

    def __len__(self) -> int:
        return len(self.charge_points)

    async def start(self) -> None:
        for cp in self:
            cp.start()

    async def stop(self) -> None:
        await asyncio.gather(*(cp.stop() for cp in self))

    async def wait_accepted(self, timeout: float | None = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(cp.wait_accepted(None) for cp in self))

    async def stop_all_sessions(self, reason: str = "Local", timeout: float = 5.0) -> None:
        await asyncio.gather(*(cp.stop_all_sessions(reason, timeout) for cp in self))

    async def __aenter__(self) -> Simulator:
        await self.start()
        if self.wait_accepted_on_enter:
            try:
                await self.wait_accepted(self.boot_timeout)
            except BaseException:
                await self.stop()
                raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def summary(self) -> dict[str, Any]:
        """Fleet totals, as the CLI prints them at the end of a run."""
        transactions = [tx for cp in self for tx in cp.transactions]
        return {
            "charge_points": len(self),
            "online": sum(1 for cp in self if cp.online),
            "transactions": len(transactions),
            "active": sum(1 for tx in transactions if tx.active),
            "energy_wh": sum(tx.energy_wh for tx in transactions),
            "errors": sum(cp.error_count for cp in self),
        }
