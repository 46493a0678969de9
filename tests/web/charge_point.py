"""A small charge point for dashboard tests: boots, reports status, and charges when told to.

Built on the plain test client (tests/ocpp_client.py), not on Voltline's own protocol code. It
answers RemoteStartTransaction by starting a transaction and sending meter values on a short
period until RemoteStopTransaction (or `stop()`) ends it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from tests.ocpp_client import OcppClient


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ChargingStation:
    def __init__(self, client: OcppClient, *, power_w: float = 7200.0, period_s: float = 0.3,
                 wh_per_sample: int = 150, meter_wh: int = 10_000) -> None:
        self.client = client
        self.power_w = power_w
        self.period_s = period_s
        self.wh_per_sample = wh_per_sample
        self.register_wh = meter_wh
        self.transaction_id: int | None = None
        self.last_transaction_id: int | None = None
        self.meter_start: int | None = None
        self.meter_stop: int | None = None
        self.connector_id = 1
        self.answers: dict[str, dict[str, Any]] = {}  # action → fixed answer, to make it refuse
        self.silent: set[str] = set()  # actions it never answers
        self._lock = asyncio.Lock()
        self._meter: asyncio.Task[None] | None = None
        self._handler = asyncio.create_task(self._serve())
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> ChargingStation:
        station = cls(await OcppClient.connect(url), **kwargs)
        await station.call("BootNotification", {"chargePointVendor": "Voltline", "chargePointModel": "Sim-22",
                                                "chargePointSerialNumber": "SIM-0001", "firmwareVersion": "1.4.2"})
        await station.status(0, "Available")
        await station.status(1, "Available")
        return station

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            frame = await self.client.call(action, payload)
        assert frame[0] == 3, f"{action} failed: {frame}"
        return frame[2]  # type: ignore[no-any-return]

    async def status(self, connector_id: int, status: str) -> None:
        await self.call("StatusNotification", {"connectorId": connector_id, "status": status, "errorCode": "NoError",
                                               "timestamp": _now()})

    async def _serve(self) -> None:
        while True:
            call = await self.client.server_calls.get()
            action, payload = call[2], call[3]
            if action in self.silent:
                continue
            if action in self.answers:
                await self.client.answer(call, self.answers[action])
                continue
            if action == "RemoteStartTransaction":
                busy = self.transaction_id is not None
                await self.client.answer(call, {"status": "Rejected" if busy else "Accepted"})
                if not busy:
                    asyncio.create_task(self._start(payload["idTag"], payload.get("connectorId", 1)))
            elif action == "RemoteStopTransaction":
                ours = payload["transactionId"] == self.transaction_id
                await self.client.answer(call, {"status": "Accepted" if ours else "Rejected"})
                if ours:
                    asyncio.create_task(self.stop("Remote"))
            elif action == "GetConfiguration":
                await self.client.answer(call, {"configurationKey": [
                    {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                    {"key": "MeterValueSampleInterval", "readonly": False, "value": "10"},
                    {"key": "NumberOfConnectors", "readonly": True, "value": "1"},
                ]})
            elif action == "UnlockConnector":
                await self.client.answer(call, {"status": "Unlocked"})
            elif action == "TriggerMessage":
                await self.client.answer(call, {"status": "Accepted"})
            else:
                await self.client.answer(call, {"status": "Accepted"})

    async def _start(self, id_tag: str, connector_id: int) -> None:
        self.connector_id = connector_id
        await self.status(connector_id, "Preparing")
        self.meter_start = self.register_wh
        answer = await self.call("StartTransaction", {"connectorId": connector_id, "idTag": id_tag,
                                                      "meterStart": self.meter_start, "timestamp": _now()})
        self.transaction_id = self.last_transaction_id = answer["transactionId"]
        await self.status(connector_id, "Charging")
        self.started.set()
        self._meter = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(self.period_s)
            if self._meter is None:
                return
            self.register_wh += self.wh_per_sample
            await self.call("MeterValues", {
                "connectorId": self.connector_id,
                "transactionId": self.transaction_id,
                "meterValue": [{"timestamp": _now(), "sampledValue": [
                    {"value": str(self.register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": f"{self.power_w / 1000:.1f}", "measurand": "Power.Active.Import", "unit": "kW"},
                ]}],
            })

    async def stop(self, reason: str = "Local") -> None:
        # Not cancelled mid-call: an answer left unread would be taken for the next call's.
        meter, self._meter = self._meter, None
        if meter is not None:
            await meter
        if self.transaction_id is None:
            return
        await self.status(self.connector_id, "Finishing")
        self.meter_stop = self.register_wh
        await self.call("StopTransaction", {"transactionId": self.transaction_id, "meterStop": self.meter_stop,
                                            "timestamp": _now(), "reason": reason})
        self.transaction_id = None
        await self.status(self.connector_id, "Available")
        self.stopped.set()

    async def close(self) -> None:
        if self._meter is not None:
            self._meter.cancel()
        self._handler.cancel()
        await self.client.close()
