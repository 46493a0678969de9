"""The OCPP 1.6J core, driven over real WebSockets against a real server and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import websockets

from tests.ocpp_client import OcppClient
from voltline.store import tables as t
from tests.logged_frames import store_frames

T0 = "2026-11-01T10:00:00Z"


async def rows(server, statement):  # type: ignore[no-untyped-def]
    return await server.store.fetch_all(statement)


async def add_tag(server, id_tag: str, status: str = "Accepted", expiry: datetime | None = None, parent: str | None = None):  # type: ignore[no-untyped-def]
    await server.store.write(
        lambda c: c.execute(t.id_tags.insert().values(id_tag=id_tag, status=status, expiry_date=expiry, parent_id_tag=parent))
    )


# -- handshake --------------------------------------------------------------------------------


async def test_unknown_charge_point_is_refused_at_the_handshake(server, connect) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(websockets.InvalidStatus) as refused:
        await connect("NOBODY")
    assert refused.value.response.status_code == 404


async def test_a_connection_without_a_supported_subprotocol_is_refused(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await connect("CP-1", subprotocols=["ocpp1.5", "ocpp2.1"])
    assert refused.value.response.status_code == 400


async def test_basic_auth_password_is_checked(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-SEC", password="s3cret-passw0rd-16")
    for wrong in (None, "nope"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect("CP-SEC", password=wrong)
        assert refused.value.response.status_code == 401
    client = await connect("CP-SEC", password="s3cret-passw0rd-16")
    assert (await client.boot())["status"] == "Accepted"
    stored = await server.store.fetch_one(sa.select(t.charge_points.c.password_hash))
    assert stored is not None and "s3cret" not in stored.password_hash


async def test_identity_is_the_percent_decoded_last_path_segment(server, connect) -> None:  # type: ignore[no-untyped-def]
    # Unreserved characters may arrive percent-encoded; other characters are refused
    # (tests/gateway/test_handshake_guard.py).
    await server.services.charge_points.register("CP-7_A")
    client = await connect("CP%2D7%5FA")
    await client.boot()
    assert server.gateway.is_connected("CP-7_A")


async def test_auto_registration_accepts_and_records_unknown_charge_points(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(auto_register=True)
    client = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/NEW-1")
    try:
        assert (await client.boot("ACME", "Fast"))["status"] == "Accepted"
        row = await server.store.fetch_one(sa.select(t.charge_points).where(t.charge_points.c.id == "NEW-1"))
        assert row is not None and row.vendor == "ACME" and row.connected
        assert row.connected_node == server.node_id and row.remote_address and row.connected_at is not None
    finally:
        await client.close()


async def test_an_unknown_charge_point_counts_as_registered_once_its_row_is_written(start_server) -> None:  # type: ignore[no-untyped-def]
    # Commands take "registered" from memory; a row that is not committed yet cannot be referred to.
    server = await start_server(auto_register=True)
    store, held = server.store, asyncio.Event()
    execute = store.execute

    async def slow_execute(statement, parameters):  # type: ignore[no-untyped-def]
        await held.wait()
        await execute(statement, parameters)

    store.execute = slow_execute  # type: ignore[method-assign]
    connecting = asyncio.create_task(OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/NEW-2"))
    try:
        for _ in range(200):
            if server.services.charge_points.access("NEW-2") is not None:
                break
            await asyncio.sleep(0.01)
        assert server.services.charge_points.access("NEW-2") is not None  # the handshake knows it
        assert not server.services.charge_points.is_registered("NEW-2")  # but its row is not written yet
        held.set()
        client = await connecting
        for _ in range(200):  # the handshake does not wait for the row; it follows at once
            if server.services.charge_points.is_registered("NEW-2"):
                break
            await asyncio.sleep(0.01)
        assert server.services.charge_points.is_registered("NEW-2")
        assert await server.store.fetch_one(sa.select(t.charge_points.c.id).where(t.charge_points.c.id == "NEW-2"))
        await client.close()
    finally:
        held.set()
        store.execute = execute  # type: ignore[method-assign]


async def test_a_crowd_of_unknown_charge_points_is_registered_and_booted_together(start_server) -> None:  # type: ignore[no-untyped-def]
    # Their connection records and boots reach the store together, as runs of one statement.
    server = await start_server(auto_register=True)
    url = f"ws://127.0.0.1:{server.ocpp_port}/ocpp"
    clients = await asyncio.gather(*(OcppClient.connect(f"{url}/CROWD-{i}") for i in range(20)))
    try:
        boots = await asyncio.gather(*(client.boot("ACME", f"M{i}") for i, client in enumerate(clients)))
        assert [boot["status"] for boot in boots] == ["Accepted"] * 20
        rows = await server.store.fetch_all(
            sa.select(t.charge_points.c.id, t.charge_points.c.model, t.charge_points.c.connected)
            .where(t.charge_points.c.id.like("CROWD-%"))
        )
        assert sorted((row.id, row.model, row.connected) for row in rows) == sorted(
            (f"CROWD-{i}", f"M{i}", True) for i in range(20)
        )
    finally:
        await asyncio.gather(*(client.close() for client in clients))


# -- boot, heartbeat, status ------------------------------------------------------------------


async def test_boot_heartbeat_and_status_are_answered_and_stored(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    boot = await client.ok(
        "BootNotification",
        {
            "chargePointVendor": "ACME",
            "chargePointModel": "Wallbox 22",
            "chargePointSerialNumber": "SN-1",
            "chargeBoxSerialNumber": "BOX-1",
            "firmwareVersion": "1.2.3",
            "iccid": "8931",
            "imsi": "2620",
            "meterType": "EEM",
            "meterSerialNumber": "M-1",
        },
    )
    assert boot["status"] == "Accepted" and boot["interval"] == 300
    assert datetime.fromisoformat(boot["currentTime"]) - datetime.now(UTC) < timedelta(seconds=5)
    beat = await client.ok("Heartbeat", {})
    assert datetime.fromisoformat(beat["currentTime"]).tzinfo is not None
    for connector, status in ((0, "Available"), (1, "Available"), (2, "Faulted")):
        payload = {"connectorId": connector, "status": status, "errorCode": "NoError" if status != "Faulted" else "GroundFailure"}
        if status == "Faulted":
            payload |= {"info": "RCD tripped", "vendorId": "ACME", "vendorErrorCode": "E42", "timestamp": T0}
        assert await client.ok("StatusNotification", payload) == {}

    cp = await server.store.fetch_one(sa.select(t.charge_points).where(t.charge_points.c.id == "CP-1"))
    assert (cp.vendor, cp.model, cp.serial_number, cp.firmware_version, cp.iccid, cp.meter_serial_number) == (
        "ACME", "Wallbox 22", "SN-1", "1.2.3", "8931", "M-1",
    )
    connectors = {r.connector_id: r for r in await rows(server, sa.select(t.connectors))}
    assert set(connectors) == {0, 1, 2}
    assert connectors[2].status == "Faulted" and connectors[2].error_code == "GroundFailure"
    assert connectors[2].vendor_error_code == "E42" and connectors[2].info == "RCD tripped"
    assert connectors[2].status_at == datetime(2026, 11, 1, 10, tzinfo=UTC)


async def test_disconnect_marks_offline_but_keeps_connector_status(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    await client.ok("StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
    client.abort()
    for _ in range(200):
        cp = await server.store.fetch_one(sa.select(t.charge_points.c.connected).where(t.charge_points.c.id == "CP-1"))
        if not cp.connected:
            break
        await asyncio.sleep(0.02)
    assert not cp.connected
    connector = await server.store.fetch_one(sa.select(t.connectors.c.status))
    assert connector.status == "Charging"


async def test_a_second_connection_replaces_the_first(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    first = await connect("CP-1")
    await first.boot()
    second = await connect("CP-1")
    await second.boot()
    await asyncio.wait_for(first.ws.wait_closed(), 5)
    assert (await second.ok("Heartbeat", {}))["currentTime"]
    assert server.gateway.is_connected("CP-1")
    cp = await server.store.fetch_one(sa.select(t.charge_points.c.connected))
    assert cp.connected


async def _silent_connection(server, identity: str) -> asyncio.StreamWriter:  # type: ignore[no-untyped-def]
    """A raw socket that completes the handshake and then never reads or answers a ping again."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ocpp_port)
    writer.write(
        f"GET /ocpp/{identity} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n".encode()
    )
    assert b"101" in await reader.readline()
    for _ in range(40):
        if server.gateway.is_connected(identity):
            break
        await asyncio.sleep(0.05)
    assert server.gateway.is_connected(identity)
    return writer


