"""The simulator's OCPP 2.0.1 station against the real server: boot and its first inventory,
status per EVSE and connector, sessions (by card, by remote start), the offline queue, and the
CSMS's commands through the REST API — checked on both sides, on SQLite and PostgreSQL; and a
fleet of 1.6 and 2.0.1 charge points from one Simulator charging at the same time.

The server was tested with the `ocpp` package's client and the simulator against an independent
CSMS; here they meet. Tokens stay within 20 characters (1.6's id tag width, which the store
still has on PostgreSQL).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration import sim_fixtures
from tests.integration.sim_fixtures import METER_INTERVAL, SPEED, WAIT, Central, eventually
from voltline.app import Voltline
from voltline.simulator import Simulator
from voltline.simulator.clock import parse_iso

central = sim_fixtures.central
station16 = sim_fixtures.station

ENERGY = "Energy.Active.Import.Register"


def _options(**options: Any) -> dict[str, Any]:
    return {
        "speed": SPEED,
        "meter_interval": METER_INTERVAL,
        "seed": 17,
        "reconnect_min": 0.5,
        "reconnect_max": 5.0,
        "call_timeout": 10.0,
        "boot_timeout": WAIT,
        **options,
    }


def _reported(detail: dict[str, Any]) -> dict[tuple[int | None, int], str]:
    return {(c["evse_id"], c["connector_id"]): c["status"] for c in detail["connectors"]}


def _plugs(cs: Any) -> dict[tuple[int | None, int], str]:
    return {(p.evse_id, p.connector_id): p.status for plugs in cs.plugs.values() for p in plugs.values()}


@pytest.fixture
async def fleet(server: Voltline, central: Central) -> AsyncIterator[Any]:
    """`sim = await fleet(["CS-1"], ocpp_version="2.0.1", connectors=2)`: register the charge
    points, start one Simulator for them, and return it once every station is accepted and the
    server holds the status of each of its connectors."""
    simulators: list[Simulator] = []

    async def start(identities: list[str], register: bool = True, **options: Any) -> Simulator:
        for identity in identities if register else ():
            await central.post("/charge-points", {"id": identity}, expect=201)
        simulator = Simulator(f"ws://127.0.0.1:{server.ocpp_port}/ocpp", identities=identities, **_options(**options))
        simulators.append(simulator)
        await simulator.start()
        await simulator.wait_accepted(WAIT)
        for cs in simulator:
            if cs.ocpp_version == "2.0.1":
                await _wait_statuses(central, cs)
        return simulator

    yield start
    for simulator in simulators:
        await simulator.stop()


async def _wait_statuses(central: Central, cs: Any) -> None:
    async def all_reported() -> bool:
        return _reported(await central.charge_point(cs.identity)) == _plugs(cs)

    await eventually(all_reported, f"the server holds the status of every connector of {cs.identity}")


async def station(fleet: Any, identity: str = "CS-1", **options: Any) -> Any:
    sim = await fleet([identity], ocpp_version="2.0.1", **options)
    return sim[identity]


async def _by_ocpp_id(central: Central, ocpp_id: str) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return (await central.get("/transactions", ocpp_transaction_id=ocpp_id))["items"]  # type: ignore[no-any-return]

    (tx,) = await eventually(found, f"the server stores transaction {ocpp_id}")
    return await central.transaction(tx["id"])


async def _wait_tx(central: Central, ocpp_id: str, check: Any, what: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        tx = await _by_ocpp_id(central, ocpp_id)
        return tx if check(tx) else None

    return await eventually(reached, what)  # type: ignore[no-any-return]


def _stopped(tx: dict[str, Any]) -> bool:
    return tx["status"] == "Stopped"


# -- boot, inventory, status ------------------------------------------------------------------------


async def test_boot_inventory_and_status_per_evse(central: Central, fleet: Any) -> None:
    cs = await station(fleet, connectors=2, connectors_per_evse=2, firmware="4.0.2")

    detail = await central.charge_point("CS-1")
    assert detail["connected"] and detail["registration_status"] == "Accepted"
    assert detail["ocpp_version"] == "2.0.1"
    assert (detail["vendor"], detail["model"], detail["firmware_version"], detail["serial_number"]) == (
        cs.vendor, cs.model, "4.0.2", cs.serial_number,
    )
    assert _reported(detail) == {(1, 1): "Available", (1, 2): "Available", (2, 1): "Available", (2, 2): "Available"}
    assert cs.config.get_int("HeartbeatInterval") == central.server.settings.heartbeat_interval

    # The first boot asks for the full inventory; its NotifyReport parts fill the device model.
    parts = await central.wait_received("CS-1", "NotifyReport", lambda p: not p.get("tbc", False))
    reports = await central.received("CS-1", "NotifyReport")
    assert len(reports) > 1 and [p["seqNo"] for p in reports] == list(range(len(reports)))
    assert parts["requestId"] == reports[0]["requestId"]
    reported = sum(len(p.get("reportData", [])) for p in reports)

    async def stored() -> dict[str, Any] | None:
        page = await central.get("/charge-points/CS-1/variables", limit=1)
        return page if page["total"] >= reported else None

    assert (await eventually(stored, "the full inventory lands in the device model"))["total"] == reported
    interval = (await central.get("/charge-points/CS-1/variables", component="OCPPCommCtrlr",
                                  variable="HeartbeatInterval"))["items"]
    assert [(v["value"], v["mutability"], v["data_type"]) for v in interval] == [
        (str(central.server.settings.heartbeat_interval), "ReadWrite", "integer")
    ]
    evse2 = (await central.get("/charge-points/CS-1/variables", component="EVSE", evse_id=2))["items"]
    assert evse2 and {v["evse_id"] for v in evse2} == {2}

    # A status on one connector of EVSE 2 moves that connector alone.
    await cs.plug_in(2, connector_id=2)
    await cs.wait_for_connector_status(2, "Occupied", connector_id=2)
    await _wait_statuses(central, cs)
    assert _reported(await central.charge_point("CS-1")) == {
        (1, 1): "Available", (1, 2): "Available", (2, 1): "Unavailable", (2, 2): "Occupied",
    }

    await cs.fault(1, "GroundFailure")
    await cs.wait_for_connector_status(1, "Faulted")
    await _wait_statuses(central, cs)


# -- sessions ---------------------------------------------------------------------------------------


async def test_a_session_by_card_matches_the_simulated_meter(central: Central, fleet: Any) -> None:
    await central.add_tag("RFID-0001")
    cs = await station(fleet, connectors=2)
    mark = await central.last_message_id()

    # The operator makes the cable start transactions (SetVariables through the API): the card
    # comes afterwards, its idToken in a later Updated event.
    answer = await central.post("/charge-points/CS-1/variables/set", {"variables": [
        {"component": "TxCtrlr", "variable": "TxStartPoint", "value": "EVConnected"},
    ]})
    assert [r["attribute_status"] for r in answer["results"]] == ["Accepted"]
    assert cs.device_model.members("TxCtrlr", "TxStartPoint") == ["EVConnected"]
    tx = await cs.plug_in(1)
    assert tx is not None and not tx.authorized
    await tx.wait_confirmed()
    unauthorized = await _by_ocpp_id(central, tx.transaction_id)
    assert (unauthorized["status"], unauthorized["id_tag"], unauthorized["id_token_type"]) == ("Active", "", None)
    # Periodic readings came while the car waited for the card: count the ones after it.
    waited = len(tx.meter_values)
    assert await cs.present_token(1, "RFID-0001") is tx and tx.authorized
    await cs.wait_until(lambda: len(tx.meter_values) >= waited + 2 and tx.energy_wh > 0, timeout=WAIT)
    await cs.stop_charging(1)
    await cs.unplug(1)
    stored = await _wait_tx(central, tx.transaction_id, _stopped, "the server stores the session as stopped")

    events = await central.received("CS-1", "TransactionEvent", mark)
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended"
    # (Periodic Updated events without it may come between.)
    with_token = [e for e in events if "idToken" in e]
    assert with_token[0]["eventType"] == "Updated" and with_token[0]["triggerReason"] == "Authorized"
    assert with_token[0]["idToken"] == {"idToken": "RFID-0001", "type": "ISO14443"}
    assert (stored["charge_point_id"], stored["evse_id"], stored["connector_id"]) == ("CS-1", 1, 1)
    assert (stored["ocpp_transaction_id"], stored["id_tag"], stored["id_token_type"]) == (
        tx.transaction_id, "RFID-0001", "ISO14443",
    )
    assert stored["stop_reason"] == tx.stop_reason == "Local"
    assert (stored["meter_start"], stored["meter_stop"]) == (tx.meter_start, tx.meter_stop)
    assert stored["energy_wh"] == tx.meter_stop - tx.meter_start > 0
    registers = [s["value"] for s in stored["meter_values"] if s["measurand"] == ENERGY]
    assert registers == sorted(registers) and stored["energy_wh"] == registers[-1] - registers[0]
    periodic = [s["value"] for s in stored["meter_values"] if s["measurand"] == ENERGY and s["context"] == "Sample.Periodic"]
    assert periodic == [v["value"] for mv in tx.meter_values for v in mv["sampledValue"] if v["measurand"] == ENERGY]


async def test_the_offline_queue_lands_on_its_transaction(central: Central, fleet: Any) -> None:
    await central.add_tag("RFID-0002")
    cs = await station(fleet)
    tx = await cs.plug_in(1, "RFID-0002")
    assert tx is not None
    await tx.wait_confirmed()
    online = await _by_ocpp_id(central, tx.transaction_id)
    assert online["status"] == "Active"

    # The network goes (the CSMS is out of reach); the station charges on, stops and is
    # unplugged, all queued.
    url, cs.url = cs.url, f"ws://127.0.0.1:{_closed_port()}/ocpp"
    await cs.drop_connection()
    await cs.wait_until(lambda: not cs.connected, timeout=WAIT)
    await cs.wait_until(lambda: sum(1 for e in tx.events if e.get("offline")) >= 3, timeout=WAIT)
    await cs.stop_charging(1)
    await cs.unplug(1)
    queued = [e for e in tx.events if e.get("offline")]
    assert queued[-1]["eventType"] == "Ended"
    assert cs.messages_in_queue(tx.transaction_id)
    assert (await _by_ocpp_id(central, tx.transaction_id))["status"] == "Active"

    cs.url = url  # the network is back
    stored = await _wait_tx(central, tx.transaction_id, _stopped, "the queued Ended event lands")
    assert (stored["id"], stored["meter_stop"], stored["energy_wh"]) == (online["id"], tx.meter_stop, tx.energy_wh)
    assert parse_iso(stored["stopped_at"]) == parse_iso(queued[-1]["timestamp"])
    assert stored["energy_wh"] == tx.meter_stop - tx.meter_start > 0
    offline = [e for e in await central.received("CS-1", "TransactionEvent") if e.get("offline")]
    assert sorted({e["seqNo"] for e in offline}) == [e["seqNo"] for e in queued]
    # Every sample taken offline is stored with the transaction, at the time it was taken.
    samples = {(parse_iso(s["timestamp"]), s["value"]) for s in stored["meter_values"] if s["measurand"] == ENERGY}
    for event in queued:
        for mv in event.get("meterValue", []):
            for v in mv["sampledValue"]:
                if v["measurand"] == ENERGY:
                    assert (parse_iso(mv["timestamp"]), v["value"]) in samples
    await cs.wait_until(lambda: not cs.messages_in_queue(tx.transaction_id), timeout=WAIT)
    assert cs.connections == 2 and cs.boot_count == 1  # a reconnect, not a reboot


def _closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the CSMS's commands through the API --------------------------------------------------------------


async def test_remote_start_answers_with_the_transaction_and_remote_stop_ends_it(central: Central, fleet: Any) -> None:
    await central.add_tag("APP-0003")
    cs = await station(fleet, connectors=2)

    started = await central.post("/charge-points/CS-1/remote-start", {"id_tag": "APP-0003", "evse_id": 2, "wait": True})
    assert started["status"] == "Accepted" and started["remote_start"]["status"] == "Started"
    tx = cs.connectors[2].transaction
    assert tx is not None and tx.remote_start_id is not None
    stored = await central.transaction(started["transaction_id"])
    assert (stored["ocpp_transaction_id"], stored["evse_id"], stored["remote_start_id"]) == (
        tx.transaction_id, 2, tx.remote_start_id,
    )
    assert (stored["id_tag"], stored["status"]) == ("APP-0003", "Active")
    await cs.wait_for_connector_status(2, "Occupied")
    await _wait_statuses(central, cs)

    # A second one for the busy EVSE: the station says no, and the operator hears it.
    busy = await central.command("CS-1", "RequestStartTransaction", {
        "idToken": {"idToken": "APP-0003", "type": "Central"}, "remoteStartId": 99, "evseId": 2,
    })
    assert busy == {"status": "Rejected"}

    status = await central.get(f"/transactions/{stored['id']}/status")
    assert (status["ongoing_indicator"], status["closed"], status["ocpp_transaction_id"]) == (True, False, tx.transaction_id)

    assert await central.post("/charge-points/CS-1/remote-stop", {"transaction_id": stored["id"]}) == {"status": "Accepted"}
    ended = await _wait_tx(central, tx.transaction_id, _stopped, "the remote stop ends the session")
    assert ended["stop_reason"] == tx.stop_reason == "Remote"
    assert (ended["meter_start"], ended["meter_stop"], ended["energy_wh"]) == (tx.meter_start, tx.meter_stop, tx.energy_wh)
    await cs.wait_until(lambda: not cs.messages_in_queue(tx.transaction_id), timeout=WAIT)
    status = await central.get(f"/transactions/{stored['id']}/status")
    assert (status["ongoing_indicator"], status["messages_in_queue"], status["closed"]) == (False, False, True)


async def test_a_station_run_again_with_the_same_seed_charges_again(central: Central, fleet: Any) -> None:
    """As the demo does on the database of its last run: the sessions of the earlier run are
    ended, and the new run's are new ones, not repeats of them."""
    await central.add_tag("APP-0005")
    ended: list[str] = []
    for run in (1, 2):
        # The same identity and seed each time, in a simulator of its own; on the real clock, so
        # that the second run's status reports are not older than the first run's.
        simulator = await fleet(["CS-1"], register=run == 1, ocpp_version="2.0.1", speed=1.0)
        started = await central.post("/charge-points/CS-1/remote-start", {"id_tag": "APP-0005", "wait": True})
        assert started["status"] == "Accepted" and started["remote_start"]["status"] == "Started", started
        stored = await central.transaction(started["transaction_id"])
        assert stored["ocpp_transaction_id"] not in ended
        assert await central.post("/charge-points/CS-1/remote-stop", {"transaction_id": stored["id"]}) == {"status": "Accepted"}
        await _wait_tx(central, stored["ocpp_transaction_id"], _stopped, f"run {run}'s session ends")
        ended.append(stored["ocpp_transaction_id"])
        await simulator.stop()


