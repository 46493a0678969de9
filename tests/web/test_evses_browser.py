"""A 2.0.1 station's page in a real browser: its EVSEs with their connectors, and a status that
changes on one EVSE repainting that EVSE's connector only (connector 1 is on every EVSE)."""

from __future__ import annotations

import re
from typing import Any

from tests.ocpp_client import OcppClient
from tests.web.test_browser import DESKTOP, browser, log_in, patient, shoot  # noqa: F401  (fixture; skips without Playwright)
from voltline.app import Voltline

from playwright.async_api import Browser, expect  # noqa: E402  (importable once test_browser was)


def _status(evse: int, connector: int, status: str, at: str = "2026-12-02T05:00:00Z") -> dict[str, Any]:
    return {"timestamp": at, "connectorStatus": status, "evseId": evse, "connectorId": connector}


async def test_a_201_stations_evses_show_and_update_live(
    server: Voltline, operator: Any, connect: Any, browser: Browser  # noqa: F811
) -> None:
    await server.services.charge_points.register("CS-LIVE")
    station: OcppClient = await connect("CS-LIVE", subprotocols=["ocpp2.0.1"])
    await station.ok("BootNotification", {"chargingStation": {"model": "Duo", "vendorName": "Voltline"},
                                          "reason": "PowerUp"})
    for evse in (1, 2):
        await station.ok("StatusNotification", _status(evse, 1, "Available"))

    base = f"http://127.0.0.1:{server.http_port}"
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    patient(page)
    await log_in(page, base)
    await page.goto(base + "/charge-points/CS-LIVE")
    await expect(page.locator("#live-state")).to_have_text("live")
    evse1, evse2 = page.get_by_role("region", name="EVSE 1"), page.get_by_role("region", name="EVSE 2")
    await expect(evse1.get_by_role("heading", name="EVSE 1")).to_be_visible()
    await expect(evse2.get_by_role("article", name="EVSE 2 connector 1")).to_be_visible()

    await station.ok("StatusNotification", _status(2, 1, "Occupied", "2026-12-02T05:01:00Z"))
    await expect(evse2.locator("[data-status]")).to_have_text("Occupied")
    await expect(evse1.locator("[data-status]")).to_have_text("Available")
    await expect(page.get_by_text(re.compile(r"2\.0\.1 · registration Accepted"))).to_be_visible()

    # A session on EVSE 2: its connector stays Occupied, its chargingState shows on the session
    # and changes as the station tells it, without a reload.
    def event(event_type: str, seq_no: int, state: str, minute: int, **extra: Any) -> dict[str, Any]:
        return {"eventType": event_type, "timestamp": f"2026-12-02T05:{minute:02d}:00Z", "seqNo": seq_no,
                "triggerReason": "CablePluggedIn" if seq_no == 0 else "ChargingStateChanged",
                "transactionInfo": {"transactionId": "tx-live", "chargingState": state},
                "evse": {"id": 2, "connectorId": 1}, **extra}

    await station.ok("TransactionEvent", event("Started", 0, "EVConnected", 2))
    state = evse2.locator("[data-charging-state]")
    await expect(state).to_have_text("EVConnected")
    await station.ok("TransactionEvent", event("Updated", 1, "Charging", 3))
    await expect(state).to_have_text("Charging")
    await expect(evse2.locator("[data-status]")).to_have_text("Occupied")
    await expect(evse1.locator("[data-charging-state]")).to_have_count(0)
    await shoot(page, "charge-point-evses", server)
    await context.close()