async def test_silent_charge_point_is_marked_offline_within_one_ping_interval(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(ping_interval=2)
    await server.services.charge_points.register("CP-QUIET")
    writer = await _silent_connection(server, "CP-QUIET")
    loop = asyncio.get_running_loop()
    started = loop.time()
    while server.gateway.is_connected("CP-QUIET") and loop.time() - started < 10:
        await asyncio.sleep(0.1)
    assert not server.gateway.is_connected("CP-QUIET")
    writer.close()


async def test_ping_interval_can_be_switched_off_per_charge_point(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(ping_interval=1)
    await server.services.charge_points.register("CP-NOPING", ping_interval=0)
    await server.services.charge_points.register("CP-PING")
    quiet_without_pings = await _silent_connection(server, "CP-NOPING")
    quiet_with_pings = await _silent_connection(server, "CP-PING")
    await asyncio.sleep(2.5)
    assert server.gateway.is_connected("CP-NOPING")
    assert not server.gateway.is_connected("CP-PING")
    quiet_without_pings.close()
    quiet_with_pings.close()


async def test_registration_pending_refuses_other_messages(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(boot_policy="pending", auto_register=True)
    client = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-NEW")
    try:
        assert (await client.boot())["status"] == "Pending"
        refused = await client.call("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"})
        assert refused[0] == 4 and refused[2] == "SecurityError"
        await server.services.charge_points.update("CP-NEW", registration_status="Accepted")
        assert (await client.boot())["status"] == "Accepted"
        assert await client.ok("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}) == {}
    finally:
        await client.close()


async def test_rejected_charge_point_gets_rejected_boot(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-BAD", registration_status="Rejected")
    client = await connect("CP-BAD")
    assert (await client.boot())["status"] == "Rejected"
    refused = await client.call("Heartbeat", {})
    assert refused[2] == "SecurityError"


# -- authorization ----------------------------------------------------------------------------


async def test_authorize_answers_every_status(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    future = datetime.now(UTC) + timedelta(days=30)
    await add_tag(server, "GOOD", expiry=future, parent="FLEET")
    await add_tag(server, "FLEET")
    await add_tag(server, "BLOCKED", status="Blocked")
    await add_tag(server, "OLD", expiry=datetime.now(UTC) - timedelta(days=1))
    await add_tag(server, "BUSY")
    client = await connect("CP-1")
    await client.boot()

    good = (await client.ok("Authorize", {"idTag": "GOOD"}))["idTagInfo"]
    assert good["status"] == "Accepted" and good["parentIdTag"] == "FLEET"
    assert abs(datetime.fromisoformat(good["expiryDate"]) - future) < timedelta(seconds=1)
    assert (await client.ok("Authorize", {"idTag": "BLOCKED"}))["idTagInfo"]["status"] == "Blocked"
    assert (await client.ok("Authorize", {"idTag": "OLD"}))["idTagInfo"]["status"] == "Expired"
    assert (await client.ok("Authorize", {"idTag": "WHO"}))["idTagInfo"]["status"] == "Invalid"

    await client.ok("StartTransaction", {"connectorId": 1, "idTag": "BUSY", "meterStart": 0, "timestamp": T0})
    # OCPP 1.6 allows ConcurrentTx only in a StartTransaction answer: Authorize says Accepted.
    assert (await client.ok("Authorize", {"idTag": "BUSY"}))["idTagInfo"]["status"] == "Accepted"
    second = await client.ok("StartTransaction", {"connectorId": 2, "idTag": "BUSY", "meterStart": 0, "timestamp": T0})
    assert second["idTagInfo"]["status"] == "ConcurrentTx"


# -- transactions -----------------------------------------------------------------------------


def _meter(ts: str, wh: float, unit: str = "Wh", **extra: str) -> dict:  # type: ignore[type-arg]
    sample = {"value": str(wh), "unit": unit, "measurand": "Energy.Active.Import.Register", **extra}
    return {"timestamp": ts, "sampledValue": [sample, {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"}]}


async def test_a_whole_transaction_with_meter_values_and_energy(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await add_tag(server, "TAG")
    client = await connect("CP-1")
    await client.boot()
    started = await client.ok(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG", "meterStart": 1000, "timestamp": "2026-11-01T10:00:00Z"}
    )
    assert started["idTagInfo"]["status"] == "Accepted"
    tx = started["transactionId"]
    assert isinstance(tx, int)
    await client.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [_meter("2026-11-01T10:15:00Z", 3.5, "kWh")]})
    await client.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
        {"timestamp": "2026-11-01T10:30:00Z", "sampledValue": [{"value": "6000"}, {"value": "11", "unit": "kW", "measurand": "Power.Active.Import", "phase": "L1", "context": "Sample.Clock", "location": "Inlet"}]}
    ]})
    stopped = await client.ok(
        "StopTransaction",
        {
            "transactionId": tx, "meterStop": 9000, "timestamp": "2026-11-01T11:00:00Z", "idTag": "TAG", "reason": "EVDisconnected",
            "transactionData": [{"timestamp": "2026-11-01T11:00:00Z", "sampledValue": [{"value": "9.0", "unit": "kWh", "context": "Transaction.End"}]}],
        },
    )
    assert stopped["idTagInfo"]["status"] == "Accepted"

    row = await server.store.fetch_one(sa.select(t.transactions).where(t.transactions.c.id == tx))
    assert (row.meter_start, row.meter_stop, row.stop_reason) == (1000, 9000, "EVDisconnected")
    assert row.meter_stop - row.meter_start == 8000
    assert row.stopped_at - row.started_at == timedelta(hours=1)
    samples = await rows(server, sa.select(t.meter_values).where(t.meter_values.c.transaction_id == tx).order_by(t.meter_values.c.timestamp, t.meter_values.c.id))
    energy = [(s.value, s.unit, s.raw_value, s.raw_unit) for s in samples if s.measurand == "Energy.Active.Import.Register"]
    assert energy == [(3500.0, "Wh", "3.5", "kWh"), (6000.0, "Wh", "6000", None), (9000.0, "Wh", "9.0", "kWh")]
    defaults = next(s for s in samples if s.raw_value == "6000")
    assert (defaults.context, defaults.location, defaults.format, defaults.phase) == ("Sample.Periodic", "Outlet", "Raw", None)
    power = next(s for s in samples if s.raw_unit == "kW")
    assert (power.value, power.unit, power.phase, power.context, power.location) == (11000.0, "W", "L1", "Sample.Clock", "Inlet")
    end = next(s for s in samples if s.context == "Transaction.End")
    assert end.value == 9000.0


async def test_signed_meter_data_is_stored_as_received(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    blob = "AP;0;3;ALCV3ABBBISHMA2RYEGAZE3HV5YQBQRQAEHAR2MN;BIHEIWSHAAA2W2V7OYYDCNQAAAFACRC2I4ADGAETI4AAAABAOOJYUAGMXEGV4AIAAEEAB7Y6AAO3EAIAAAAAAABQGQ2UINJZGZATGMJTGQ4DAAAAAAAAAACXAAAABKYAAAAA===;"
    await client.ok("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": T0, "sampledValue": [{"value": blob, "format": "SignedData", "unit": "kWh"}]}]})
    sample = await server.store.fetch_one(sa.select(t.meter_values))
    assert sample.raw_value == blob and sample.format == "SignedData" and sample.value is None and sample.raw_unit == "kWh"


async def test_repeated_start_transaction_after_a_dropped_connection_returns_the_same_id(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await add_tag(server, "TAG")
    start = {"connectorId": 1, "idTag": "TAG", "meterStart": 500, "timestamp": T0}
    client = await connect("CP-1")
    await client.boot()
    first = await client.ok("StartTransaction", start)
    client.abort()  # the answer "was lost": the charge point reconnects and sends it again
    again = await connect("CP-1")
    second = await again.ok("StartTransaction", start)
    assert second["transactionId"] == first["transactionId"]
    assert second["idTagInfo"]["status"] == "Accepted"  # not ConcurrentTx with itself
    count = await server.store.fetch_one(sa.select(sa.func.count()).select_from(t.transactions))
    assert count[0] == 1


async def test_transaction_ids_are_unique_across_charge_points(server, connect) -> None:  # type: ignore[no-untyped-def]
    ids = set()
    for n in range(3):
        await server.services.charge_points.register(f"CP-{n}")
        client = await connect(f"CP-{n}")
        await client.boot()
        ids.add((await client.ok("StartTransaction", {"connectorId": 1, "idTag": f"T{n}", "meterStart": 0, "timestamp": T0}))["transactionId"])
    assert len(ids) == 3


async def test_a_meter_value_entry_of_thousands_of_samples_keeps_each_one(server, connect) -> None:  # type: ignore[no-untyped-def]
    """More sampled values in one entry than a reading has places: every one is stored, each
    with an id of its own, in the order sent."""
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    count = t.SAMPLES_PER_READING + 100
    sampled = [{"value": str(n), "measurand": "Voltage", "unit": "V"} for n in range(count)]
    await client.ok("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-01T10:00:00Z", "sampledValue": sampled}]})
    await client.ok("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-01T10:01:00Z", "sampledValue": [{"value": "next"}]}]})
    m = t.meter_values.c
    stored = await rows(server, sa.select(m.id, m.raw_value).where(m.charge_point_id == "CP-1").order_by(m.timestamp, m.id))
    assert [s.raw_value for s in stored] == [str(n) for n in range(count)] + ["next"]
    assert len({s.id for s in stored}) == count + 1


