"""Commands across nodes: a command issued on one node reaches the node holding the charge point's
connection, and the charge point's answer, its CALLERROR, the timeout or "offline" comes back with
the statuses of one node. The charge point is the `ocpp` package's ChargePoint, not Voltline's
own protocol layer."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import websockets
from ocpp.exceptions import NotSupportedError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from tests.cluster.harness import Cluster, ClusterNode, until
from tests.web.conftest import csrf_of, log_in
from voltline.cluster.connection import Keys, connect

EXPIRY = 1.0
TAG = "TAG-CLUSTER-1"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Station(ChargePoint):
    """A 1.6 charge point with one connector: it starts and stops transactions when asked to,
    refuses UnlockConnector with a CALLERROR, and holds ClearCache unanswered until released."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection, response_timeout=15)
        self.calls: Counter[str] = Counter()  # the CALLs it received, by action
        self.data: list[str] = []  # the data of each DataTransfer it received
        self.transaction_id: int | None = None
        self.stopped = asyncio.Event()
        self.holding = asyncio.Event()  # a ClearCache arrived and is being held
        self.release = asyncio.Event()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, data: str | None = None, **_: Any) -> call_result.DataTransfer:
        self.calls["DataTransfer"] += 1
        self.data.append(data or "")
        return call_result.DataTransfer(status="Accepted", data=f"echo {data}")

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **_: Any) -> call_result.RemoteStartTransaction:
        self.calls["RemoteStartTransaction"] += 1
        return call_result.RemoteStartTransaction(status="Accepted")

    @after(Action.remote_start_transaction)
    async def start_transaction(self, id_tag: str, connector_id: int = 1, **_: Any) -> None:
        await self.call(call.StatusNotification(connector_id=connector_id, error_code="NoError", status="Preparing"))
        answer = await self.call(
            call.StartTransaction(connector_id=connector_id, id_tag=id_tag, meter_start=1000, timestamp=_now())
        )
        self.transaction_id = answer.transaction_id
        await self.call(call.StatusNotification(connector_id=connector_id, error_code="NoError", status="Charging"))

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        self.calls["RemoteStopTransaction"] += 1
        return call_result.RemoteStopTransaction(status="Accepted" if transaction_id == self.transaction_id else "Rejected")

    @after(Action.remote_stop_transaction)
    async def stop_transaction(self, transaction_id: int) -> None:
        await self.call(call.StopTransaction(transaction_id=transaction_id, meter_stop=4500, timestamp=_now(), reason="Remote"))
        self.stopped.set()

    @on(Action.send_local_list)
    def on_send_local_list(self, list_version: int, update_type: str, **_: Any) -> call_result.SendLocalList:
        self.calls["SendLocalList"] += 1
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(list_version=0)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        self.calls["SetChargingProfile"] += 1
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int) -> call_result.UnlockConnector:
        self.calls["UnlockConnector"] += 1
        raise NotSupportedError(description="this connector has no lock")

    @on(Action.clear_cache)
    async def on_clear_cache(self) -> call_result.ClearCache:
        self.calls["ClearCache"] += 1
        self.holding.set()
        await self.release.wait()
        return call_result.ClearCache(status="Accepted")


@contextlib.asynccontextmanager
async def station(node: ClusterNode, identity: str):  # type: ignore[no-untyped-def]
    ws = await websockets.connect(f"{node.ocpp_url}/{identity}", subprotocols=["ocpp1.6"], ping_interval=None)
    cp = Station(identity, ws)
    task = asyncio.create_task(cp.start())
    try:
        boot = await cp.call(call.BootNotification(charge_point_model="Cluster", charge_point_vendor="Voltline"))
        assert boot.status == "Accepted"
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        yield cp
    finally:
        cp.release.set()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await ws.close()


async def command(node: ClusterNode, identity: str, action: str, payload: dict[str, Any], **params: Any) -> Any:
    async with node.api() as api:
        return await api.post(f"/api/v1/charge-points/{identity}/commands/{action}", json=payload, params=params)


async def reachable(node: ClusterNode, identity: str) -> None:
    """Wait until `node` knows where the charge point is: a DataTransfer from it is answered."""

    async def answered() -> bool:
        response = await command(node, identity, "DataTransfer", {"vendorId": "probe", "data": "probe"})
        assert response.status_code in (200, 409, 503), response.text
        return response.status_code == 200

    await until(answered, seconds=15, what=f"node {node.name} could not reach {identity}")


