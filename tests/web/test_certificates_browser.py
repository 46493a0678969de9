"""Certificates in the dashboard, in a real browser (headless Chromium): a charge point of the `ocpp`
package gets a certificate from Voltline's CA over a real WebSocket; the operator sees it listed
with its serial, subject, expiry and state, on the charge point's page too, and revokes it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration import ca_fixtures
from tests.integration.ca_fixtures import ConnectStation, Script
from tests.integration.sim_fixtures import eventually
from tests.web.test_admin_browser import logged_in, shoot_both
from tests.web import test_browser
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.browser

ca_files = ca_fixtures.ca_files
server = ca_fixtures.server
server_settings = ca_fixtures.server_settings
ocpp_station = ca_fixtures.ocpp_station
browser = test_browser.browser


async def test_issued_certificates_listed_and_revoked_in_the_dashboard(
    server: Voltline, operator: Any, browser: Browser, api: httpx.AsyncClient, ocpp_station: ConnectStation
) -> None:
    await api.post("/api/v1/charge-points", json={"id": "CP-1"})
    script = Script()
    await ocpp_station("CP-1", script=script)
    answer = await api.post("/api/v1/charge-points/CP-1/commands/ExtendedTriggerMessage",
                            json={"requestedMessage": "SignChargePointCertificate"})
    assert answer.json() == {"status": "Accepted"}

    async def delivered() -> list[dict[str, Any]]:
        items = (await api.get("/api/v1/certificates")).json()["items"]
        return items if items and items[0]["delivery_status"] == "Accepted" else []

    [certificate] = await eventually(delivered, "the certificate is delivered")
    serial = certificate["serial"]

    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/admin")
    await page.get_by_role("link", name="Certificates").click()
    row = page.locator(f'tr[data-certificate="{serial}"]')
    await expect(row).to_contain_text(serial)
    await expect(row).to_contain_text("CN=CP-1")
    await expect(row.locator("[data-state]")).to_have_text("Valid")
    await expect(row).to_contain_text(certificate["not_after"][:4])
    await shoot_both(context, browser, server, base, "certificates", "/admin/certificates")

    await page.goto(base + "/charge-points/CP-1")
    await expect(page.locator("#cp-issued-certificates")).to_contain_text(serial[:16])

    await page.goto(base + "/admin/certificates")
    await row.get_by_role("link", name=f"Revoke {serial}").click()
    await page.get_by_role("button", name="Revoke certificate").click()
    await expect(page.locator(f'tr[data-certificate="{serial}"] [data-state]')).to_contain_text("Revoked")
    assert await server.services.certificates.is_revoked(int(serial, 16))
    await page.goto(base + "/admin/certificates?state=Valid")
    await expect(page.locator("#certificates")).to_contain_text("No certificates match")
    await context.close()
