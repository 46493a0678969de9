"""A 2.0.1 station's device model in a real browser: reported at its first boot, listed, filtered,
and a variable set from its row, with the station's answer in its colour."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.test_device_model import three_parts
from tests.integration.v201_station import connected, until
from tests.web import test_browser as browsers
from tests.web.test_browser import DESKTOP, log_in, patient, shoot
from voltline.app import Voltline
from voltline.services.device_model.views import VariableFilter

from playwright.async_api import Browser, expect  # noqa: E402  isort: skip

pytestmark = pytest.mark.browser
browser = browsers.browser  # the fixture (skips without Chromium)


async def test_the_device_model_is_listed_filtered_and_set_from_the_page(
    server: Voltline, operator: Any, browser: Browser
) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    views = server.services.views.device_model
    await server.services.charge_points.register("DM-WEB")
    async with connected(server.ocpp_port, "DM-WEB", parts=three_parts()) as station:
        station.values = {("OCPPCommCtrlr", "HeartbeatInterval"): "300", ("SecurityCtrlr", "OrganizationName"): "Voltline",
                          ("EVSE", "Power"): "21000"}
        station.read_only = {("SecurityCtrlr", "OrganizationName")}
        await station.boot()

        async def reported() -> bool:
            reports = (await views.reports("DM-WEB")).items
            return bool(reports) and reports[0].complete

        await until(reported)
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        patient(page)
        await log_in(page, base)

        await page.goto(base + "/charge-points/DM-WEB")
        await page.get_by_role("link", name="Open device model").click()
        await expect(page.get_by_role("heading", name="Device model of DM-WEB")).to_be_visible()
        rows = page.locator("tr[data-variable-row]")
        await expect(rows).to_have_count(7)
        await expect(page.locator("tr[data-report-row='1'] [data-report-state]")).to_contain_text("complete")
        power = page.locator("tr[data-variable-row='EVSE/1.Power']")
        await expect(power.locator("[data-variable-value]")).to_have_text("22000")
        await expect(power.get_by_role("button", name="Set")).to_have_count(0)  # ReadOnly
        # Read again from the station (GetVariables): the row shows the value it answered.
        await power.get_by_role("button", name="Read EVSE Power").click()
        await expect(power.locator("[data-variable-value]")).to_have_text("21000")
        await expect(power.locator('[data-variable-status] [data-answer-status="Accepted"]')).to_be_visible()

        await page.get_by_label("Component").select_option("EVSE")
        await page.get_by_role("button", name="Filter").click()
        await expect(rows).to_have_count(3)
        await page.get_by_label("Search").fill("heartbeat")
        await page.get_by_label("Component").select_option("")
        await page.get_by_role("button", name="Filter").click()
        await expect(rows).to_have_count(1)
        await shoot(page, "device-model", server)

        heartbeat = page.locator("tr[data-variable-row='OCPPCommCtrlr.HeartbeatInterval']")
        await heartbeat.get_by_label("Value of OCPPCommCtrlr HeartbeatInterval").fill("120")
        await heartbeat.get_by_role("button", name="Set").click()
        toast = page.locator('.toasts [data-outcome="accepted"]')
        await expect(toast.locator('[data-answer-status="Accepted"]')).to_have_class(re.compile(r"\bbadge-ok\b"))
        # The row shows what was set, refreshed from the store.
        await expect(heartbeat.locator('[data-variable-status] [data-answer-status="Accepted"]')).to_be_visible()
        assert station.values[("OCPPCommCtrlr", "HeartbeatInterval")] == "120"

        await page.goto(base + "/charge-points/DM-WEB/variables?q=organization")
        organization = page.locator("tr[data-variable-row='SecurityCtrlr.OrganizationName']")
        await organization.get_by_label("Value of SecurityCtrlr OrganizationName").fill("Other")
        await organization.get_by_role("button", name="Set").click()
        refused = page.locator('.toasts [data-outcome="rejected"]')
        await expect(refused.locator('[data-answer-status="Rejected"]')).to_have_class(re.compile(r"\bbadge-bad\b"))
        [stored] = (await views.variables("DM-WEB", VariableFilter(variable="HeartbeatInterval"))).items
        assert (stored.value, stored.source, stored.status) == ("120", "set", "Accepted")
        [kept] = (await views.variables("DM-WEB", VariableFilter(variable="OrganizationName"))).items
        assert (kept.value, kept.status) == ("Voltline", "Rejected")

        # A new full report, asked from the page, comes in while the page is open.
        await page.get_by_role("button", name="Request report").click()
        await expect(page.locator("tr[data-report-row='2'] [data-report-state]")).to_contain_text("complete")
        assert station.base_reports == [(1, "FullInventory"), (2, "FullInventory")]
        await context.close()
