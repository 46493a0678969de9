"""Charging sessions end to end: local start, remote start/stop, reservations, smart charging,
local list, and transaction messages that survive a lost connection."""

from datetime import UTC, datetime, timedelta

from ocpp.v16 import call

FAST = {"speed": 500.0, "meter_interval": 10}


def _register(meter_value):
    return next(
        int(v["value"]) for v in meter_value["sampledValue"] if v["measurand"] == "Energy.Active.Import.Register"
    )


def _statuses(csms, identity, connector_id):
    return [p["status"] for p in csms.messages(identity, "StatusNotification") if p["connectorId"] == connector_id]


def _in(seconds):
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def test_a_whole_session_with_meter_values(csms, make_simulator):
    async with make_simulator(connectors=2, **FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1", energy_kwh=0.5, soc=50)
        assert tx is not None
        tx_id = await tx.wait_confirmed()
        await cp.wait_for_status(1, "SuspendedEV", timeout=20)  # the EV got what it wanted
        await cp.stop_charging(1)
        await cp.unplug(1)
        stop = await csms.wait_message("CP-1", "StopTransaction")
        await csms.wait_for(lambda: _statuses(csms, "CP-1", 1)[-1] == "Available")

    actions = csms.actions("CP-1")
    assert actions.index("Authorize") < actions.index("StartTransaction")
    start = csms.messages("CP-1", "StartTransaction")[0]
    assert start["idTag"] == "TAG1" and start["connectorId"] == 1
    assert _statuses(csms, "CP-1", 1) == ["Available", "Preparing", "Charging", "SuspendedEV", "Finishing", "Available"]

    meter_values = csms.messages("CP-1", "MeterValues")
    assert len(meter_values) >= 3
    assert all(m["transactionId"] == tx_id and m["connectorId"] == 1 for m in meter_values)
    registers = [_register(m["meterValue"][0]) for m in meter_values]
    assert registers == sorted(registers)
    assert start["meterStart"] <= registers[0] <= registers[-1] <= stop["meterStop"]
    first = meter_values[0]["meterValue"][0]["sampledValue"]
    measurands = {(v["measurand"], v.get("phase")) for v in first}
    assert {("Energy.Active.Import.Register", None), ("Power.Active.Import", None), ("SoC", None)} <= measurands
    assert {("Current.Import", p) for p in ("L1", "L2", "L3")} <= measurands
    assert {("Voltage", p) for p in ("L1", "L2", "L3")} <= measurands
    power = next(float(v["value"]) for v in first if v["measurand"] == "Power.Active.Import")
    assert power == 11000.0  # below 80 % the EV draws its on-board charger's maximum

    assert stop["transactionId"] == tx_id
    assert stop["reason"] == "Local"
    assert abs(stop["meterStop"] - start["meterStart"] - 500) <= 1
    contexts = [m["sampledValue"][0]["context"] for m in stop["transactionData"]]
    assert contexts == ["Transaction.Begin", "Transaction.End"]
    assert tx.energy_wh == stop["meterStop"] - start["meterStart"]


async def test_power_tapers_near_a_full_battery(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1", battery_kwh=10, soc=90, unplug_when_full=True)
        await tx.wait_confirmed()
        stop = await csms.wait_message("CP-1", "StopTransaction", timeout=20)
    powers = [
        float(v["value"])
        for m in csms.messages("CP-1", "MeterValues")
        for v in m["meterValue"][0]["sampledValue"]
        if v["measurand"] == "Power.Active.Import"
    ]
    assert powers[0] < 11000.0
    assert powers == sorted(powers, reverse=True)
    assert stop["reason"] == "EVDisconnected"
    assert abs(stop["meterStop"] - tx.meter_start - 1000) <= 1  # 10 % of 10 kWh


async def test_remote_start_and_stop(csms, make_simulator):
    async with make_simulator(connectors=2, **FAST) as sim:
        cp = sim["CP-1"]
        answer = await csms.call("CP-1", call.RemoteStartTransaction(id_tag="R1", connector_id=2))
        assert answer.status == "Accepted"
        start = await csms.wait_message("CP-1", "StartTransaction")
        assert start == {**start, "idTag": "R1", "connectorId": 2}
        tx_id = await cp.connectors[2].transaction.wait_confirmed()
        await csms.wait_status("CP-1", 2, "Charging")

        busy = await csms.call("CP-1", call.RemoteStartTransaction(id_tag="R2", connector_id=2))
        assert busy.status == "Rejected"
        assert (await csms.call("CP-1", call.RemoteStopTransaction(transaction_id=999))).status == "Rejected"
        assert (await csms.call("CP-1", call.RemoteStopTransaction(transaction_id=tx_id))).status == "Accepted"
        stop = await csms.wait_message("CP-1", "StopTransaction")
        assert stop["transactionId"] == tx_id and stop["reason"] == "Remote"
        await cp.wait_for_status(2, "Finishing")


async def test_remote_start_honours_its_charging_profile(csms, make_simulator):
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]},
    }
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        answer = await csms.call(
            "CP-1", call.RemoteStartTransaction(id_tag="R1", connector_id=1, charging_profile=profile)
        )
        assert answer.status == "Accepted"
        await cp.wait_for_status(1, "Charging")
        assert cp.connectors[1].power_w == 10 * 230 * 3
        meter = await csms.wait_message("CP-1", "MeterValues")
        power = next(
            float(v["value"]) for v in meter["meterValue"][0]["sampledValue"] if v["measurand"] == "Power.Active.Import"
        )
        assert power == 6900.0


