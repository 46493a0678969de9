"""Events across nodes: a change received on one node (a status, a session's meter value) reaches
the event streams of the others, in order, and again after Redis was restarted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tests.cluster.harness import Cluster, until
from tests.ocpp_client import OcppClient


async def _boot(url: str) -> OcppClient:
    client = await OcppClient.connect(url)
    answer = await client.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    assert answer[2]["status"] == "Accepted", answer
    return client


async def _status(client: OcppClient, marker: int) -> None:
    """A connector status whose `info` carries a marker the test looks for in the stream."""
    answer = await client.call("StatusNotification", {
        "connectorId": 1, "errorCode": "NoError", "status": "Available", "info": f"marker-{marker}",
    })
    assert answer[0] == 3, answer


async def _collect(chunks: AsyncIterator[str], into: list[str]) -> None:
    async for chunk in chunks:
        into.append(chunk)


async def test_event_stream_on_one_node_shows_changes_received_on_another(cluster: Cluster) -> None:
    a, _b, c = await cluster.start("A", "B", "C")
    client = await _boot(f"{c.ocpp_url}/CP-EV-1")
    seen: list[str] = []
    async with a.api() as api, api.stream("GET", "/api/v1/events?charge_point_id=CP-EV-1") as events:
        chunks = events.aiter_text()
        assert "subscribed" in await anext(chunks)
        reader = asyncio.create_task(_collect(chunks, seen))
        try:
            for wh in (1001, 1002, 1003):
                await _status(client, wh)

            async def all_three() -> bool:
                return "marker-1003" in "".join(seen)

            await until(all_three, seconds=10, what="node A's stream did not show node C's changes")
            text = "".join(seen)
            assert text.index("marker-1001") < text.index("marker-1002") < text.index("marker-1003")
            # Node C's own stream does not get them twice: A sees each once.
            assert text.count('marker-1002') == 1

            # A meter value of a session on C, live on A.
            created = await api.post("/api/v1/id-tags", json={"id_tag": "TAG-EV", "status": "Accepted"})
            assert created.status_code == 201, created.text
            started = await client.call("StartTransaction", {
                "connectorId": 1, "idTag": "TAG-EV", "meterStart": 1000, "timestamp": "2026-12-03T10:00:00Z",
            })
            assert started[2]["idTagInfo"]["status"] == "Accepted", started
            answer = await client.call("MeterValues", {
                "connectorId": 1, "transactionId": started[2]["transactionId"],
                "meterValue": [{"timestamp": "2026-12-03T10:05:00Z", "sampledValue": [
                    {"value": "4242", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}],
            })
            assert answer[0] == 3, answer

            async def meter_value_seen() -> bool:
                return '"meter_values"' in "".join(seen) and "4242" in "".join(seen)

            await until(meter_value_seen, seconds=10, what="node A's stream did not show node C's meter value")

            await cluster.redis.stop()
            await cluster.redis.start()
            seen.clear()

            async def after_restart() -> bool:
                await _status(client, 2001)
                return "marker-2001" in "".join(seen)

            await until(after_restart, seconds=20, what="events did not cross nodes again after a Redis restart")
        finally:
            reader.cancel()
            await client.close()


async def test_a_heartbeat_on_one_node_is_seen_on_another_within_seconds(cluster: Cluster) -> None:
    a, b = await cluster.start("A", "B")
    client = await _boot(f"{b.ocpp_url}/CP-HB-1")
    try:
        async with a.api() as api:

            async def heartbeat_at() -> str | None:
                answer = await api.get("/api/v1/charge-points/CP-HB-1")
                return answer.json().get("last_heartbeat_at") if answer.status_code == 200 else None

            before = await heartbeat_at()
            await asyncio.sleep(1.1)
            assert (await client.call("Heartbeat", {}))[0] == 3

            async def newer() -> bool:
                return await heartbeat_at() not in (None, before)

            await until(newer, seconds=5, what="node A did not show the heartbeat node B received")
    finally:
        await client.close()
