"""An operator ends a session its charge point no longer has, from the dashboard, in a real
browser: on the session's page and on the charge point's page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_browser import (  # noqa: F401 - `browser` is a fixture
    DESKTOP, PHONE, SCREENSHOTS, backend_of, browser, log_in, patient, shoot,
)
from voltline.services.transactions.views import TransactionFilter
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.browser

T0, T0_10 = "2026-11-01T10:00:00Z", "2026-11-01T10:10:00Z"


async def ghost_sessions(server: Voltline, connect: Any) -> list[int]:
    """Three sessions on CP-GHOST whose charge point then vanishes without stopping them."""
    await server.services.charge_points.register("CP-GHOST", description="Depot, bay 4")
    client = await connect("CP-GHOST")
    await client.boot()
    ids = []
    for connector, tag in ((1, "DRIVER-1"), (2, "DRIVER-2"), (3, "DRIVER-3")):
        start = {"connectorId": connector, "idTag": tag, "meterStart": 1000, "timestamp": T0}
        tx = (await client.ok("StartTransaction", start))["transactionId"]
        await client.ok("StatusNotification", {"connectorId": connector, "errorCode": "NoError", "status": "Charging"})
        await client.ok("MeterValues", {"connectorId": connector, "transactionId": tx, "meterValue": [
            {"timestamp": T0_10, "sampledValue": [{"value": str(2000 + 500 * connector), "measurand": "Energy.Active.Import.Register"}]}
        ]})
        ids.append(tx)
    client.abort()
    return ids


async def test_an_operator_closes_a_stuck_session_from_its_page_and_from_the_charge_point(
    server: Voltline, operator: Any, connect: Any, browser: Browser  # noqa: F811
) -> None:
    first, second, third = await ghost_sessions(server, connect)
    base = f"http://127.0.0.1:{server.http_port}"
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    patient(page)
    asked: list[str] = []

    async def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", confirm)
    await log_in(page, base)

    # The session page: the form offers the last reading.
    await page.goto(f"{base}/sessions/{first}")
    await expect(page.locator(".page-head .badge")).to_have_text("charging")
    await page.get_by_text("Close without the charge point").click()
    meter = page.get_by_label("Meter value to close at (Wh)")
    await expect(meter).to_have_value("2500")
    await page.get_by_label("Reason").fill("charge point replaced")
    await shoot(page, "close-session-form", server)
    await page.get_by_role("button", name="Close session").click()
    await expect(page.locator(".notice-ok")).to_contain_text(f"Session #{first} closed without the charge point at 2500 Wh")
    assert asked and f"Close session #{first} without the charge point?" in asked[0]
    await expect(page.locator(".page-head .badge")).to_have_text("finished")
    await expect(page.locator("#session-stop-reason")).to_have_text("Other")
    await expect(page.locator("#session-stop-note")).to_have_text(
        "closed by operator operator without the charge point: charge point replaced"
    )
    await expect(page.locator("#session-energy")).to_have_text("1.50 kWh")
    await expect(page.get_by_text("Close without the charge point")).to_have_count(0)
    await shoot(page, "closed-session", server)

    # The charge point's page: close the other one there, at a value of the operator's.
    await page.goto(f"{base}/charge-points/CP-GHOST")
    connector = page.get_by_role("article", name="Connector 2")
    await connector.get_by_text("Close without the charge point").click()
    await expect(connector.get_by_label("Meter value to close at (Wh)")).to_have_value("3000")
    await shoot(page, "close-session-charge-point", server)
    await connector.get_by_label("Meter value to close at (Wh)").fill("3100")
    await connector.get_by_role("button", name="Close session").click()
    await expect(page).to_have_url(f"{base}/charge-points/CP-GHOST")
    await expect(page.locator(".notice-ok")).to_contain_text(f"Session #{second} closed without the charge point at 3100 Wh")
    await expect(page.locator(f'a[href="/sessions/{second}"]')).to_have_count(0)
    await expect(connector.get_by_text("Close without the charge point")).to_have_count(0)
    await expect(page.get_by_text("Close without the charge point")).to_have_count(1)  # connector 3's
    session = await server.services.views.transactions.transaction(second)
    assert (session.meter_stop, session.stop_note) == (3100, "closed by operator operator without the charge point")

    active = await server.services.views.transactions.transactions(TransactionFilter(active=True), limit=10, offset=0)
    assert [tx.id for tx in active.items] == [third]

    # On a phone, nothing wider than the screen.
    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                      storage_state=await context.storage_state())
    small = await phone.new_page()
    for name, path, where in (("closed-session", f"/sessions/{first}", "main"),
                              ("close-session-form", f"/sessions/{third}", "main"),
                              ("close-session-charge-point", "/charge-points/CP-GHOST", "[aria-label='Connector 3']")):
        await small.goto(base + path)
        if name != "closed-session":
            await small.locator(where).get_by_text("Close without the charge point").click()
            await expect(small.locator(where).get_by_label("Reason")).to_be_visible()
        assert await small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        await shoot(small, f"phone-{name}", server)
        if where != "main":
            await small.locator(where).screenshot(path=str(SCREENSHOTS / f"{backend_of(server)}-phone-{name}-part.png"))
    await phone.close()
    await context.close()
