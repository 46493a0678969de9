"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright).

An operator logs in, watches a simulated charge point come online, starts a remote session from
the page, sees power and energy update live, stops it, and finds the finished session with the
right energy. Screenshots of every page, at desktop and phone widths, go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.charts import drawn_chart, values
from tests.web.conftest import PASSWORD, USERNAME
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("VOLTLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI: install Debian's `chromium` ({CHROMIUM} is missing)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


def patient(page: Page) -> Page:
    """A page whose waits last 15 s, and its navigations 60 s: on a loaded host a page load (the
    first after Chromium starts, above all) has taken longer than 15 s with the server well."""
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(60_000)
    return page


def backend_of(server: Voltline) -> str:
    return "sqlite" if server.settings.is_sqlite else "postgresql"


async def shoot(page: Page, name: str, server: Voltline) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{backend_of(server)}-{name}.png"), full_page=True)


async def log_in(page: Page, base: str) -> None:
    await page.goto(base + "/")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.locator("#live-state")).to_have_text("live")


async def test_remote_session_from_the_dashboard(server: Voltline, operator: Any, station: Any, browser: Browser) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    await server.services.charge_points.register("CP-BROWSER", description="Car park, level 2")
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    patient(page)

    await page.goto(base + "/login")
    await shoot(page, "login", server)
    await log_in(page, base)

    # An id tag, created from the page.
    await page.goto(base + "/id-tags")
    await page.get_by_label("Id tag", exact=True).fill("DRIVER-1")
    await page.get_by_label("Description").fill("Fleet car 12")
    await page.get_by_role("button", name="Create id tag").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Created the id tag DRIVER-1")

    # The charge point comes online while the operator watches the list.
    await page.goto(base + "/charge-points")
    row = page.locator('[data-cp-row="CP-BROWSER"]')
    await expect(row.locator("[data-connection]")).to_have_text("offline")
    await expect(page.locator("#live-state")).to_have_text("live")
    cp = await station("CP-BROWSER", period_s=0.4, wh_per_sample=120, power_w=7200)
    await expect(row.locator("[data-connection]")).to_have_text("online")
    await expect(row.locator("[data-status]")).to_contain_text("Available")
    await shoot(page, "charge-points", server)

    # Remote start from the charge point's page.
    await page.get_by_role("link", name="CP-BROWSER").click()
    await expect(page.get_by_role("heading", name="CP-BROWSER")).to_be_visible()
    await expect(page.locator("#live-state")).to_have_text("live")
    await page.get_by_label("Id tag").fill("DRIVER-1")
    await page.locator("#rs-connector").select_option("1")
    await page.get_by_role("button", name="Start charging").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("RemoteStartTransaction")

    # Power and energy appear and keep moving without a reload.
    power = page.locator('.connector [data-live-power][data-connector="1"]')
    energy = page.locator('.connector [data-live-energy][data-connector="1"]')
    await expect(power).to_have_text("7.2 kW")
    await expect(page.locator('.connector [data-status][data-connector="1"]')).to_have_text("Charging")
    first = await energy.text_content()
    await expect(energy).not_to_have_text(first or "")
    second = await energy.text_content()
    await expect(energy).not_to_have_text(second or "")
    await shoot(page, "charge-point-charging", server)

    # The running session's chart grows with each meter reading, without a reload.
    running = await context.new_page()
    await running.goto(f"{base}/sessions/{cp.transaction_id}")
    await expect(running.locator("#live-state")).to_have_text("live")
    drawn = len((await drawn_chart(running, "session-chart"))["datasets"][0]["data"])
    await running.wait_for_function(
        """(n) => Chart.getChart(document.querySelector('[data-chart="session-chart"] canvas')).data.datasets[0].data.length > n""",
        arg=drawn)
    await running.close()

    # The overview shows the running session live too.
    overview = await context.new_page()
    await overview.goto(base + "/")
    await expect(overview.locator("#charging-now")).to_have_text("1")
    await expect(overview.locator("[data-feed] li").first).to_be_visible()
    await expect(overview.locator("[data-live-power]").first).to_have_text("7.2 kW")
    await shoot(overview, "overview", server)

    # Stop it from the page (it asks first).
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Stop session").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]').last).to_contain_text("RemoteStopTransaction")
    await expect(page.locator('.connector [data-status][data-connector="1"]')).to_have_text("Available")
    await expect(page.get_by_role("button", name="Stop session")).to_have_count(0)
    assert cp.meter_stop is not None and cp.meter_start is not None
    delivered = cp.meter_stop - cp.meter_start
    await expect(overview.locator("#charging-now")).to_have_text("0")

    # The finished session, with the right energy.
    await page.goto(base + "/sessions")
    session_row = page.locator(f'[data-session-row="{cp_transaction(cp)}"]')
    await expect(session_row).to_contain_text(f"{delivered / 1000:,.2f} kWh")
    await expect(session_row).to_contain_text("Remote")
    await shoot(page, "sessions", server)
    await session_row.get_by_role("link", name=f"#{cp_transaction(cp)}").click()
    await expect(page.locator("#session-energy")).to_have_text(f"{delivered / 1000:,.2f} kWh")
    await expect(page.locator("#session-stop-reason")).to_have_text("Remote")
    # Chart.js draws the energy line (up to the session's energy) and the power line on its canvas.
    chart = await drawn_chart(page, "session-chart")
    energy_line, power_line = chart["datasets"]
    assert energy_line["label"].startswith("Energy") and power_line["label"].startswith("Power")
    assert len(energy_line["data"]) > 1 and max(values(energy_line)) == pytest.approx(delivered / 1000)
    assert len(power_line["data"]) >= 1 and max(values(power_line)) == pytest.approx(7.2)
    await expect(page.locator("table.meter-values tbody tr").first).to_be_visible()
    await shoot(page, "session", server)

    # The rest of the pages, on a desktop and on a phone.
    await page.goto(base + "/messages?charge_point_id=CP-BROWSER")
    await page.locator(".exchange summary", has_text="RemoteStartTransaction").first.click()
    await expect(page.locator(".exchange details[open] pre").first).to_contain_text("DRIVER-1")
    await shoot(page, "messages", server)
    await page.goto(base + "/charge-points/CP-BROWSER/configuration")
    await expect(page.get_by_label("Value of HeartbeatInterval")).to_have_value("300")
    await shoot(page, "configuration", server)
    await page.goto(base + "/id-tags")
    await shoot(page, "id-tags", server)
    await page.goto(base + "/charge-points/CP-BROWSER")
    await shoot(page, "charge-point", server)

    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                      storage_state=await context.storage_state())
    small = await phone.new_page()
    for name, path in [("overview", "/"), ("charge-points", "/charge-points"),
                       ("charge-point", "/charge-points/CP-BROWSER"), ("sessions", "/sessions"),
                       ("session", f"/sessions/{cp_transaction(cp)}"), ("id-tags", "/id-tags"),
                       ("messages", "/messages")]:
        await small.goto(base + path)
        await expect(small.locator("main h1")).to_be_visible()
        # Nothing wider than the screen: the page never scrolls sideways.
        assert await small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        await shoot(small, f"phone-{name}", server)
    await phone.close()

    # Log out: the pages are closed again.
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await page.goto(base + "/sessions")
    await expect(page).to_have_url(re.compile(r"/login"))
    await context.close()


def cp_transaction(cp: Any) -> int:
    return cp.last_transaction_id  # type: ignore[no-any-return]
