"""The charge point page of a 2.0.1 station: its EVSEs, each with its connectors, its OCPP
version and boot reason, and its NotifyEvent events beside the other notifications."""

from __future__ import annotations

import re
from typing import Any

import httpx
import sqlalchemy as sa

from tests.ocpp_client import OcppClient
from voltline.app import Voltline
from voltline.store import tables as t

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


def _event(event_type: str, seq_no: int, tx: str, evse: int, wh: float, w: float, minute: int) -> dict[str, Any]:
    at = f"2026-12-02T05:{minute:02d}:00Z"
    return {
        "eventType": event_type, "timestamp": at, "triggerReason": "Authorized" if seq_no == 0 else "MeterValuePeriodic",
        "seqNo": seq_no, "transactionInfo": {"transactionId": tx}, "evse": {"id": evse, "connectorId": 1},
        "meterValue": [{"timestamp": at, "sampledValue": [
            {"value": wh, "measurand": "Energy.Active.Import.Register"},
            {"value": w, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
        ]}],
    } | ({"idToken": {"idToken": "TAG-1", "type": "ISO14443"}} if seq_no == 0 else {})


async def _booted_duo_with_a_tag(server: Voltline, connect: Any) -> OcppClient:
    """CS-DUO registered, connected over 2.0.1 and booted; TAG-1 accepted."""
    await server.services.charge_points.register("CS-DUO")
    await server.store.write(lambda c: c.execute(
        sa.insert(t.id_tags).values(id_tag="TAG-1", status="Accepted", max_active_transactions=0)))
    station: OcppClient = await connect("CS-DUO", subprotocols=["ocpp2.0.1"])
    await station.ok("BootNotification", BOOT)
    return station


def _card(page: str, evse: int, connector: int) -> str:
    start = page.index(f'data-evse-connector="{evse}/{connector}"')
    end = page.find("</article>", start)
    return page[start:end]


async def test_two_evses_charging_on_their_connector_1_each_show_their_own_session(
    web: httpx.AsyncClient, server: Voltline, connect: Any, api: httpx.AsyncClient
) -> None:
    station = await _booted_duo_with_a_tag(server, connect)
    for evse, connector, status in ((1, 1, "Occupied"), (2, 1, "Occupied"), (2, 2, "Available")):
        await station.ok("StatusNotification", _status(evse, connector, status))
    await station.ok("TransactionEvent", _event("Started", 0, "tx-1", 1, 1000, 0, 0))
    await station.ok("TransactionEvent", _event("Started", 0, "tx-2", 2, 5000, 0, 1))
    await station.ok("TransactionEvent", _event("Updated", 1, "tx-1", 1, 3000, 7000, 10))
    await station.ok("TransactionEvent", _event("Updated", 1, "tx-2", 2, 6000, 11000, 11))
    ids = {}
    for wire in ("tx-1", "tx-2"):
        found = (await api.get("/api/v1/transactions", params={"ocpp_transaction_id": wire})).json()["items"]
        ids[wire] = found[0]["id"]

    page = (await web.get("/charge-points/CS-DUO")).text
    one, two, other = _card(page, 1, 1), _card(page, 2, 1), _card(page, 2, 2)
    assert f'href="/sessions/{ids["tx-1"]}"' in one and f'href="/sessions/{ids["tx-2"]}"' not in one
    assert f'href="/sessions/{ids["tx-2"]}"' in two and f'href="/sessions/{ids["tx-1"]}"' not in two
    assert "/sessions/" not in other
    # Each card's live values are its EVSE's (the place its meter values are told for) ...
    assert 'data-live-power data-cp="CS-DUO" data-connector="1">7.0 kW<' in one
    assert 'data-live-power data-cp="CS-DUO" data-connector="2">11.0 kW<' in two
    # ... and closing a session offers that session's last reading.
    assert re.search(rf'id="close-meter-{ids["tx-1"]}"[^>]*value="3000"', one)
    assert re.search(rf'id="close-meter-{ids["tx-2"]}"[^>]*value="6000"', two)

    async def connectors() -> dict[tuple[int, int], tuple[Any, Any]]:
        view = (await api.get("/api/v1/charge-points/CS-DUO")).json()
        return {(c["evse_id"], c["connector_id"]): (c["transaction_id"], c["power_w"]) for c in view["connectors"]}

    expected = {(1, 1): (ids["tx-1"], 7000.0), (2, 1): (ids["tx-2"], 11000.0), (2, 2): (None, None)}
    assert await connectors() == expected
    # After a restart the live readings are found again by EVSE and connector (no power read yet).
    server.services.transactions.live.clear()
    await server.services.transactions.restore_live()
    assert await connectors() == {(1, 1): (ids["tx-1"], None), (2, 1): (ids["tx-2"], None), (2, 2): (None, None)}

    overview = (await web.get("/")).text
    assert "CS-DUO</a> / EVSE 2, 1" in overview and "CS-DUO</a> / EVSE 1, 1" in overview
    sessions = (await web.get("/sessions")).text
    assert "CS-DUO</a> / EVSE 2, 1" in sessions


def _state_event(seq_no: int, state: str, minute: int, *, trigger: str = "ChargingStateChanged", **extra: Any) -> dict[str, Any]:
    return {
        "eventType": "Updated", "timestamp": f"2026-12-02T05:{minute:02d}:00Z", "triggerReason": trigger,
        "seqNo": seq_no, "transactionInfo": {"transactionId": "tx-1", "chargingState": state},
        "evse": {"id": 1, "connectorId": 1}, **extra,
    }


async def test_a_201_sessions_charging_state_shows_beside_its_occupied_connector_and_reaches_the_feed_when_it_changes(
    web: httpx.AsyncClient, server: Voltline, connect: Any
) -> None:
    station = await _booted_duo_with_a_tag(server, connect)
    await station.ok("StatusNotification", _status(1, 1, "Occupied"))

    def badge(page: str) -> list[str]:
        return re.findall(r"data-charging-state[^>]*>(\w+)<", _card(page, 1, 1))

    async with server.bus.subscribe() as events:
        started = _event("Started", 0, "tx-1", 1, 1000, 0, 0)
        started["transactionInfo"]["chargingState"] = "EVConnected"
        await station.ok("TransactionEvent", started)
        assert badge((await web.get("/charge-points/CS-DUO")).text) == ["EVConnected"]
        await station.ok("TransactionEvent", _state_event(1, "Charging", 1))
        # A periodic event in the same state (applied in place) tells nothing new.
        await station.ok("TransactionEvent", _state_event(2, "Charging", 2, trigger="MeterValuePeriodic", meterValue=[
            {"timestamp": "2026-12-02T05:02:00Z", "sampledValue": [{"value": 2000, "measurand": "Energy.Active.Import.Register"}]}]))
        await station.ok("TransactionEvent", _state_event(4, "SuspendedEV", 4))
        # An event from before that, queued offline, arrives late: the newest state stands.
        await station.ok("TransactionEvent", _state_event(3, "Charging", 3, offline=True))
        assert badge((await web.get("/charge-points/CS-DUO")).text) == ["SuspendedEV"]
        # The card given at the exact path (an event naming the token) after the index learnt it.
        await station.ok("TransactionEvent", _state_event(5, "Charging", 5, idToken={"idToken": "TAG-1", "type": "ISO14443"}))
        await station.ok("TransactionEvent", _state_event(6, "Charging", 6, trigger="MeterValuePeriodic"))
        told = []
        while not events.empty():
            event = events.get_nowait()
            if event.type == "transaction.charging_state":
                told.append((event.data["charging_state"], event.data["evse_id"]))
    assert told == [("EVConnected", 1), ("Charging", 1), ("SuspendedEV", 1), ("Charging", 1)]
    assert badge((await web.get("/charge-points/CS-DUO")).text) == ["Charging"]
    # The connector's own status stays what the station reported.
    assert re.search(r'data-connector="1" data-evse="1">Occupied<', (await web.get("/charge-points/CS-DUO")).text)
    # The overview's running sessions say it too.
    assert re.search(r"CS-DUO</a> / EVSE 1, 1 <span [^>]*data-charging-state>Charging<", (await web.get("/")).text)