async def test_stop_and_meter_values_arriving_late_after_reconnect(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    await add_tag(server, "TAG")
    client = await connect("CP-1")
    await client.boot()
    tx = (await client.ok("StartTransaction", {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "2026-11-01T08:00:00Z"}))["transactionId"]
    client.abort()
    # Hours later the charge point comes back and empties its queue: the stop first, then a
    # meter value sampled before the stop.
    again = await connect("CP-1")
    await again.boot()
    await again.ok("StopTransaction", {"transactionId": tx, "meterStop": 12000, "timestamp": "2026-11-01T09:00:00Z", "reason": "PowerLoss"})
    await again.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [_meter("2026-11-01T08:30:00Z", 6000)]})
    # A repeated stop changes nothing.
    await again.ok("StopTransaction", {"transactionId": tx, "meterStop": 99999, "timestamp": "2026-11-01T12:00:00Z"})
    row = await server.store.fetch_one(sa.select(t.transactions).where(t.transactions.c.id == tx))
    assert (row.meter_stop, row.stop_reason, row.stopped_at) == (12000, "PowerLoss", datetime(2026, 11, 1, 9, tzinfo=UTC))
    late = await rows(server, sa.select(t.meter_values.c.value).where(t.meter_values.c.transaction_id == tx, t.meter_values.c.measurand == "Energy.Active.Import.Register"))
    assert [r.value for r in late] == [6000.0]


