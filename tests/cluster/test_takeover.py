"""Charge points between real nodes: a graceful stop shows its charge points offline at once,
two connections of one identity end with one, a charge point moving mid-transaction loses
nothing, and what an operator changes on one node holds on another."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime

import httpx
import websockets

from tests.cluster.harness import Cluster, ClusterNode, until
from tests.ocpp_client import OcppClient
from tests.web.conftest import csrf_of, log_in
from voltline.cluster.connection import Keys, connect
from voltline.cluster.presence import Presence

EXPIRY = "30"  # long: what these tests see comes from the nodes themselves, not from an expiry


async def connected(node: ClusterNode, identity: str) -> bool:
    async with node.api() as api:
        response = await api.get(f"/api/v1/charge-points/{identity}")
        return response.status_code == 200 and response.json()["connected"] is True


def _open(client: OcppClient) -> bool:
    return client.ws.close_code is None


async def test_a_node_stopped_gracefully_leaves_at_once(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=EXPIRY)
    client = await OcppClient.connect(f"{a.ocpp_url}/CP-LEAVING")
    await client.boot()
    redis = connect(cluster.redis.url)
    watcher = Presence(redis, "test", float(EXPIRY), Keys())
    try:

        async def held_by_a() -> bool:
            holder = await watcher.holder("CP-LEAVING")
            return holder is not None and holder.node == "A"

        await until(held_by_a, what="A did not record CP-LEAVING")
        assert await connected(b, "CP-LEAVING")
        await a.stop()  # SIGTERM; returns once the process is gone
        # At once, not after the 30-s expiry: nothing in Redis names A, and B shows it offline.
        assert not await redis.exists(Keys().node("A"))
        assert b"A" not in await redis.smembers(f"{Keys().prefix}nodes")
        assert not await redis.exists(Keys().presence("CP-LEAVING"))
        assert not await connected(b, "CP-LEAVING")
    finally:
        await redis.aclose()
        await client.close()


async def test_connections_of_one_identity_to_two_nodes_at_once_end_with_one(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=EXPIRY)
    identities = [f"CP-RACE-{n}" for n in range(24)]
    pairs: dict[str, tuple[OcppClient, OcppClient]] = {}
    redis = connect(cluster.redis.url)
    watcher = Presence(redis, "test", float(EXPIRY), Keys())
    try:
        for identity in identities:  # each pair connects at the same time
            pairs[identity] = await asyncio.gather(  # type: ignore[assignment]
                OcppClient.connect(f"{a.ocpp_url}/{identity}"), OcppClient.connect(f"{b.ocpp_url}/{identity}"),
            )

        async def one_each() -> bool:
            return all(sum(map(_open, pair)) <= 1 for pair in pairs.values())

        await until(one_each, what="both connections of a charge point stayed open")
        winners: dict[str, str] = {}
        for identity, (on_a, on_b) in pairs.items():
            survivor, node = (on_a, "A") if _open(on_a) else (on_b, "B")
            assert _open(survivor), f"neither connection of {identity} is open"
            await survivor.boot()
            await survivor.ok("Heartbeat", {})
            holder = await watcher.holder(identity)
            assert holder is not None and holder.node == node
            winners[identity] = node
        for identity in identities:
            assert await connected(a, identity) and await connected(b, identity)

        # What the database says is the winner's too: A's stop leaves B's charge points online.
        await a.stop()
        for identity, node in winners.items():
            assert await connected(b, identity) is (node == "B"), identity
    finally:
        await redis.aclose()
        for pair in pairs.values():
            for client in pair:
                await client.close()


async def _meter(client: OcppClient, transaction_id: int, wh: int) -> None:
    await client.ok("MeterValues", {
        "connectorId": 1, "transactionId": transaction_id,
        "meterValue": [{"timestamp": datetime.now(UTC).isoformat(), "sampledValue": [
            {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}],
    })


async def test_a_charge_point_moving_to_another_node_mid_transaction_completes_it(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=EXPIRY)
    async with a.api() as api:
        assert (await api.post("/api/v1/id-tags", json={"id_tag": "TAG-MOVE", "status": "Accepted"})).status_code == 201
    on_a = await OcppClient.connect(f"{a.ocpp_url}/CP-MOVE")
    await on_a.boot()
    started = await on_a.ok("StartTransaction", {
        "connectorId": 1, "idTag": "TAG-MOVE", "meterStart": 1000, "timestamp": datetime.now(UTC).isoformat(),
    })
    assert started["idTagInfo"]["status"] == "Accepted"
    transaction_id = started["transactionId"]
    await _meter(on_a, transaction_id, 1500)

    # It reconnects through B before A noticed its old connection went: B takes it over.
    on_b = await OcppClient.connect(f"{b.ocpp_url}/CP-MOVE")
    try:
        await on_b.boot()
        await asyncio.wait_for(on_a.ws.wait_closed(), 10)
        await _meter(on_b, transaction_id, 2200)
        stopped = await on_b.ok("StopTransaction", {
            "transactionId": transaction_id, "meterStop": 2500, "timestamp": datetime.now(UTC).isoformat(),
            "idTag": "TAG-MOVE", "reason": "Local",
        })
        assert stopped["idTagInfo"]["status"] == "Accepted"
        async with a.api() as api:

            async def complete() -> bool:
                detail = (await api.get(f"/api/v1/transactions/{transaction_id}")).json()
                return detail["stopped_at"] is not None and len(detail["meter_values"]) >= 2

            await until(complete, what="the transaction was not completed with both meter values")
            detail = (await api.get(f"/api/v1/transactions/{transaction_id}")).json()
        assert detail["charge_point_id"] == "CP-MOVE"
        assert (detail["meter_start"], detail["meter_stop"], detail["energy_wh"]) == (1000, 2500, 1500)
        assert detail["stop_reason"] == "Local"
        assert sorted(float(v["value"]) for v in detail["meter_values"]
                      if v["measurand"] == "Energy.Active.Import.Register") == [1500, 2200]
        assert await connected(a, "CP-MOVE")  # the takeover left it online
    finally:
        await on_a.close()
        await on_b.close()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def test_an_api_token_revoked_on_one_node_stops_working_on_another(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=EXPIRY)
    env = {**a.env, "VOLTLINE_USER_PASSWORD": "correct horse battery"}
    made = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "user", "create", "operator", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await made.communicate()
    assert made.returncode == 0, err.decode()
    async with httpx.AsyncClient(base_url=a.http_url, timeout=30) as web:
        login = await web.post("/login", data={
            "username": "operator", "password": "correct horse battery", "next": "/",
            "csrf_token": _csrf((await web.get("/login")).text),
        })
        assert login.status_code == 303, login.text
        page = await web.post("/admin/tokens", data={"name": "to revoke", "csrf_token": _csrf((await web.get("/admin/tokens")).text)})
        found = re.search(r'id="token-secret">([^<]+)<', page.text)
        assert found, page.text[:2000]
        secret = found.group(1)
        token_id = max(int(n) for n in re.findall(r"/admin/tokens/(\d+)/revoke", page.text))

        async with httpx.AsyncClient(base_url=b.http_url, headers={"Authorization": f"Bearer {secret}"}) as on_b:
            assert (await on_b.get("/api/v1/charge-points")).status_code == 200  # B trusts it (cached)
            confirm = await web.get(f"/admin/tokens/{token_id}/revoke")
            revoked = await web.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": _csrf(confirm.text)})
            assert revoked.status_code == 303, revoked.text

            async def refused() -> bool:
                return (await on_b.get("/api/v1/charge-points")).status_code == 401

            # Sooner than B's own recheck of a cached token (5 s) would notice.
            await until(refused, seconds=4, what="node B still accepted a token revoked on A")


async def test_a_charge_point_blocked_through_one_node_is_refused_by_another(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=EXPIRY, auto_register="false")
    async with a.api() as api:
        created = await api.post("/api/v1/charge-points", json={"id": "CP-BLOCK"})
        assert created.status_code == 201, created.text

        async def accepted_on_b() -> bool:
            try:
                client = await OcppClient.connect(f"{b.ocpp_url}/CP-BLOCK")
            except websockets.InvalidStatus:
                return False
            try:
                return (await client.boot())["status"] == "Accepted"
            finally:
                await client.close()

        await until(accepted_on_b, what="node B did not accept a charge point registered on A")
        blocked = await api.patch("/api/v1/charge-points/CP-BLOCK", json={"registration_status": "Rejected"})
        assert blocked.status_code == 200, blocked.text

        async def rejected_on_b() -> bool:
            return not await accepted_on_b()

        await until(rejected_on_b, what="node B still accepted a charge point blocked on A")


async def test_a_dashboard_session_works_on_every_node_and_a_logout_on_one_ends_it_on_all(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B")
    created = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "user", "create", "operator",
        env={**a.env, "VOLTLINE_USER_PASSWORD": "a long password"}, stdout=asyncio.subprocess.DEVNULL,
    )
    assert await created.wait() == 0
    async with httpx.AsyncClient(base_url=a.http_url, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b.http_url, timeout=30) as on_b:
        assert (await log_in(on_a, "operator", "a long password")).status_code == 303
        on_b.cookies = on_a.cookies  # the same browser, sent to another node by the load balancer
        assert (await on_b.get("/charge-points")).status_code == 200  # signed with the shared secret_key

        home = await on_a.get("/charge-points")
        assert (await on_a.post("/logout", data={"csrf_token": csrf_of(home.text)})).status_code == 303
        refused = await on_b.get("/charge-points")
        assert refused.status_code in (302, 303, 307) and "/login" in refused.headers["location"]


async def test_a_charge_point_deleted_through_one_node_is_disconnected_by_the_node_holding_it(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=EXPIRY)
    client = await OcppClient.connect(f"{b.ocpp_url}/CP-GONE")
    try:
        await client.boot()
        await until(lambda: connected(a, "CP-GONE"), what="node A does not see CP-GONE connected on B")
        async with a.api() as api:
            assert (await api.delete("/api/v1/charge-points/CP-GONE")).status_code == 204

        async def closed() -> bool:
            return not _open(client)

        await until(closed, seconds=10, what="node B kept the deleted charge point connected")
    finally:
        await client.close()