async def test_a_remote_start_issued_on_b_for_a_charge_point_on_c_returns_its_transaction(cluster: Cluster) -> None:
    a, b, c = await cluster.start("A", "B", "C", presence_expiry=str(EXPIRY))
    async with b.api() as api:
        created = await api.post("/api/v1/id-tags", json={"id_tag": TAG, "status": "Accepted"})
        assert created.status_code == 201, created.text
    async with station(c, "CP-ON-C") as cp:
        await reachable(b, "CP-ON-C")
        async with b.api() as api:
            started = await api.post(
                "/api/v1/charge-points/CP-ON-C/remote-start",
                json={"id_tag": TAG, "connector_id": 1, "wait": True, "wait_timeout": 20},
            )
        assert started.status_code == 200, started.text
        result = started.json()
        assert result["status"] == "Accepted"
        assert result["transaction_id"] is not None
        assert result["transaction_id"] == cp.transaction_id  # the charge point's own transaction
        async with a.api() as api:
            transaction = (await api.get(f"/api/v1/transactions/{cp.transaction_id}")).json()
        assert transaction["charge_point_id"] == "CP-ON-C" and transaction["id_tag"] == TAG
        assert transaction["stopped_at"] is None

        # Stopped from a third node; the local list sent from it too.
        async with a.api() as api:
            stopped = await api.post("/api/v1/charge-points/CP-ON-C/remote-stop", json={"transaction_id": cp.transaction_id})
            assert stopped.status_code == 200, stopped.text
            assert stopped.json()["status"] == "Accepted"
            synced = await api.post("/api/v1/charge-points/CP-ON-C/local-list/sync", json={"update_type": "Full"})
            assert synced.status_code == 200, synced.text
            assert synced.json()["status"] == "Accepted"
        await asyncio.wait_for(cp.stopped.wait(), 15)

        async def stored_stopped() -> bool:
            async with b.api() as api:
                row = (await api.get(f"/api/v1/transactions/{cp.transaction_id}")).json()
            return row["stopped_at"] is not None and row["energy_wh"] == 3500

        await until(stored_stopped, what="the remote stop's transaction did not end")
        assert cp.calls["RemoteStartTransaction"] == 1 and cp.calls["RemoteStopTransaction"] == 1
        assert cp.calls["SendLocalList"] == 1

    # Each node counts what crossed: B (its reachability probes, the start) and A forwarded, C ran them.
    probes = cp.calls["DataTransfer"]
    assert await _metric(b, "voltline_cluster_commands_forwarded_total") == probes + 1
    assert await _metric(a, "voltline_cluster_commands_forwarded_total") == 2
    assert await _metric(c, "voltline_cluster_commands_executed_total") == probes + 3
    assert await _metric(c, "voltline_cluster_commands_duplicates_total") == 0