async def test_reset_reboots_the_station_and_ends_its_session(central: Central, fleet: Any) -> None:
    await central.add_tag("RFID-0004")
    cs = await station(fleet)
    tx = await cs.plug_in(1, "RFID-0004")
    assert tx is not None
    await tx.wait_confirmed()

    # OnIdle waits for the session; Immediate ends it and reboots.
    assert await central.post("/charge-points/CS-1/reset", {"type": "OnIdle"}) == {"status": "Scheduled"}
    assert await central.post("/charge-points/CS-1/reset", {"type": "Immediate"}) == {"status": "Accepted"}
    await cs.wait_until(lambda: cs.boot_count == 2 and cs.online, timeout=WAIT)
    stored = await _wait_tx(central, tx.transaction_id, _stopped, "the reset ends the session")
    assert stored["stop_reason"] == tx.stop_reason == "ImmediateReset"
    assert stored["meter_stop"] == tx.meter_stop
    boots = await central.received("CS-1", "BootNotification")
    assert [b["reason"] for b in boots] == ["PowerUp", "RemoteReset"]
    assert (await central.charge_point("CS-1"))["connected"]
    await _wait_statuses(central, cs)


async def test_change_availability_per_station_evse_and_connector(central: Central, fleet: Any) -> None:
    await central.add_tag("RFID-0005")
    cs = await station(fleet, connectors=2, connectors_per_evse=2)

    inoperative = {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 2}}
    assert await central.command("CS-1", "ChangeAvailability", inoperative) == {"status": "Accepted"}
    await cs.wait_for_connector_status(1, "Unavailable", connector_id=2)
    await _wait_statuses(central, cs)
    assert _reported(await central.charge_point("CS-1"))[(1, 2)] == "Unavailable"

    # During a transaction the EVSE's change waits for its end.
    tx = await cs.plug_in(2, "RFID-0005")
    assert tx is not None
    await tx.wait_confirmed()
    evse = {"operationalStatus": "Inoperative", "evse": {"id": 2}}
    assert await central.command("CS-1", "ChangeAvailability", evse) == {"status": "Scheduled"}
    await cs.stop_charging(2)
    await cs.unplug(2)
    await _wait_tx(central, tx.transaction_id, _stopped, "the session ends")
    await cs.wait_for_connector_status(2, "Unavailable")
    await _wait_statuses(central, cs)

    # The whole station back: every connector Available again.
    assert await central.command("CS-1", "ChangeAvailability", {"operationalStatus": "Operative"}) == {"status": "Accepted"}
    assert await central.command("CS-1", "ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 2}}) == {
        "status": "Accepted"
    }
    assert await central.command("CS-1", "ChangeAvailability", {
        "operationalStatus": "Operative", "evse": {"id": 1, "connectorId": 2},
    }) == {"status": "Accepted"}
    await cs.wait_until(lambda: set(_plugs(cs).values()) == {"Available"}, timeout=WAIT)
    await _wait_statuses(central, cs)


