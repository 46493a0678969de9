"""Id tokens of 2.0.1's width (36 characters) beside 1.6's idTags (20), on SQLite and PostgreSQL:
a 2.0.1 station (the `ocpp` package's v201.ChargePoint) authorizes, is remotely started and
charges with the longest token; a 1.6 charge point is never sent a tag it cannot take — the
operator gets a 400 saying why, and the charge point gets nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import websockets
from ocpp.routing import on
from ocpp.v201 import call, call_result

from tests.integration.test_v201_transactions import Station, by_wire_id, register
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

TOKEN_36 = "04E7C1A2B3D4E5F60718293A4B5C6D7E8F90"  # an eMAID-length token, the longest 2.0.1 allows
PARENT_36 = "FLEET-" + "0" * 30
assert len(TOKEN_36) == len(PARENT_36) == 36


class StartingStation(Station):
    """Accepts RequestStartTransaction, remembering the id tokens it was asked to start with."""

    started_with: list[dict[str, Any]]

    @on("RequestStartTransaction")
    async def on_request_start_transaction(self, id_token: dict[str, Any], remote_start_id: int, **_: Any) -> Any:
        self.started_with.append({"id_token": id_token, "remote_start_id": remote_start_id})
        return call_result.RequestStartTransaction(status="Accepted")


@pytest.fixture
async def station201(server: Any) -> AsyncIterator[Callable[[str], Awaitable[StartingStation]]]:
    opened: list[tuple[Any, asyncio.Task[None]]] = []

    async def connect(identity: str) -> StartingStation:
        await server.services.charge_points.register(identity)
        ws = await websockets.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/{identity}", subprotocols=["ocpp2.0.1"])
        cs = StartingStation(identity, ws)
        cs.asked, cs.started_with = [], []
        opened.append((ws, asyncio.create_task(cs.start())))
        return cs

    yield connect
    for ws, task in opened:
        task.cancel()
        await ws.close()


async def create_tag(api: Any, **tag: Any) -> None:
    answer = await api.post("/api/v1/id-tags", json=tag)
    assert answer.status_code == 201, answer.text


async def test_a_36_character_token_authorizes_starts_and_stops_a_201_transaction(server, station201, api) -> None:  # type: ignore[no-untyped-def]
    await create_tag(api, id_tag=PARENT_36)
    await create_tag(api, id_tag=TOKEN_36, parent_id_tag=PARENT_36, token_type="eMAID")
    assert (await api.get(f"/api/v1/id-tags/{TOKEN_36}")).json()["parent_id_tag"] == PARENT_36
    cs = await station201("CS-LONG")

    authorized = await cs.call(call.Authorize(id_token={"id_token": TOKEN_36, "type": "eMAID"}))
    assert authorized.id_token_info["status"] == "Accepted"
    assert authorized.id_token_info["group_id_token"]["id_token"] == PARENT_36

    # Remotely started with it: the station is sent the whole token.
    answer = await api.post("/api/v1/charge-points/CS-LONG/remote-start", json={"id_tag": TOKEN_36, "evse_id": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "Accepted" and answer.json()["remote_start"]["id_tag"] == TOKEN_36
    sent = cs.started_with[0]
    assert sent["id_token"] == {"id_token": TOKEN_36, "type": "eMAID"}

    started = await cs.event("Started", 0, "tx-long", trigger="RemoteStart", token=TOKEN_36, token_type="eMAID",
                             info={"remote_start_id": sent["remote_start_id"]}, meter=[register(1000, 0)])
    assert started.id_token_info["status"] == "Accepted"
    ended = await cs.event("Ended", 1, "tx-long", minutes=30, token=TOKEN_36, token_type="eMAID",
                           info={"stopped_reason": "Local"}, meter=[register(3000, 30)])
    assert ended.id_token_info["status"] == "Accepted"

    tx = await by_wire_id(api, "tx-long")
    assert tx["id_tag"] == TOKEN_36 and tx["id_token_type"] == "eMAID" and tx["energy_wh"] == 2000
    assert tx["remote_start_id"] == sent["remote_start_id"] and tx["status"] == "Stopped"
    stop_tag = await server.store.fetch_one(sa.select(t.transactions.c.stop_id_tag).where(t.transactions.c.id == tx["id"]))
    assert stop_tag.stop_id_tag == TOKEN_36
    listed = (await api.get("/api/v1/transactions", params={"id_tag": TOKEN_36})).json()["items"]
    assert [item["id"] for item in listed] == [tx["id"]]
    # A token nobody knows, as long: stored with its verdict (on PostgreSQL the 20-character
    # column once failed the write and the station got InternalError).
    unknown = await cs.event("Started", 0, "tx-stranger", minutes=40, evse=2, token="S" * 36, token_type="eMAID")
    assert unknown.id_token_info["status"] == "Unknown"
    assert (await by_wire_id(api, "tx-stranger"))["id_tag"] == "S" * 36
    # The report rollups hold it too (they are written a few seconds later: now, here).
    await server.services.rollups.flush()
    by_tag = (await api.get("/api/v1/reports/energy/by-id-tag", params={
        "tz": "UTC", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"})).json()
    assert {item["id_tag"]: item["energy_wh"] for item in by_tag["items"]}[TOKEN_36] == 2000.0


async def test_a_16_charge_point_is_refused_tags_longer_than_20_with_a_400_and_sent_nothing(server, api, connect) -> None:  # type: ignore[no-untyped-def]
    await create_tag(api, id_tag=TOKEN_36)
    await create_tag(api, id_tag="CARD-20-CHARACTERS-X", parent_id_tag=TOKEN_36)
    assert (await api.post("/api/v1/charge-points", json={"id": "CP-16"})).status_code == 201
    cp = await connect("CP-16")
    await cp.boot()
    await cp.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})

    remote = await api.post("/api/v1/charge-points/CP-16/remote-start", json={"id_tag": TOKEN_36, "connector_id": 1})
    assert remote.status_code == 400, remote.text
    assert "at most 20" in remote.text and "1.6" in remote.text
    expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    reserve = await api.post("/api/v1/reservations", json={
        "charge_point_id": "CP-16", "connector_id": 1, "id_tag": TOKEN_36, "expiry_date": expiry})
    assert reserve.status_code == 400 and "at most 20" in reserve.text, reserve.text
    # A parent the charge point cannot hold is refused as well.
    reserve = await api.post("/api/v1/reservations", json={
        "charge_point_id": "CP-16", "connector_id": 1, "id_tag": "CARD-20-CHARACTERS-X", "parent_id_tag": TOKEN_36,
        "expiry_date": expiry})
    assert reserve.status_code == 400 and "parentIdTag" in reserve.text, reserve.text
    # The local list would carry the long tag: not sent at all, rather than sent without it.
    sync = await api.post("/api/v1/charge-points/CP-16/local-list/sync", json={"update_type": "Full"})
    assert sync.status_code == 400 and TOKEN_36 in sync.text, sync.text
    assert (await server.store.fetch_all(sa.select(t.reservations))) == []
    assert (await api.get("/api/v1/charge-points/CP-16/local-list")).json()["version"] in (None, 0)

    # The first message the charge point gets is the next one it can take.
    cp.auto_answer["RemoteStartTransaction"] = {"status": "Accepted"}
    remote = await api.post("/api/v1/charge-points/CP-16/remote-start",
                            json={"id_tag": "CARD-20-CHARACTERS-X", "connector_id": 1})
    assert remote.status_code == 200 and remote.json()["status"] == "Accepted", remote.text
    first = await cp.next_server_call()
    assert first[2] == "RemoteStartTransaction" and first[3]["idTag"] == "CARD-20-CHARACTERS-X"
    # Its Authorize answer names no parent it could not hold.
    info = (await cp.ok("Authorize", {"idTag": "CARD-20-CHARACTERS-X"}))["idTagInfo"]
    assert info["status"] == "Accepted" and "parentIdTag" not in info
