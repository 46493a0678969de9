"""The demo's fleet against a real server (`voltline serve --demo`, and `--demo --tls`): a mixed
fleet of OCPP 1.6 and 2.0.1 charge points, charging from the start with the seeded driver cards,
both versions shown in the API and on the dashboard — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from tests.conftest import ServerFactory
from tests.integration.sim_fixtures import eventually
from tests.web.conftest import log_in
from voltline import demo
from voltline.app import Voltline
from voltline.config import Settings
from voltline.demo_tls import make_demo_pki

# Two drivers wait from the start: one at a 1.6 charge point, one at a 2.0.1 one.
FIRST_16, FIRST_201 = demo.CHARGE_POINTS[0], demo.CHARGE_POINTS[1]
WAIT = 30.0  # real seconds: the demo runs in real time, its first sessions start within seconds


async def _serve_demo(start_server: ServerFactory, tmp_path: Path, tls: bool) -> tuple[Voltline, Any]:
    settings: dict[str, Any] = {"auto_register": True}
    pki = None
    if tls:
        pki = make_demo_pki(tmp_path / "tls", demo.CHARGE_POINTS)
        tls_settings = demo.demo_tls_settings(Settings(), pki)
        settings |= {
            name: getattr(tls_settings, name)
            for name in ("ocpp_tls_cert", "ocpp_tls_key", "ocpp_tls_client_ca", "certificate_organization")
        } | {"ocpp_tls_port": 0}
    return await start_server(**settings), pki


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
async def test_the_demo_runs_a_mixed_fleet_charging_from_the_start(
    start_server: ServerFactory, tmp_path: Path, tls: bool
) -> None:
    server, pki = await _serve_demo(start_server, tmp_path, tls)
    printed = io.StringIO()
    requested = asyncio.Event()
    fleet = asyncio.create_task(
        demo._run_fleet(server, server.settings, Console(file=printed, width=200), requested, pki)
    )
    try:
        await _check_the_fleet(server, printed, fleet)
    finally:
        requested.set()
        await asyncio.wait_for(fleet, WAIT)


async def _check_the_fleet(server: Voltline, printed: io.StringIO, fleet: asyncio.Task[None]) -> None:
    async def said() -> re.Match[str] | None:
        assert not fleet.done(), fleet
        return re.search(r"token (vl_\S+)", printed.getvalue())

    token = (await eventually(said, "the demo prints its API token", WAIT)).group(1)
    assert "OCPP 1.6: DEMO-1, DEMO-3; OCPP 2.0.1: DEMO-2, DEMO-4" in printed.getvalue()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}/api/v1", headers=headers) as api:

        async def charging() -> dict[str, dict[str, Any]] | None:
            assert not fleet.done(), fleet
            active = (await api.get("/transactions", params={"active": True})).json()["items"]
            # The waiting drivers' sessions, on connector 1 (1.6) and EVSE 1 (2.0.1): other
            # drivers may have come meanwhile.
            first = {tx["charge_point_id"]: tx for tx in active if tx["connector_id"] == 1 and tx["evse_id"] in (None, 1)}
            return first if {FIRST_16, FIRST_201} <= set(first) else None

        active = await eventually(charging, "a 1.6 and a 2.0.1 demo charge point both charge", WAIT)
        old, new = active[FIRST_16], active[FIRST_201]
        # The seeded driver cards work for both versions (a 2.0.1 card is an ISO14443 idToken).
        assert old["id_tag"].startswith("DEMO-TAG-") and new["id_tag"].startswith("DEMO-TAG-")
        assert (old["ocpp_transaction_id"], old["evse_id"]) == (str(old["id"]), None)
        assert new["evse_id"] == 1 and new["id_token_type"] == "ISO14443" and new["id_tag_status"] == "Accepted"
        assert new["ocpp_transaction_id"] != str(new["id"])

        points = {cp["id"]: cp for cp in (await api.get("/charge-points", params={"limit": 50})).json()["items"]}
        assert {i: points[i]["ocpp_version"] for i in demo.CHARGE_POINTS} == {
            "DEMO-1": "1.6", "DEMO-2": "2.0.1", "DEMO-3": "1.6", "DEMO-4": "2.0.1",
        }
        assert all(points[i]["connected"] for i in demo.CHARGE_POINTS)

    password = re.search(r"login admin / (\S+)", printed.getvalue())
    assert password is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}") as web:
        assert (await log_in(web, "admin", password.group(1))).status_code == 303
        listed = (await web.get("/charge-points")).text
        assert "OCPP 1.6" in listed and "OCPP 2.0.1" in listed
        sessions = (await web.get("/sessions")).text
        assert FIRST_16 in sessions and FIRST_201 in sessions
        page = (await web.get(f"/charge-points/{FIRST_201}")).text
        assert "2.0.1" in page and "EVSE" in page
