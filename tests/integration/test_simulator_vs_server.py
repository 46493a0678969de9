"""The simulator against the real server: every Central System command, sent through the REST API,
checked on both sides — the answer and what the server stored, and the simulated station's state.

Runs on SQLite and PostgreSQL (the `server` fixture's database matrix). The simulator runs at
SPEED times real time, so minutes of charging take a fraction of a second.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration import sim_fixtures
from tests.integration.sim_fixtures import Central, StationFactory, eventually, in_
from voltline.store import tables as t

# The fixtures of sim_fixtures, made visible to pytest in this module.
central = sim_fixtures.central
station = sim_fixtures.station

ENERGY = "Energy.Active.Import.Register"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _ms(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _energy(samples: list[dict]) -> list[float]:  # type: ignore[type-arg]
    """The energy registers of sampled values as the server lists them."""
    return [s["value"] for s in samples if s["measurand"] == ENERGY]


# -- boot, status, heartbeat ----------------------------------------------------------------------


async def test_boot_status_and_heartbeat_are_seen_by_the_server(central: Central, station: StationFactory) -> None:
    cp = await station("CP-1", connectors=2, firmware="2.3.1")

    detail = await central.charge_point("CP-1")
    assert detail["connected"] and detail["registration_status"] == "Accepted"
    assert (detail["vendor"], detail["model"], detail["firmware_version"], detail["serial_number"]) == (
        cp.vendor, cp.model, "2.3.1", cp.serial_number,
    )
    assert detail["ocpp_version"] == "1.6" and detail["last_boot_at"] is not None
    assert [(c["connector_id"], c["status"], c["error_code"]) for c in detail["connectors"]] == [
        (0, "Available", "NoError"), (1, "Available", "NoError"), (2, "Available", "NoError"),
    ]
    # The station runs on the heartbeat interval the server's BootNotification answer gave it.
    assert cp.config.get_int("HeartbeatInterval") == central.server.settings.heartbeat_interval
    assert cp.registration_status == "Accepted" and cp.boot_count == 1

    await central.wait_received("CP-1", "Heartbeat")
    await central.server.services.charge_points.flush_liveness()  # what the keep-alive sweep does every 15 s
    assert (await central.charge_point("CP-1"))["last_heartbeat_at"] is not None

    await cp.fault(2, "GroundFailure", "RCD tripped")
    await central.wait_connector("CP-1", 2, "Faulted")
    faulted = next(c for c in (await central.charge_point("CP-1"))["connectors"] if c["connector_id"] == 2)
    assert (faulted["error_code"], faulted["info"]) == ("GroundFailure", "RCD tripped")

    await cp.stop()
    await eventually(lambda: _offline(central, "CP-1"), "the server marks CP-1 offline")
    # Offline is the charge point's state; the connectors keep what they last reported.
    assert await central.connector_status("CP-1", 2) == "Faulted"


async def _offline(central: Central, identity: str) -> bool:
    return not (await central.charge_point(identity))["connected"]


# -- sessions -------------------------------------------------------------------------------------


async def test_a_self_started_session_matches_the_simulated_meter(central: Central, station: StationFactory) -> None:
    await central.add_tag("TAG-1")
    cp = await station(connectors=2)
    mark = await central.last_message_id()

    tx = await cp.plug_in(1, "TAG-1", energy_kwh=1.0, soc=30)
    assert tx is not None
    tx_id = await tx.wait_confirmed()
    await cp.wait_for_status(1, "SuspendedEV", timeout=15)  # the EV took its kilowatt-hour
    await cp.stop_charging(1)
    await cp.unplug(1)
    stored = await central.wait_stopped(tx_id)
    await central.wait_connector("CP-1", 1, "Available")

    actions = await central.actions("CP-1", after=mark)
    assert actions.index("Authorize") < actions.index("StartTransaction") < actions.index("MeterValues")
    assert actions.index("MeterValues") < actions.index("StopTransaction")
    assert (stored["connector_id"], stored["id_tag"], stored["id_tag_status"]) == (1, "TAG-1", "Accepted")
    assert (stored["meter_start"], stored["meter_stop"]) == (tx.meter_start, tx.meter_stop)
    assert stored["energy_wh"] == tx.energy_wh == tx.meter_stop - tx.meter_start
    assert abs(stored["energy_wh"] - 1000) <= 1
    assert stored["stop_reason"] == tx.stop_reason == "Local"
    # The session's times are the station's (its clock runs at SPEED), kept to the millisecond.
    assert _parse(stored["started_at"]) == _ms(tx.started_at)
    assert _parse(stored["stopped_at"]) == _ms(tx.stopped_at)
    assert abs(stored["duration_s"] - (tx.stopped_at - tx.started_at).total_seconds()) <= 1

    # Every periodic sample the station took is stored with the transaction, value for value.
    samples = stored["meter_values"]
    periodic = [s for s in samples if s["context"] == "Sample.Periodic"]
    assert len(tx.meter_values) >= 2
    assert len(periodic) == sum(len(v["sampledValue"]) for v in tx.meter_values)
    assert _energy(periodic) == [
        float(v["value"]) for mv in tx.meter_values for v in mv["sampledValue"] if v["measurand"] == ENERGY
    ]
    # StopTransaction's transactionData brings the begin and end registers.
    assert _energy([s for s in samples if s["context"] == "Transaction.Begin"]) == [tx.meter_start]
    assert _energy([s for s in samples if s["context"] == "Transaction.End"]) == [tx.meter_stop]
    registers = _energy(samples)
    assert registers == sorted(registers)

    statuses = [p["status"] for p in await central.received("CP-1", "StatusNotification", mark) if p["connectorId"] == 1]
    assert statuses == ["Preparing", "Charging", "SuspendedEV", "Finishing", "Available"]
    assert cp.status(1) == "Available"


async def test_remote_start_and_remote_stop(central: Central, station: StationFactory) -> None:
    await central.add_tag("R-1")
    cp = await station(connectors=2)

    started = await central.post("/charge-points/CP-1/remote-start", {"id_tag": "R-1", "connector_id": 2, "wait": True})
    assert started["status"] == "Accepted" and started["remote_start"]["status"] == "Started"
    tx_id = started["transaction_id"]
    tx = cp.connectors[2].transaction
    assert tx is not None and await tx.wait_confirmed() == tx_id
    await cp.wait_for_status(2, "Charging")
    await central.wait_connector("CP-1", 2, "Charging")
    assert (await central.transaction(tx_id))["status"] == "Active"

    # The station refuses a second session on a busy connector, and the operator hears it.
    busy = await central.command("CP-1", "RemoteStartTransaction", {"idTag": "R-1", "connectorId": 2})
    assert busy == {"status": "Rejected"}
    unknown = await central.api.post("/api/v1/charge-points/CP-1/remote-start", json={"id_tag": "NOBODY"})
    assert unknown.status_code == 400

    assert (await central.post("/charge-points/CP-1/remote-stop", {"transaction_id": tx_id})) == {"status": "Accepted"}
    stored = await central.wait_stopped(tx_id)
    assert stored["stop_reason"] == tx.stop_reason == "Remote"
    assert (stored["meter_start"], stored["meter_stop"], stored["energy_wh"]) == (tx.meter_start, tx.meter_stop, tx.energy_wh)
    await cp.wait_for_status(2, "Finishing")  # the cable is still in
    await central.wait_connector("CP-1", 2, "Finishing")
    again = await central.api.post("/api/v1/charge-points/CP-1/remote-stop", json={"transaction_id": tx_id})
    assert again.status_code == 409


@pytest.mark.parametrize("kind", ["Soft", "Hard"])
async def test_reset_reboots_the_station_and_stops_its_session(central: Central, station: StationFactory, kind: str) -> None:
    await central.add_tag("TAG-1")
    cp = await station()
    tx = await cp.plug_in(1, "TAG-1")
    assert tx is not None
    tx_id = await tx.wait_confirmed()

    assert (await central.post("/charge-points/CP-1/reset", {"type": kind})) == {"status": "Accepted"}
    await cp.wait_until(lambda: cp.boot_count == 2 and cp.online, timeout=15)
    stored = await central.wait_stopped(tx_id)
    assert stored["stop_reason"] == tx.stop_reason == f"{kind}Reset"
    assert stored["meter_stop"] == tx.meter_stop
    assert cp.connections == 2
    assert len(await central.received("CP-1", "BootNotification")) == 2
    assert (await central.charge_point("CP-1"))["connected"]
    # After the reboot the car is still plugged in, its session over.
    await central.wait_connector("CP-1", 1, "Finishing")
    assert cp.status(1) == "Finishing"
    assert [x["status"] for x in await central.transactions("CP-1")] == ["Stopped"]


# -- availability, configuration, cache, unlock, data transfer -----------------------------------


async def test_change_availability(central: Central, station: StationFactory) -> None:
    await central.add_tag("TAG-1")
    cp = await station(connectors=2)

    assert await central.command("CP-1", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {
        "status": "Accepted"
    }
    await cp.wait_for_status(1, "Unavailable")
    await central.wait_connector("CP-1", 1, "Unavailable")
    assert await central.command("CP-1", "RemoteStartTransaction", {"idTag": "TAG-1", "connectorId": 1}) == {
        "status": "Rejected"
    }

    # A running session is not cut short: the change waits for its end.
    tx = await cp.plug_in(2, "TAG-1")
    assert tx is not None
    tx_id = await tx.wait_confirmed()
    assert await central.command("CP-1", "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {
        "status": "Scheduled"
    }
    assert cp.status(2) == "Charging"
    await cp.stop_charging(2)
    await central.wait_stopped(tx_id)
    await central.wait_connector("CP-1", 2, "Unavailable")
    assert cp.status(2) == "Unavailable"

    assert await central.command("CP-1", "ChangeAvailability", {"connectorId": 0, "type": "Operative"}) == {
        "status": "Accepted"
    }
    await central.wait_connector("CP-1", 1, "Available")
    await central.wait_connector("CP-1", 2, "Finishing")
    assert (cp.status(1), cp.status(2)) == ("Available", "Finishing")
    assert await central.command("CP-1", "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {
        "status": "Accepted"
    }
    await central.wait_connector("CP-1", 0, "Unavailable")
    assert cp.status(0) == "Unavailable" and not cp.station.operative


async def test_get_and_change_configuration(central: Central, station: StationFactory) -> None:
    cp = await station(connectors=2)

    everything = await central.command("CP-1", "GetConfiguration")
    assert "unknownKey" not in everything
    stored = (await central.get("/charge-points/CP-1/configuration"))["items"]
    assert {k["key"]: (k["value"], k["readonly"]) for k in stored} == {
        k["key"]: (k.get("value"), k["readonly"]) for k in everything["configurationKey"]
    }
    assert len(stored) == len(cp.config.describe(None)[0])
    by_key = {k["key"]: k for k in stored}
    assert (by_key["NumberOfConnectors"]["value"], by_key["NumberOfConnectors"]["readonly"]) == ("2", True)

    changed = await central.command("CP-1", "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "120"})
    assert changed == {"status": "Accepted"}
    assert cp.config.get("MeterValueSampleInterval") == "120"
    read_only = await central.command("CP-1", "ChangeConfiguration", {"key": "NumberOfConnectors", "value": "4"})
    assert read_only == {"status": "Rejected"}
    unknown = await central.command("CP-1", "ChangeConfiguration", {"key": "NoSuchKey", "value": "1"})
    assert unknown == {"status": "NotSupported"}
    assert cp.config.get("NumberOfConnectors") == "2"
    stored = {k["key"]: k for k in (await central.get("/charge-points/CP-1/configuration"))["items"]}
    assert stored["MeterValueSampleInterval"]["value"] == "120"
    assert stored["NumberOfConnectors"]["value"] == "2"
    assert "NoSuchKey" not in stored

    some = await central.command("CP-1", "GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert some["unknownKey"] == ["NoSuchKey"]
    assert some["configurationKey"] == [
        {"key": "HeartbeatInterval", "readonly": False, "value": cp.config.get("HeartbeatInterval")}
    ]
    stored = {k["key"]: k for k in (await central.get("/charge-points/CP-1/configuration"))["items"]}
    assert stored["HeartbeatInterval"]["value"] == cp.config.get("HeartbeatInterval")
    assert len(stored) == len(everything["configurationKey"])


async def test_clear_cache_unlock_connector_and_data_transfer(central: Central, station: StationFactory) -> None:
    await central.add_tag("TAG-1")
    cp = await station()
    tx = await cp.plug_in(1, "TAG-1")
    assert tx is not None
    tx_id = await tx.wait_confirmed()
    assert cp.auth_cache.lookup("TAG-1") is not None

    assert await central.command("CP-1", "ClearCache") == {"status": "Accepted"}
    assert cp.auth_cache.lookup("TAG-1") is None

    assert await central.command("CP-1", "UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    stored = await central.wait_stopped(tx_id)
    assert stored["stop_reason"] == tx.stop_reason == "UnlockCommand"
    assert await central.command("CP-1", "UnlockConnector", {"connectorId": 9}) == {"status": "NotSupported"}

    echo = await central.command("CP-1", "DataTransfer", {"vendorId": cp.vendor, "messageId": "Echo", "data": "ping"})
    assert echo == {"status": "Accepted", "data": "ping"}
    assert await central.command("CP-1", "DataTransfer", {"vendorId": "Elsewhere"}) == {"status": "UnknownVendorId"}
    # And the other way: the server has no vendor extension and says so.
    answer = await cp.call("DataTransfer", {"vendorId": "Voltline", "messageId": "Hello", "data": "42"})
    assert answer == {"status": "UnknownVendorId"}
    logged = await central.wait_received("CP-1", "DataTransfer")
    assert logged == {"vendorId": "Voltline", "messageId": "Hello", "data": "42"}


async def test_trigger_message_brings_the_message_to_the_server(central: Central, station: StationFactory) -> None:
    await central.add_tag("TAG-1")
    cp = await station(connectors=2)
    tx = await cp.plug_in(1, "TAG-1")
    assert tx is not None
    tx_id = await tx.wait_confirmed()

    mark = await central.last_message_id()
    answer = await central.command("CP-1", "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 2})
    assert answer == {"status": "Accepted"}
    status = await central.wait_received("CP-1", "StatusNotification", lambda p: p["connectorId"] == 2, after=mark)
    assert status["status"] == cp.status(2) == "Available"

    mark = await central.last_message_id()
    answer = await central.command("CP-1", "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
    assert answer == {"status": "Accepted"}
    triggered = await central.wait_received(
        "CP-1", "MeterValues", lambda p: p["meterValue"][0]["sampledValue"][0]["context"] == "Trigger", after=mark
    )
    assert triggered["transactionId"] == tx_id
    # The log has the CALL from its arrival; its rows are committed (then answered) a moment later.
    stored = await eventually(lambda: central.rows(
        sa.select(t.meter_values).where(t.meter_values.c.context == "Trigger", t.meter_values.c.measurand == ENERGY)
    ), "the triggered meter value stored")
    assert [(r.transaction_id, r.connector_id) for r in stored] == [(tx_id, 1)]

    for requested in ("Heartbeat", "BootNotification"):
        mark = await central.last_message_id()
        assert await central.command("CP-1", "TriggerMessage", {"requestedMessage": requested}) == {"status": "Accepted"}
        await central.wait_received("CP-1", requested, after=mark)
    await cp.wait_until(lambda: cp.boot_count == 2)  # a triggered boot's answer is applied like the first
    assert cp.connections == 1

    rejected = await central.command("CP-1", "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 7})
    assert rejected == {"status": "Rejected"}


# -- reservations -----------------------------------------------------------------------------------


async def test_reservation_is_made_honoured_and_cancelled(central: Central, station: StationFactory) -> None:
    for tag in ("RES-1", "OTHER", "RES-2"):
        await central.add_tag(tag)
    cp = await station(connectors=2)

    made = await central.post(
        "/reservations", {"charge_point_id": "CP-1", "connector_id": 1, "id_tag": "RES-1", "expiry_date": in_(86_400)},
        expect=201,
    )
    assert made["status"] == "Accepted" and made["reservation"]["status"] == "Reserved"
    reservation_id = made["reservation"]["id"]
    await cp.wait_for_status(1, "Reserved")
    assert cp.connectors[1].reservation is not None
    assert cp.connectors[1].reservation.reservation_id == reservation_id
    assert cp.connectors[1].reservation.id_tag == "RES-1"
    await central.wait_connector("CP-1", 1, "Reserved")

    # Someone else's card does not start on the reserved connector; the holder's does.
    await cp.plug_in(1)
    assert await cp.present_tag(1, "OTHER") is None
    tx = await cp.present_tag(1, "RES-1")
    assert tx is not None and tx.reservation_id == reservation_id
    tx_id = await tx.wait_confirmed()
    stored = await central.transaction(tx_id)
    assert stored["reservation_id"] == reservation_id
    used = await central.get(f"/reservations/{reservation_id}")
    assert (used["status"], used["transaction_id"]) == ("Used", tx_id)
    assert cp.connectors[1].reservation is None

    second = await central.post(
        "/reservations", {"charge_point_id": "CP-1", "connector_id": 2, "id_tag": "RES-2", "expiry_date": in_(86_400)},
        expect=201,
    )
    second_id = second["reservation"]["id"]
    assert second_id != reservation_id
    await central.wait_connector("CP-1", 2, "Reserved")
    occupied = await central.post(
        "/reservations", {"charge_point_id": "CP-1", "connector_id": 1, "id_tag": "RES-2", "expiry_date": in_(86_400)},
        expect=201,
    )
    assert occupied["status"] == "Occupied" and occupied["reservation"]["status"] == "Occupied"

    cancelled = await central.delete(f"/reservations/{second_id}")
    assert cancelled["status"] == "Accepted" and cancelled["reservation"]["status"] == "Cancelled"
    await cp.wait_for_status(2, "Available")
    assert cp.connectors[2].reservation is None
    await central.wait_connector("CP-1", 2, "Available")
    again = await central.command("CP-1", "CancelReservation", {"reservationId": second_id})
    assert again == {"status": "Rejected"}


# -- smart charging ---------------------------------------------------------------------------------


async def test_charging_profiles_cap_the_station_and_are_kept_by_the_server(
    central: Central, station: StationFactory
) -> None:
    await central.add_tag("TAG-1")
    cp = await station()
    tx = await cp.plug_in(1, "TAG-1", soc=20)
    assert tx is not None
    tx_id = await tx.wait_confirmed()
    await cp.wait_until(lambda: cp.connectors[1].power_w == 11_000.0)

    # A default for every connector, through the generic command endpoint.
    default = {
        "chargingProfileId": 10,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "startSchedule": in_(-60),
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000}],
        },
    }
    answer = await central.command("CP-1", "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": default})
    assert answer == {"status": "Accepted"}
    await cp.wait_until(lambda: cp.connectors[1].power_w == 3000.0)

    # A profile for this session, through the charging-profiles resource: it overrides the default.
    tx_profile = {
        "charging_profile_id": 11,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Relative",
        "transaction_id": tx_id,
        "charging_schedule": {"charging_rate_unit": "W", "charging_schedule_period": [{"start_period": 0, "limit": 4000}]},
    }
    made = await central.post("/charging-profiles", {"charge_point_id": "CP-1", "connector_id": 1, "charging_profile": tx_profile})
    assert made["status"] == "Accepted"
    stored = made["charging_profile"]
    assert (stored["charging_profile_id"], stored["purpose"], stored["status"], stored["transaction_id"]) == (
        11, "TxProfile", "Active", tx_id,
    )
    await cp.wait_until(lambda: cp.connectors[1].power_w == 4000.0)
    assert sorted(p.id for p in cp.profiles.installed) == [10, 11]
    active = (await central.get("/charging-profiles", charge_point_id="CP-1", status="Active"))["items"]
    assert sorted(p["charging_profile_id"] for p in active) == [10, 11]

    schedule = await central.command(
        "CP-1", "GetCompositeSchedule", {"connectorId": 1, "duration": 600, "chargingRateUnit": "W"}
    )
    assert schedule["status"] == "Accepted" and schedule["connectorId"] == 1
    assert [(p["startPeriod"], p["limit"]) for p in schedule["chargingSchedule"]["chargingSchedulePeriod"]] == [(0, 4000.0)]
    # The capped power reaches the server in the station's meter values.
    await eventually(lambda: _powers_include(central, tx_id, 4000.0), "the server stores a 4 kW sample")

    cleared = await central.delete(f"/charging-profiles/{stored['id']}")
    assert cleared["status"] == "Accepted" and cleared["charging_profile"]["status"] == "Cleared"
    await cp.wait_until(lambda: cp.connectors[1].power_w == 3000.0)
    assert [p.id for p in cp.profiles.installed] == [10]

    answer = await central.command("CP-1", "ClearChargingProfile", {"chargingProfilePurpose": "TxDefaultProfile"})
    assert answer == {"status": "Accepted"}
    await cp.wait_until(lambda: cp.connectors[1].power_w == 11_000.0)
    assert cp.profiles.installed == []
    rows = await central.rows(sa.select(t.charging_profiles.c.charging_profile_id, t.charging_profiles.c.status))
    assert sorted((r.charging_profile_id, r.status) for r in rows) == [(10, "Cleared"), (11, "Cleared")]
    unknown = await central.command("CP-1", "ClearChargingProfile", {"id": 99})
    assert unknown == {"status": "Unknown"}


async def _powers_include(central: Central, transaction_id: int, watts: float) -> bool:
    samples = (await central.transaction(transaction_id))["meter_values"]
    return any(s["measurand"] == "Power.Active.Import" and s["value"] == watts for s in samples)


# -- local authorization list -------------------------------------------------------------------------


async def test_local_list_versions_agree_on_both_sides(central: Central, station: StationFactory) -> None:
    await central.add_tag("A")
    await central.add_tag("B", status="Blocked")
    cp = await station()
    assert await central.command("CP-1", "GetLocalListVersion") == {"listVersion": 0}
    assert (await central.get("/charge-points/CP-1/local-list"))["version"] == 0

    full = await central.post("/charge-points/CP-1/local-list/sync", {"update_type": "Full"})
    assert full == {"status": "Accepted", "list_version": 1, "update_type": "Full", "entries": 2}
    assert cp.local_list.version == 1
    assert cp.local_list.entries == {"A": {"status": "Accepted"}, "B": {"status": "Blocked"}}

    await central.add_tag("C")
    diff = await central.post("/charge-points/CP-1/local-list/sync", {"update_type": "Differential"})
    assert (diff["status"], diff["list_version"], diff["entries"]) == ("Accepted", 2, 1)
    assert set(cp.local_list.entries) == {"A", "B", "C"}
    kept = await central.get("/charge-points/CP-1/local-list")
    assert kept["version"] == cp.local_list.version == 2
    assert {(e["id_tag"], e["status"]) for e in kept["entries"]} == {
        (tag, info["status"]) for tag, info in cp.local_list.entries.items()
    }
    assert await central.command("CP-1", "GetLocalListVersion") == {"listVersion": 2}

    # The raw command: an empty Full list under an operator-chosen version.
    answer = await central.command("CP-1", "SendLocalList", {"listVersion": 7, "updateType": "Full"})
    assert answer == {"status": "Accepted"}
    assert (cp.local_list.version, cp.local_list.entries) == (7, {})
    kept = await central.get("/charge-points/CP-1/local-list")
    assert (kept["version"], kept["entries"]) == (7, [])
    stale = await central.command("CP-1", "SendLocalList", {"listVersion": 3, "updateType": "Differential"})
    assert stale == {"status": "VersionMismatch"}
    assert await central.command("CP-1", "GetLocalListVersion") == {"listVersion": 7}
    assert (await central.charge_point("CP-1"))["local_list_version"] == cp.local_list.version == 7


# -- firmware, diagnostics --------------------------------------------------------------------------


async def test_firmware_update_and_diagnostics_progress_is_stored(central: Central, station: StationFactory) -> None:
    cp = await station(firmware="1.0.0")

    answer = await central.command(
        "CP-1", "UpdateFirmware", {"location": "http://127.0.0.1/fw-2.0.0.bin", "retrieveDate": in_(0)}
    )
    assert answer == {}
    await central.wait_event("CP-1", "firmware", "Installed")
    await cp.wait_until(lambda: cp.boot_count == 2 and cp.online)
    sim_steps = [status for action, status in cp.maintenance.history if action == "FirmwareStatusNotification"]
    assert sim_steps == ["Downloading", "Downloaded", "Installing", "Installed"]
    rows = await central.rows(
        sa.select(t.charge_point_events)
        .where(t.charge_point_events.c.charge_point_id == "CP-1", t.charge_point_events.c.kind == "firmware")
        .order_by(t.charge_point_events.c.id)
    )
    # The server's own record of the request sits next to every notification that followed.
    assert [r.status for r in rows if r.status != "Requested"] == sim_steps
    (request,) = [r for r in rows if r.status == "Requested"]
    assert request.detail["request"]["location"] == "http://127.0.0.1/fw-2.0.0.bin"
    assert cp.firmware_version == "fw-2.0.0"
    detail = await central.charge_point("CP-1")
    assert (detail["firmware_version"], detail["firmware_status"]) == ("fw-2.0.0", "Installed")

    answer = await central.command("CP-1", "GetDiagnostics", {"location": "ftp://127.0.0.1/upload"})
    assert answer["fileName"].startswith("diagnostics-CP-1-")
    history = await central.wait_event("CP-1", "diagnostics", "Uploaded")
    sim_steps = [status for action, status in cp.maintenance.history if action == "DiagnosticsStatusNotification"]
    assert sim_steps == ["Uploading", "Uploaded"]
    assert [e["status"] for e in history if e["status"] != "Requested"] == sim_steps
    (request,) = [e for e in history if e["status"] == "Requested"]
    assert request["detail"]["response"] == answer
    assert (await central.charge_point("CP-1"))["diagnostics_status"] == "Uploaded"


# -- security extension -----------------------------------------------------------------------------


async def test_extended_trigger_get_log_and_signed_firmware(central: Central, station: StationFactory) -> None:
    cp = await station()

    mark = await central.last_message_id()
    answer = await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"})
    assert answer == {"status": "Accepted"}
    await central.wait_received("CP-1", "Heartbeat", after=mark)
    answer = await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"})
    assert answer == {"status": "Accepted"}
    await central.wait_event("CP-1", "log", "Idle")
    answer = await central.command("CP-1", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    assert answer == {"status": "Accepted"}
    # This server runs no certificate authority: the station's request is refused, and recorded.
    [refused] = await central.wait_event("CP-1", "security", "CertificateSigningRejected")
    assert "no certificate authority" in refused["detail"]["reason"]

    log = await central.command(
        "CP-1", "GetLog", {"logType": "SecurityLog", "requestId": 5, "log": {"remoteLocation": "ftp://127.0.0.1/logs"}}
    )
    assert log["status"] == "Accepted" and log["filename"].startswith("security-CP-1-")
    history = [e for e in await central.wait_event("CP-1", "log", "Uploaded") if e["request_id"] == 5]
    sim_steps = [status for action, status in cp.maintenance.history if action == "LogStatusNotification"]
    assert sim_steps == ["Uploading", "Uploaded"]
    assert [e["status"] for e in history if e["status"] != "Requested"] == sim_steps
    assert [e["status"] for e in history if e["status"] == "Requested"] == ["Requested"]

    firmware = {
        "location": "http://127.0.0.1/fw-4.0.bin",
        "retrieveDateTime": in_(0),
        "signingCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "signature": "c2lnbmF0dXJl",
    }
    bad = await central.command(
        "CP-1", "SignedUpdateFirmware", {"requestId": 8, "firmware": {**firmware, "signingCertificate": "junk"}}
    )
    assert bad == {"status": "InvalidCertificate"}
    answer = await central.command("CP-1", "SignedUpdateFirmware", {"requestId": 9, "firmware": firmware})
    assert answer == {"status": "Accepted"}
    history = await central.wait_event("CP-1", "signed_firmware", "Installed")
    await cp.wait_until(lambda: cp.boot_count == 2 and cp.online)
    sim_steps = [status for action, status in cp.maintenance.history if action == "SignedFirmwareStatusNotification"]
    assert sim_steps == ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed"]
    assert [e["status"] for e in history if e["request_id"] == 9 and e["status"] != "Requested"] == sim_steps
    assert [e["status"] for e in history if e["request_id"] == 8] == ["InvalidCertificate"]
    assert cp.firmware_version == "fw-4.0"
    detail = await central.charge_point("CP-1")
    assert (detail["firmware_version"], detail["firmware_status"]) == ("fw-4.0", "Installed")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_certificates_installed_listed_and_deleted(
    central: Central, station: StationFactory, tmp_path: Path
) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    await asyncio.to_thread(
        subprocess.run,
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=Voltline Test Root",
            "-set_serial", "0xBEEF",
        ],
        check=True,
        capture_output=True,
    )
    pem = cert.read_text()
    cp = await station()
    kind = {"certificateType": "CentralSystemRootCertificate"}

    assert await central.command("CP-1", "GetInstalledCertificateIds", kind) == {"status": "NotFound"}
    assert await central.command("CP-1", "InstallCertificate", {**kind, "certificate": pem}) == {"status": "Accepted"}
    assert await central.command("CP-1", "InstallCertificate", {**kind, "certificate": "nope"}) == {"status": "Rejected"}
    ids = await central.command("CP-1", "GetInstalledCertificateIds", kind)
    assert ids["status"] == "Accepted"
    (hash_data,) = ids["certificateHashData"]
    assert hash_data["serialNumber"] == "beef" and hash_data["hashAlgorithm"] == "SHA256"
    assert cp.certificates.ids("CentralSystemRootCertificate") == [hash_data]

    assert await central.command("CP-1", "DeleteCertificate", {"certificateHashData": hash_data}) == {"status": "Accepted"}
    assert cp.certificates.ids("CentralSystemRootCertificate") == []
    assert await central.command("CP-1", "DeleteCertificate", {"certificateHashData": hash_data}) == {"status": "NotFound"}
    assert await central.command("CP-1", "CertificateSigned", {"certificateChain": pem}) == {"status": "Rejected"}
    assert await central.command("CP-1", "GetInstalledCertificateIds", kind) == {"status": "NotFound"}


# -- a lost connection --------------------------------------------------------------------------------


async def test_a_session_survives_a_lost_connection(
    central: Central, station: StationFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line breaks at the worst moment: the server has stored the StartTransaction but its
    answer never reaches the station. The station queues everything that follows and delivers it
    in order after reconnecting, the StartTransaction again first; the server ends with one
    transaction and every sample."""
    await central.add_tag("TAG-1")
    cp = await station()
    transactions = central.server.services.transactions
    store_start = transactions.start
    cuts: list[int] = []

    async def start_then_lose_the_line(*args: Any, **kwargs: Any) -> Any:
        result = await store_start(*args, **kwargs)
        if not cuts:
            cuts.append(result.transaction_id)
            await cp.drop_connection(reconnect_after=300)  # 0.6 real seconds offline
        return result

    monkeypatch.setattr(transactions, "start", start_then_lose_the_line)

    tx = await cp.plug_in(1, "TAG-1", soc=20)
    assert tx is not None
    await cp.wait_until(lambda: bool(cuts) and not cp.connected)
    assert tx.transaction_id is None  # the answer was lost with the line
    await cp.wait_until(lambda: len(tx.meter_values) >= 3)
    await cp.stop_charging(1)
    assert tx.meter_stop is not None and tx.transaction_id is None and not cp.connected

    tx_id = await tx.wait_confirmed(timeout=15)
    assert tx_id == cuts[0]
    await cp.wait_until(lambda: cp.outbox.pending_persistent == 0, timeout=15)
    stored = await central.wait_stopped(tx_id)
    assert cp.connections == 2 and cp.boot_count == 1  # a reconnect, not a reboot

    starts = await central.received("CP-1", "StartTransaction")
    assert len(starts) == 2 and starts[0] == starts[1]  # repeated, and recognised as the same
    assert [x["id"] for x in await central.transactions("CP-1")] == [tx_id]
    assert (stored["meter_start"], stored["meter_stop"], stored["stop_reason"]) == (tx.meter_start, tx.meter_stop, "Local")
    assert stored["energy_wh"] == tx.energy_wh > 0
    periodic = [s for s in stored["meter_values"] if s["context"] == "Sample.Periodic"]
    assert len(periodic) == sum(len(v["sampledValue"]) for v in tx.meter_values)
    assert _energy(periodic) == [
        float(v["value"]) for mv in tx.meter_values for v in mv["sampledValue"] if v["measurand"] == ENERGY
    ]
    # In order on the wire: the repeated start, every sample, then the stop, all for this transaction.
    actions = await central.actions("CP-1")
    session = [a for a in actions if a in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert session == ["StartTransaction", "StartTransaction", *["MeterValues"] * len(tx.meter_values), "StopTransaction"]
    meter_values = await central.received("CP-1", "MeterValues")
    assert [m["meterValue"][0] for m in meter_values] == tx.meter_values
    assert all(m["transactionId"] == tx_id for m in meter_values)
