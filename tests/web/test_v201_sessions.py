"""The dashboard shows a 2.0.1 station's sessions as it shows 1.6 ones: in the one list, with
their EVSE and the transaction id as on the wire, live readings keyed by the EVSE."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import websockets

from tests.integration.test_v201_transactions import Station, register
from voltline.app import Voltline


async def test_a_201_session_is_listed_and_shown_with_its_evse_and_wire_id(web: httpx.AsyncClient, server: Voltline) -> None:
    await server.services.charge_points.register("CS-1")
    ws = await websockets.connect(f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CS-1", subprotocols=["ocpp2.0.1"])
    cs = Station("CS-1", ws)
    cs.asked = []
    task: asyncio.Task[Any] = asyncio.create_task(cs.start())
    try:
        await cs.event("Started", 0, "7f3c-uuid", evse=2, trigger="EVDetected", meter=[register(1000, 0)])
        listed = await web.get("/sessions")
        assert listed.status_code == 200
        assert "EVSE 2, 1" in listed.text and 'data-connector="2"' in listed.text
        [transaction] = (await server.services.views.transactions.active("CS-1"))
        page = await web.get(f"/sessions/{transaction.id}")
        assert page.status_code == 200
        assert "EVSE 2 connector 1" in page.text and "7f3c-uuid" in page.text and "no id token yet" in page.text
    finally:
        task.cancel()
        await ws.close()
