"""A boot is Accepted only when the charge point's row is written; what the registry in memory
says agrees with the database, also after an outage, under every boot policy and after a crash."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from tests.integration.test_bad_input import _outage
from tests.ocpp_client import OcppClient
from voltline.store import tables as t

STATUS = {"connectorId": 1, "status": "Available", "errorCode": "NoError"}


async def _row(server, identity: str):  # type: ignore[no-untyped-def]
    return await server.store.fetch_one(sa.select(t.charge_points).where(t.charge_points.c.id == identity))


async def test_a_boot_whose_row_is_gone_is_not_accepted(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-GONE")
    client = await connect("CP-GONE")
    assert (await client.boot())["status"] == "Accepted"
    # Deleted while its connection is still open: a boot queued meanwhile finds no row to update.
    await server.services.charge_points.delete("CP-GONE")
    answer = await client.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    assert answer[0] == 4 and answer[2] == "InternalError", answer
    assert await _row(server, "CP-GONE") is None


async def test_with_auto_registration_a_boot_whose_row_is_gone_writes_it(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(auto_register=True)
    await server.services.charge_points.register("CP-AGAIN")
    client = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-AGAIN")
    try:
        await client.boot()
        await server.services.charge_points.delete("CP-AGAIN")
        assert (await client.boot("ACME", "Again"))["status"] == "Accepted"
        row = await _row(server, "CP-AGAIN")
        assert row is not None and row.model == "Again" and row.connected
        assert await client.ok("StatusNotification", STATUS) == {}
    finally:
        await client.close()


async def test_a_charge_point_auto_registered_while_the_database_is_away_recovers_by_booting_again(  # type: ignore[no-untyped-def]
    start_server, database_url
) -> None:
    server = await start_server(auto_register=True)
    async with _outage(database_url):
        client = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-OUTAGE")
        # Behind its connection record in the same ordered lane: both fail (on SQLite each after
        # waiting for the lock).
        await client.send_raw(json.dumps([2, "boot-1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]))
        answer = await client.receive(timeout=120)
        assert answer[0] == 4 and answer[2] == "InternalError", answer
    try:
        assert not server.services.charge_points.is_registered("CP-OUTAGE")
        # The charge point retries its boot, as OCPP has it do; no restart of the server needed.
        for _ in range(50):
            answer = await client.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
            if answer[0] == 3:
                break
            await asyncio.sleep(0.2)
        assert answer[0] == 3 and answer[2]["status"] == "Accepted", answer
        row = await _row(server, "CP-OUTAGE")
        assert row is not None and row.vendor == "V" and row.connected and row.connected_node == server.node_id
        assert server.services.charge_points.is_registered("CP-OUTAGE")
        assert await client.ok("StatusNotification", STATUS) == {}
        started = await client.ok(
            "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-11-01T10:00:00Z"}
        )
        assert isinstance(started["transactionId"], int)
        connectors = await server.store.fetch_all(
            sa.select(t.connectors.c.status).where(t.connectors.c.charge_point_id == "CP-OUTAGE")
        )
        assert [c.status for c in connectors] == ["Available"]
    finally:
        await client.close()


async def test_reject_unknown_records_a_new_charge_point_rejected_for_an_operator_to_accept(start_server) -> None:  # type: ignore[no-untyped-def]
    server = await start_server(auto_register=True, boot_policy="reject-unknown")
    await server.services.charge_points.register("CP-KNOWN")
    known = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-KNOWN")
    stranger = await OcppClient.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-STRANGER")
    try:
        assert (await known.boot())["status"] == "Accepted"
        assert (await stranger.boot("ACME", "Unknown"))["status"] == "Rejected"
        refused = await stranger.call("StatusNotification", STATUS)
        assert refused[0] == 4 and refused[2] == "SecurityError"
        row = await _row(server, "CP-STRANGER")
        assert row is not None and row.registration_status == "Rejected" and row.model == "Unknown"
        await server.services.charge_points.update("CP-STRANGER", registration_status="Accepted")
        assert (await stranger.boot())["status"] == "Accepted"
        assert await stranger.ok("StatusNotification", STATUS) == {}
    finally:
        await known.close()
        await stranger.close()


async def test_a_single_node_clears_connected_flags_left_under_another_node_id(start_server) -> None:  # type: ignore[no-untyped-def]
    first = await start_server()
    await first.services.charge_points.register("CP-STALE")
    # What a crash leaves when the host was renamed before the next start.
    await first.store.write(lambda conn: conn.execute(
        t.charge_points.update().where(t.charge_points.c.id == "CP-STALE").values(connected=True, connected_node="old-host")
    ))
    second = await start_server()
    assert second.node_id != "old-host"
    row = await _row(second, "CP-STALE")
    assert not row.connected and row.connected_node is None