async def test_remote_start_asks_authorization_when_configured(csms, make_simulator):
    csms.tags["BAD"] = "Blocked"
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        changed = await csms.call("CP-1", call.ChangeConfiguration(key="AuthorizeRemoteTxRequests", value="true"))
        assert changed.status == "Accepted"
        assert (await csms.call("CP-1", call.RemoteStartTransaction(id_tag="BAD", connector_id=1))).status == "Accepted"
        await csms.wait_message("CP-1", "Authorize", lambda p: p["idTag"] == "BAD")
        assert (await csms.call("CP-1", call.RemoteStartTransaction(id_tag="OK", connector_id=1))).status == "Accepted"
        start = await csms.wait_message("CP-1", "StartTransaction")
        assert start["idTag"] == "OK"
        assert [tx.id_tag for tx in cp.transactions] == ["OK"]


async def test_an_invalid_tag_does_not_start(csms, make_simulator):
    csms.tags["STOLEN"] = "Blocked"
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        assert await cp.plug_in(1, "STOLEN") is None
        assert cp.status(1) == "Preparing"
        assert "StartTransaction" not in csms.actions("CP-1")


async def test_reservation_is_honoured(csms, make_simulator):
    async with make_simulator(connectors=2, **FAST) as sim:
        cp = sim["CP-1"]
        reserve = call.ReserveNow(connector_id=1, expiry_date=_in(3600), id_tag="MINE", reservation_id=7)
        assert (await csms.call("CP-1", reserve)).status == "Accepted"
        await csms.wait_status("CP-1", 1, "Reserved")

        assert await cp.plug_in(1, "SOMEONE") is None
        assert cp.status(1) == "Reserved"
        other = await csms.call("CP-1", call.RemoteStartTransaction(id_tag="SOMEONE", connector_id=1))
        assert other.status == "Rejected"
        await cp.unplug(1)

        tx = await cp.plug_in(1, "MINE")
        assert tx is not None and tx.reservation_id == 7
        start = await csms.wait_message("CP-1", "StartTransaction")
        assert start["reservationId"] == 7 and start["idTag"] == "MINE"

        cancel = await csms.call("CP-1", call.CancelReservation(reservation_id=7))
        assert cancel.status == "Rejected"  # consumed by the transaction

        # A reservation that is not used expires by itself.
        short = call.ReserveNow(connector_id=2, expiry_date=_in(20), id_tag="LATE", reservation_id=8)
        assert (await csms.call("CP-1", short)).status == "Accepted"
        await csms.wait_status("CP-1", 2, "Reserved")
        await cp.wait_for_status(2, "Available")
        occupied = call.ReserveNow(connector_id=1, expiry_date=_in(3600), id_tag="X", reservation_id=9)
        assert (await csms.call("CP-1", occupied)).status == "Occupied"


async def test_charging_profiles_cap_power_and_compose(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1", soc=20)
        await tx.wait_confirmed()
        await cp.wait_for_status(1, "Charging")
        assert cp.connectors[1].power_w == 11000.0

        default = {
            "chargingProfileId": 10,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "startSchedule": _in(-60),
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 4000}],
            },
        }
        answer = await csms.call("CP-1", call.SetChargingProfile(connector_id=0, cs_charging_profiles=default))
        assert answer.status == "Accepted"
        await cp.wait_until(lambda: cp.connectors[1].power_w == 4000.0)

        pause = {
            "chargingProfileId": 11,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}]},
        }
        answer = await csms.call("CP-1", call.SetChargingProfile(connector_id=1, cs_charging_profiles=pause))
        assert answer.status == "Accepted"
        await csms.wait_status("CP-1", 1, "SuspendedEVSE")

        schedule = await csms.call(
            "CP-1", call.GetCompositeSchedule(connector_id=1, duration=600, charging_rate_unit="W")
        )
        assert schedule.status == "Accepted"
        periods = schedule.charging_schedule["charging_schedule_period"]
        assert [(p["start_period"], float(p["limit"])) for p in periods] == [(0, 0.0)]

        cleared = await csms.call("CP-1", call.ClearChargingProfile(id=11))
        assert cleared.status == "Accepted"
        await csms.wait_for(lambda: _statuses(csms, "CP-1", 1)[-1] == "Charging")
        assert cp.connectors[1].power_w == 4000.0
        schedule = await csms.call(
            "CP-1", call.GetCompositeSchedule(connector_id=1, duration=600, charging_rate_unit="A")
        )
        periods = schedule.charging_schedule["charging_schedule_period"]
        assert [(p["start_period"], float(p["limit"])) for p in periods] == [(0, 5.8)]

        unknown = await csms.call("CP-1", call.ClearChargingProfile(id=99))
        assert unknown.status == "Unknown"
        # A TxProfile needs a running transaction on its connector.
        assert cp.status(1) == "Charging"
        orphan = await csms.call("CP-1", call.SetChargingProfile(connector_id=0, cs_charging_profiles=pause))
        assert orphan.status == "Rejected"