async def _metric(node: ClusterNode, name: str) -> float:
    async with httpx.AsyncClient(base_url=node.http_url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    [value] = [line.split()[1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(value)


async def test_a_callerror_and_a_timeout_come_back_with_the_statuses_of_one_node(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    async with station(a, "CP-ERR") as cp:
        await reachable(b, "CP-ERR")
        answered = await command(b, "CP-ERR", "DataTransfer", {"vendorId": "test", "data": "hello"})
        assert answered.status_code == 200 and answered.json() == {"status": "Accepted", "data": "echo hello"}

        # Smart charging from B: the profile is sent to the charge point on A and stored.
        async with b.api() as api:
            installed = await api.post("/api/v1/charging-profiles", json={
                "charge_point_id": "CP-ERR", "connector_id": 0, "charging_profile": {
                    "charging_profile_id": 7, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile",
                    "charging_profile_kind": "Relative",
                    "charging_schedule": {"charging_rate_unit": "W", "charging_schedule_period": [{"start_period": 0, "limit": 3000}]},
                }})
        assert installed.status_code == 200, installed.text
        assert installed.json()["status"] == "Accepted" and installed.json()["charging_profile"] is not None
        assert cp.calls["SetChargingProfile"] == 1

        remote = await command(b, "CP-ERR", "UnlockConnector", {"connectorId": 1})
        local = await command(a, "CP-ERR", "UnlockConnector", {"connectorId": 1})
        assert remote.status_code == local.status_code == 502, remote.text
        assert remote.json() == local.json()
        assert remote.json()["error"]["details"]["ocpp_error_code"] == "NotSupported"
        assert remote.json()["error"]["details"]["ocpp_error_description"] == "this connector has no lock"

        timed_out = await command(b, "CP-ERR", "ClearCache", {}, timeout=1)
        assert timed_out.status_code == 504, timed_out.text
        assert timed_out.json()["error"]["code"] == "timeout"
        cp.release.set()  # its late answer is dropped; the connection serves the next command
        again = await command(b, "CP-ERR", "DataTransfer", {"vendorId": "test", "data": "again"})
        assert again.status_code == 200, again.text

        # A payload that breaks the charge point's version's schema: 400, as on one node.
        invalid = await command(b, "CP-ERR", "UnlockConnector", {"connectorId": "one"})
        assert invalid.status_code == 400, invalid.text
        assert cp.calls["UnlockConnector"] == 2

    async def offline() -> bool:
        response = await command(b, "CP-ERR", "DataTransfer", {"vendorId": "test"})
        assert response.status_code in (200, 409), response.text
        return response.status_code == 409

    await until(offline, what="B went on sending to a charge point that had disconnected")


async def test_a_command_for_a_charge_point_no_node_holds_answers_409(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    async with station(a, "CP-GONE"):
        await reachable(b, "CP-GONE")
    redis = connect(cluster.redis.url)
    try:

        async def released() -> bool:
            return not await redis.exists(Keys().presence("CP-GONE"))

        await until(released, what="A did not release CP-GONE")
    finally:
        await redis.aclose()
    for node in (a, b):
        response = await command(node, "CP-GONE", "Reset", {"type": "Soft"})
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "charge_point_offline"
        async with node.api() as api:
            started = await api.post("/api/v1/charge-points/CP-GONE/remote-start", json={"id_tag": TAG, "check_tag": False})
        assert started.status_code == 409, started.text


async def test_kill_9_of_the_holding_node_mid_command_ends_the_callers_wait_with_a_clear_error(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    async with station(a, "CP-KILLED") as cp:
        await reachable(b, "CP-KILLED")
        # The call's own timeout is far beyond the client's (30 s): only the holder's death ends it.
        pending = asyncio.create_task(command(b, "CP-KILLED", "ClearCache", {}, timeout=120))
        await asyncio.wait_for(cp.holding.wait(), 15)
        await a.kill()
        response = await pending
    assert response.status_code == 504, response.text
    error = response.json()["error"]
    assert error["code"] == "node_lost"
    assert "A" in error["message"]
    # And no node holds it now: B answers 409 at once.
    await until(
        lambda: _status(command(b, "CP-KILLED", "DataTransfer", {"vendorId": "x"}), 409),
        seconds=2 * EXPIRY + 8, what="B did not see CP-KILLED go offline",
    )


async def _status(sending: Any, status: int) -> bool:
    return (await sending).status_code == status


async def test_a_command_delivered_twice_is_executed_once(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    keys = Keys()
    redis = connect(cluster.redis.url)
    try:
        async with station(a, "CP-ONCE") as cp:
            await reachable(b, "CP-ONCE")
            response = await command(b, "CP-ONCE", "DataTransfer", {"vendorId": "test", "data": "once"})
            assert response.status_code == 200, response.text
            entries = await redis.xrange(keys.commands("A"))
            (entry,) = [fields for _, fields in entries if b'"once"' in fields[b"c"]]
            # Delivered again, as a redelivery would: the same command, the same idempotency key.
            copy = await redis.xadd(keys.commands("A"), entry)

            async def taken() -> bool:
                (group,) = await redis.xinfo_groups(keys.commands("A"))
                last = group["last-delivered-id"]
                return group["pending"] == 0 and _stream_id(last) >= _stream_id(copy)

            await until(taken, what="A did not take the copy")
            after_copy = await command(b, "CP-ONCE", "DataTransfer", {"vendorId": "test", "data": "next"})
            assert after_copy.status_code == 200
            assert cp.data.count("once") == 1
            assert cp.data[-1] == "next"
            body = orjson.loads(entry[b"c"])
            assert await redis.exists(keys.command(body["id"]))
    finally:
        await redis.aclose()


async def test_a_dashboard_form_on_b_reaches_a_charge_point_on_a(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    created = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voltline", "user", "create", "operator", env={**a.env, "VOLTLINE_USER_PASSWORD": "a long password"},
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await created.wait() == 0
    async with station(a, "CP-BOARD") as cp, httpx.AsyncClient(base_url=b.http_url, timeout=30) as board:
        assert (await log_in(board, "operator", "a long password")).status_code == 303
        await reachable(b, "CP-BOARD")
        page = await board.get("/charge-points/CP-BOARD")
        assert page.status_code == 200
        sent = await board.post(
            "/charge-points/CP-BOARD/commands/raw",
            data={"ocpp_action": "DataTransfer", "payload": '{"vendorId": "board", "data": "from B"}',
                  "csrf_token": csrf_of(page.text)},
            headers={"Accept": "application/json"},
        )
        assert sent.status_code == 200, sent.text
        outcome = sent.json()
        assert outcome["kind"] == "accepted", outcome
        assert "from B" in cp.data
        assert (await board.get("/charge-points/CP-BOARD/configuration")).status_code == 200


def _stream_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


async def test_without_redis_a_cross_node_command_fails_clearly_and_a_local_one_is_sent(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B", presence_expiry=str(EXPIRY))
    async with station(a, "CP-REDIS") as cp:
        await reachable(b, "CP-REDIS")
        await cluster.redis.stop()
        remote = await command(b, "CP-REDIS", "DataTransfer", {"vendorId": "test", "data": "remote"})
        assert remote.status_code == 503, remote.text
        assert remote.json()["error"]["code"] == "cluster_unavailable"
        local = await command(a, "CP-REDIS", "DataTransfer", {"vendorId": "test", "data": "local"})
        assert local.status_code == 200, local.text
        assert "remote" not in cp.data and "local" in cp.data

        await cluster.redis.start()
        await reachable(b, "CP-REDIS")  # by itself, once Redis is back