async def test_stop_of_an_unknown_transaction_is_answered_and_logged(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    assert await client.ok("StopTransaction", {"transactionId": 424242, "meterStop": 1, "timestamp": T0}) == {}


async def test_fifty_charge_points_at_once(server) -> None:  # type: ignore[no-untyped-def]
    for n in range(50):
        await server.services.charge_points.register(f"CP-{n:02d}")
    await add_tag(server, "FLEET")

    async def session(n: int) -> int:
        client = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-{n:02d}")
        try:
            await client.boot()
            await client.ok("StatusNotification", {"connectorId": 1, "status": "Preparing", "errorCode": "NoError"})
            tx = (await client.ok("StartTransaction", {"connectorId": 1, "idTag": f"T{n}", "meterStart": 0, "timestamp": T0}))["transactionId"]
            for k in range(1, 4):
                await client.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [_meter(T0, 1000 * k)]})
            await client.ok("StopTransaction", {"transactionId": tx, "meterStop": 3000 + n, "timestamp": "2026-11-01T11:00:00Z"})
            return tx
        finally:
            await client.close()

    ids = await asyncio.gather(*(session(n) for n in range(50)))
    assert len(set(ids)) == 50
    done = await rows(server, sa.select(t.transactions.c.meter_stop).where(t.transactions.c.stopped_at.is_not(None)))
    assert sorted(r.meter_stop for r in done) == [3000 + n for n in range(50)]
    count = await server.store.fetch_one(sa.select(sa.func.count()).select_from(t.meter_values))
    assert count[0] == 50 * 3 * 2