async def test_set_variables_changes_the_heartbeat(central: Central, fleet: Any) -> None:
    cs = await station(fleet)
    await central.wait_received("CS-1", "NotifyReport", lambda p: not p.get("tbc", False))
    mark = await central.last_message_id()

    answer = await central.post("/charge-points/CS-1/variables/set", {"variables": [
        {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "30"},
        {"component": "NoSuchCtrlr", "variable": "HeartbeatInterval", "value": "30"},
    ]})
    assert [r["attribute_status"] for r in answer["results"]] == ["Accepted", "UnknownComponent"]
    assert cs.config.get_int("HeartbeatInterval") == 30
    stored = (await central.get("/charge-points/CS-1/variables", component="OCPPCommCtrlr",
                                variable="HeartbeatInterval"))["items"]
    assert [v["value"] for v in stored] == ["30"]

    # Beats now come every 30 simulated seconds: several within a few hundred.
    async def beating() -> bool:
        return len(await central.received("CS-1", "Heartbeat", mark)) >= 3

    await eventually(beating, "heartbeats at the new interval")
    read = await central.post("/charge-points/CS-1/variables/get", {"variables": [
        {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
    ]})
    assert [(r["attribute_status"], r["value"]) for r in read["results"]] == [("Accepted", "30")]


# -- a mixed fleet ------------------------------------------------------------------------------------


async def test_a_mixed_fleet_charges_at_the_same_time(central: Central, fleet: Any) -> None:
    for tag in ("MIX-1", "MIX-2"):
        await central.add_tag(tag)
    sim = await fleet(["CP-1", "CS-2"], ocpp_version="mixed", connectors=1)
    cp, cs = sim["CP-1"], sim["CS-2"]
    assert (cp.ocpp_version, cs.ocpp_version) == ("1.6", "2.0.1")
    assert [(await central.charge_point(i))["ocpp_version"] for i in ("CP-1", "CS-2")] == ["1.6", "2.0.1"]

    old = await cp.plug_in(1, "MIX-1")
    new = await cs.plug_in(1, "MIX-2")
    assert old is not None and new is not None
    old_id = await old.wait_confirmed()
    await new.wait_confirmed()
    await cp.wait_for_status(1, "Charging")
    await cs.wait_until(lambda: new.charging_state == "Charging", timeout=WAIT)

    listed = (await central.get("/transactions", active=True))["items"]
    assert {(x["charge_point_id"], x["ocpp_transaction_id"]) for x in listed} == {
        ("CP-1", str(old_id)), ("CS-2", new.transaction_id),
    }
    assert all(x["status"] == "Active" for x in listed)

    await cp.stop_charging(1)
    await cs.stop_charging(1)
    first = await central.wait_stopped(old_id)
    second = await _wait_tx(central, new.transaction_id, _stopped, "the 2.0.1 session ends")
    assert (first["energy_wh"], second["energy_wh"]) == (old.energy_wh, new.energy_wh)
    assert first["energy_wh"] > 0 and second["energy_wh"] > 0
    both = (await central.get("/transactions"))["items"]
    assert {x["charge_point_id"] for x in both} == {"CP-1", "CS-2"}


async def test_remote_start_authorizes_the_transaction_the_cable_started(central: Central, fleet: Any) -> None:
    """TxStartPoint EVConnected: the transaction runs before anyone is authorized; a remote start
    authorizes it, the station answers with its transactionId and the Updated event brings the
    remoteStartId and the token."""
    await central.add_tag("APP-0006")
    cs = await station(fleet)
    await central.post("/charge-points/CS-1/variables/set", {"variables": [
        {"component": "TxCtrlr", "variable": "TxStartPoint", "value": "EVConnected"},
    ]})
    tx = await cs.plug_in(1)
    assert tx is not None and not tx.authorized
    await tx.wait_confirmed()
    waiting = await _by_ocpp_id(central, tx.transaction_id)

    started = await central.post("/charge-points/CS-1/remote-start", {"id_tag": "APP-0006", "wait": True})
    assert started["status"] == "Accepted" and started["transaction_id"] == waiting["id"]
    await cs.wait_until(lambda: tx.authorized, timeout=WAIT)
    linked = await _wait_tx(central, tx.transaction_id, lambda x: x["id_tag"] == "APP-0006", "the token arrives")
    assert (linked["remote_start_id"], started["remote_start"]["status"]) == (tx.remote_start_id, "Started")
    assert [x["id"] for x in await central.transactions("CS-1")] == [waiting["id"]]