async def test_composite_schedule_follows_the_profile_periods(csms, make_simulator):
    async with make_simulator(speed=1.0) as sim:
        start = datetime.now(UTC).replace(microsecond=0)
        profile = {
            "chargingProfileId": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "startSchedule": start.isoformat().replace("+00:00", "Z"),
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}, {"startPeriod": 3600, "limit": 8}],
                "duration": 7200,
            },
        }
        assert (
            await csms.call("CP-1", call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))
        ).status == "Accepted"
        answer = await csms.call(
            "CP-1", call.GetCompositeSchedule(connector_id=1, duration=10800, charging_rate_unit="A")
        )
        periods = answer.charging_schedule["charging_schedule_period"]
        # 16 A, then 8 A after an hour, then the hardware limit (32 A) once the schedule ends.
        assert [float(p["limit"]) for p in periods] == [16.0, 8.0, 32.0]
        assert 3590 <= periods[1]["start_period"] <= 3600
        assert periods[2]["start_period"] - periods[1]["start_period"] == 3600
        assert sim["CP-1"].profiles.installed[0].id == 3


async def test_local_list_versions_and_use(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        assert (await csms.call("CP-1", call.GetLocalListVersion())).list_version == 0
        full = call.SendLocalList(
            list_version=1,
            update_type="Full",
            local_authorization_list=[
                {"idTag": "A", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "B", "idTagInfo": {"status": "Blocked"}},
            ],
        )
        assert (await csms.call("CP-1", full)).status == "Accepted"
        stale = call.SendLocalList(list_version=1, update_type="Differential", local_authorization_list=[])
        assert (await csms.call("CP-1", stale)).status == "VersionMismatch"
        diff = call.SendLocalList(
            list_version=2,
            update_type="Differential",
            local_authorization_list=[{"idTag": "B"}, {"idTag": "C", "idTagInfo": {"status": "Accepted"}}],
        )
        assert (await csms.call("CP-1", diff)).status == "Accepted"
        assert (await csms.call("CP-1", call.GetLocalListVersion())).list_version == 2
        assert set(cp.local_list.entries) == {"A", "C"}

        # With LocalPreAuthorize a tag on the list starts without asking the central system.
        await csms.call("CP-1", call.ChangeConfiguration(key="LocalPreAuthorize", value="true"))
        tx = await cp.plug_in(1, "C")
        assert tx is not None
        await tx.wait_confirmed()
        assert "Authorize" not in csms.actions("CP-1")


async def test_offline_transaction_messages_are_delivered_in_order(csms, make_simulator):
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1", soc=20)
        tx_id = await tx.wait_confirmed()
        await csms.wait_message("CP-1", "MeterValues")
        # Drop the line between two messages (a message whose answer is lost is rightly sent twice).
        await cp.wait_until(lambda: cp.outbox.pending_persistent == 0)

        csms.refuse = True
        await cp.drop_connection()
        await cp.wait_until(lambda: not cp.connected)
        offline_from = len(tx.meter_values)
        await cp.wait_until(lambda: len(tx.meter_values) >= offline_from + 3)
        await cp.stop_charging(1)
        assert cp.outbox.pending_persistent >= 4  # the samples and the StopTransaction wait

        csms.refuse = False
        stop = await csms.wait_message("CP-1", "StopTransaction", timeout=20)
        await cp.wait_until(lambda: cp.outbox.pending_persistent == 0)

    assert stop["transactionId"] == tx_id
    assert csms.connects >= 2
    assert csms.actions("CP-1").count("BootNotification") == 1  # a reconnect is no reboot
    received = csms.messages("CP-1", "MeterValues")
    # Every sample, in order; one in flight when the line broke may rightly arrive twice.
    delivered = [m["meterValue"][0] for i, m in enumerate(received) if i == 0 or m != received[i - 1]]
    assert delivered == tx.meter_values
    stamps = [m["meterValue"][0]["timestamp"] for m in received]
    assert stamps == sorted(stamps)
    assert all(m["transactionId"] == tx_id for m in received)
    ordered = [a for a in csms.actions("CP-1") if a in ("MeterValues", "StopTransaction")]
    assert ordered[-1] == "StopTransaction"


async def test_a_lost_start_transaction_answer_is_repeated(csms, make_simulator):
    csms.lose_start_answers = 1
    async with make_simulator(**FAST) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1")
        tx_id = await tx.wait_confirmed(timeout=20)
        await csms.wait_message("CP-1", "MeterValues", lambda p: p.get("transactionId") == tx_id)
    starts = csms.messages("CP-1", "StartTransaction")
    assert len(starts) == 2 and starts[0] == starts[1]
    assert len(csms.start_keys) == 1
    assert tx_id == next(iter(csms.start_keys.values()))
