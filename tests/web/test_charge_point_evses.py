"""The charge point page of a 2.0.1 station: its EVSEs, each with its connectors, its OCPP
version and boot reason, and its NotifyEvent events beside the other notifications."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.ocpp_client import OcppClient
from voltline.app import Voltline

BOOT = {"chargingStation": {"model": "Duo", "vendorName": "Voltline"}, "reason": "RemoteReset"}


def _status(evse: int, connector: int, status: str) -> dict[str, Any]:
    return {"timestamp": "2026-12-02T05:00:00Z", "connectorStatus": status, "evseId": evse, "connectorId": connector}


async def test_a_201_station_page_shows_its_evses_with_their_connectors(
    web: httpx.AsyncClient, server: Voltline, connect: Any
) -> None:
    await server.services.charge_points.register("CS-DUO")
    await server.services.charge_points.register("CP-ONE")
    station: OcppClient = await connect("CS-DUO", subprotocols=["ocpp2.0.1"])
    await station.ok("BootNotification", BOOT)
    for evse, connector, status in ((1, 1, "Available"), (2, 1, "Occupied"), (2, 2, "Faulted")):
        await station.ok("StatusNotification", _status(evse, connector, status))
    await station.ok("NotifyEvent", {"generatedAt": "2026-12-02T05:01:00Z", "seqNo": 0, "eventData": [
        {"eventId": 1, "timestamp": "2026-12-02T05:01:00Z", "trigger": "Alerting", "actualValue": "true",
         "eventNotificationType": "HardWiredMonitor", "techInfo": "ground fault",
         "component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Problem"}}]})

    page = (await web.get("/charge-points/CS-DUO")).text
    groups = re.findall(r'<section class="evse" aria-label="EVSE (\d+)"', page)
    assert groups == ["1", "2"]
    connectors = re.findall(r'data-evse-connector="(\d+/\d+)"', page)
    assert connectors == ["1/1", "2/1", "2/2"]
    assert re.search(r'data-connector="1" data-evse="2">Occupied<', page)
    assert re.search(r'data-connector="2" data-evse="2">Faulted<', page)
    assert "2.0.1 · registration Accepted" in page and "(RemoteReset)" in page
    assert 'data-event-kind="event"' in page and "EVSE.Problem = true" in page and "ground fault" in page

    # A 1.6 charge point's page lists its connectors as before, without EVSEs.
    old: OcppClient = await connect("CP-ONE")
    await old.boot()
    await old.ok("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"})
    page16 = (await web.get("/charge-points/CP-ONE")).text
    assert 'class="evse"' not in page16 and "data-evse" not in page16
    assert 'aria-label="Connector 1"' in page16 and "1.6 · registration Accepted" in page16


async def test_the_list_names_a_201_stations_connectors_by_evse_and_shows_each_version(
    web: httpx.AsyncClient, server: Voltline, connect: Any
) -> None:
    await server.services.charge_points.register("CS-DUO")
    await server.services.charge_points.register("CP-ONE")
    station: OcppClient = await connect("CS-DUO", subprotocols=["ocpp2.0.1"])
    await station.ok("BootNotification", BOOT)
    await station.ok("StatusNotification", _status(2, 1, "Occupied"))
    old: OcppClient = await connect("CP-ONE")
    await old.boot()
    await old.ok("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"})
    page = (await web.get("/charge-points")).text
    assert re.search(r'data-connector="1" data-evse="2" title="EVSE 2 connector 1: Occupied">E2/1 · Occupied<', page)
    assert re.search(r'data-connector="1" title="Connector 1: Available">1 · Available<', page)
    assert re.findall(r"data-ocpp-version>OCPP ([\d.]+)<", page) == ["1.6", "2.0.1"]
