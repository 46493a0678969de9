"""A charge point's security profile in the dashboard (headless Chromium): set when registering
it and in its settings, and a connection refused for being weaker than it shown among the charge
point's security events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.web.test_admin_browser import logged_in, shoot_both
from tests.web.test_browser import browser  # noqa: F401 (fixture)
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.browser


async def test_security_profile_set_in_the_forms_and_a_refusal_shown(  # type: ignore[no-untyped-def]
    server: Voltline, operator: Any, browser: Browser, api: httpx.AsyncClient,  # noqa: F811 (the fixture)
) -> None:
    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/admin/charge-points")
    await page.get_by_label("Identity").fill("BAY-9")
    await page.get_by_label("Security profile").select_option("2")
    await page.get_by_role("button", name="Register charge point").click()
    # Profile 2 without a password could never connect: refused with the reason.
    await expect(page.locator("[data-form-problems]")).to_contain_text("security profile 2 needs a password")
    await expect(page.get_by_label("Security profile")).to_have_value("2")

    await page.get_by_label("Password (optional)").fill("bay9-secret-password")
    await page.get_by_role("button", name="Register charge point").click()
    await expect(page.get_by_role("heading", name="BAY-9")).to_be_visible()
    await expect(page.locator("[data-security-profile]")).to_have_text("2")
    assert (await api.get("/api/v1/charge-points/BAY-9")).json()["security_profile"] == 2

    # Over plain ws:// with the right password: refused at the handshake, and recorded.
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(
            f"ws://127.0.0.1:{server.ocpp_port}/ocpp/BAY-9", subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": "Basic QkFZLTk6YmF5OS1zZWNyZXQtcGFzc3dvcmQ="},
        ):
            pass
    assert refused.value.response.status_code == 403
    row = page.locator('tr[data-event-kind="security"]')
    for _ in range(100):
        await page.reload()
        if await row.count():
            break
    await expect(row.first).to_contain_text("InsecureConnection")
    await expect(row.first).to_contain_text("requires TLS")

    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_label("Security profile")).to_have_value("2")
    await page.get_by_label("Security profile").select_option("3")
    await page.get_by_label("Remove the password").check()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Saved the settings of BAY-9")
    await expect(page.get_by_label("Security profile")).to_have_value("3")
    assert (await api.get("/api/v1/charge-points/BAY-9")).json()["security_profile"] == 3
    await shoot_both(context, browser, server, base, "security-profile", "/charge-points/BAY-9/settings")
    await context.close()
