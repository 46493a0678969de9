"""The energy of a session is one number wherever an operator looks: the dashboard's pages and
the REST API agree, also after the server restarted (when nothing of the session is in memory)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.ocpp_client import OcppClient
from tests.web.conftest import PASSWORD, USERNAME, log_in
from voltline.services.security.operators import UserService
from voltline.web.routing import fmt_kwh


def _at(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=10) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _reading(seconds: float, kwh: float) -> dict[str, Any]:
    return {"timestamp": _at(seconds), "sampledValue": [
        {"value": f"{kwh}", "unit": "kWh", "measurand": "Energy.Active.Import.Register"},
        {"value": "7400", "unit": "W", "measurand": "Power.Active.Import"},
    ]}


def _energy_cell(html: str, pattern: str) -> str:
    match = re.search(pattern, html, re.S)
    assert match, f"no energy in the page for {pattern!r}"
    return match.group(1).strip()


async def test_dashboard_and_api_show_the_same_energy_after_a_restart(start_server: Any) -> None:
    first = await start_server()
    await first.services.charge_points.register("CP-KEEP")
    await first.services.id_tags.create("TAG-KEEP")
    await UserService(first.store).create(USERNAME, PASSWORD)
    client = await OcppClient.connect(f"ws://127.0.0.1:{first.ocpp_port}/ocpp/CP-KEEP")
    try:
        await client.boot()
        started = await client.ok(
            "StartTransaction", {"connectorId": 1, "idTag": "TAG-KEEP", "meterStart": 12_000, "timestamp": _at(0)}
        )
        tx = started["transactionId"]
        for seconds, kwh in ((60, 12.5), (120, 13.25), (180, 14.75)):
            await client.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [_reading(seconds, kwh)]})
    finally:
        await client.close()
    await first.stop()

    again = await start_server()
    _, secret = await again.services.tokens.create("tests")
    base = f"http://127.0.0.1:{again.http_port}"
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as api:
        transaction = (await api.get(f"/api/v1/transactions/{tx}")).json()
        listed = (await api.get("/api/v1/transactions", params={"active": "true"})).json()["items"]
    assert transaction["status"] == "Active"
    assert transaction["energy_wh"] == 14_750 - 12_000
    assert [t["energy_wh"] for t in listed if t["id"] == tx] == [transaction["energy_wh"]]
    shown = fmt_kwh(transaction["energy_wh"])

    async with httpx.AsyncClient(base_url=base, timeout=30) as web:
        assert (await log_in(web, USERNAME, PASSWORD)).status_code == 303
        session_page = (await web.get(f"/sessions/{tx}")).text
        sessions_page = (await web.get("/sessions", params={"state": "active"})).text
        overview = (await web.get("/")).text
        charge_point = (await web.get("/charge-points/CP-KEEP")).text

    assert _energy_cell(session_page, r'id="session-energy"[^>]*>([^<]*)<') == shown
    assert _energy_cell(sessions_page, rf'href="/sessions/{tx}".*?data-label="Energy"[^>]*>([^<]*)<') == shown
    assert _energy_cell(overview, rf'/sessions/{tx}".*?data-label="Energy"[^>]*>([^<]*)<') == shown
    assert _energy_cell(overview, r'Energy today</span>\s*<span class="tile-value">([^<]*)<') == shown
    assert _energy_cell(charge_point, r'<strong class="big" data-live-energy[^>]*>([^<]*)<') == shown
