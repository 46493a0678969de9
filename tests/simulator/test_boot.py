"""Boot, heartbeat and connector status reporting against an independent central system."""

import base64

from voltline.simulator import Simulator


async def test_boot_waits_through_pending_until_accepted(csms, make_simulator):
    csms.boot_script.extend(["Pending", "Pending", "Accepted"])
    async with make_simulator(count=1, connectors=2, wait_accepted=False) as sim:
        cp = sim["CP-1"]
        await cp.wait_accepted()
        boots = csms.messages("CP-1", "BootNotification")
        assert len(boots) == 3
        assert boots[0]["chargePointVendor"] == "Voltline"
        assert boots[0]["firmwareVersion"] == "1.0.0"
        # Nothing but BootNotification while not yet accepted.
        actions = csms.actions("CP-1")
        assert actions[:3] == ["BootNotification"] * 3
        # After acceptance: connector 0 and every connector report their status.
        statuses = [await csms.wait_status("CP-1", c, "Available") for c in (0, 1, 2)]
        assert all(s["errorCode"] == "NoError" for s in statuses)
        assert cp.registration_status == "Accepted"


async def test_heartbeat_follows_the_interval_the_central_system_returned(csms, make_simulator):
    csms.heartbeat_interval = 2
    async with make_simulator(count=2) as sim:
        await csms.wait_for(lambda: len(csms.messages("CP-2", "Heartbeat")) >= 3)
        assert sim["CP-1"].config.get("HeartbeatInterval") == "2"


async def test_heartbeat_override_wins_over_the_boot_interval(csms, make_simulator):
    csms.heartbeat_interval = 3600
    async with make_simulator(heartbeat_interval=2) as sim:
        await csms.wait_for(lambda: len(csms.messages("CP-1", "Heartbeat")) >= 2)
        assert sim["CP-1"].config.get("HeartbeatInterval") == "2"


async def test_basic_auth_and_identity_in_the_url(csms, make_simulator):
    async with make_simulator(identities=["Station 7"], password="s3cret"):
        path, authorization, subprotocol = csms.handshakes[0]
    assert path == "/ocpp/Station%207"
    assert authorization == "Basic " + base64.b64encode(b"Station 7:s3cret").decode()
    assert subprotocol == "ocpp1.6"
    assert csms.messages("Station 7", "BootNotification")


def test_seed_makes_runs_reproducible():
    first = Simulator("ws://127.0.0.1:1/ocpp", count=2, connectors=2, seed=42)
    again = Simulator("ws://127.0.0.1:1/ocpp", count=2, connectors=2, seed=42)
    other = Simulator("ws://127.0.0.1:1/ocpp", count=2, connectors=2, seed=43)

    def registers(sim):
        return [c.register_wh for cp in sim for c in cp.connectors.values()]

    assert registers(first) == registers(again)
    assert registers(first) != registers(other)
    assert [cp.rng.random() for cp in first] == [cp.rng.random() for cp in again]