# -- the rest of what a charge point sends ----------------------------------------------------


async def test_notifications_of_firmware_diagnostics_and_security_are_kept(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    await client.ok("FirmwareStatusNotification", {"status": "Downloading"})
    await client.ok("FirmwareStatusNotification", {"status": "Installed"})
    await client.ok("DiagnosticsStatusNotification", {"status": "Uploaded"})
    await client.ok("SecurityEventNotification", {"type": "FirmwareUpdated", "timestamp": T0, "techInfo": "v2"})
    await client.ok("SignedFirmwareStatusNotification", {"status": "SignatureVerified", "requestId": 7})
    await client.ok("LogStatusNotification", {"status": "Uploaded", "requestId": 8})
    cp = await server.store.fetch_one(sa.select(t.charge_points).where(t.charge_points.c.id == "CP-1"))
    assert (cp.firmware_status, cp.diagnostics_status) == ("SignatureVerified", "Uploaded")
    events = [(e.kind, e.status, e.request_id) for e in await rows(server, sa.select(t.charge_point_events).order_by(t.charge_point_events.c.id))]
    assert events == [
        ("firmware", "Downloading", None), ("firmware", "Installed", None), ("diagnostics", "Uploaded", None),
        ("security", "FirmwareUpdated", None), ("signed_firmware", "SignatureVerified", 7), ("log", "Uploaded", 8),
    ]


async def test_data_transfer_from_an_unknown_vendor(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    assert (await client.ok("DataTransfer", {"vendorId": "com.example", "data": "x"}))["status"] == "UnknownVendorId"


async def test_every_frame_is_in_the_message_log(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    await client.call("Nope", {})
    server.services.message_log.flush()
    for _ in range(100):
        logged = await store_frames(server.store)
        if len(logged) >= 4:
            break
        await asyncio.sleep(0.05)
    summary = [(m.direction, m.message_type, m.action, m.error_code) for m in logged]
    assert summary == [
        ("in", 2, "BootNotification", None),
        ("out", 3, "BootNotification", None),
        ("in", 2, "Nope", None),
        ("out", 4, "Nope", "NotImplemented"),
    ]
    # verbatim, as it crossed the wire
    assert logged[0].payload == '[2, "1", "BootNotification", {"chargePointVendor": "Voltline", "chargePointModel": "Test"}]'


async def test_the_api_shows_the_newest_heartbeat_before_it_is_flushed(server, connect, api) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-1")
    client = await connect("CP-1")
    await client.boot()
    beat = datetime.fromisoformat((await client.ok("Heartbeat", {}))["currentTime"])
    shown = (await api.get("/api/v1/charge-points/CP-1")).json()["last_heartbeat_at"]
    assert shown is not None and abs(datetime.fromisoformat(shown) - beat) < timedelta(milliseconds=2)
