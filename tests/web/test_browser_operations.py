"""Reservations, charging profiles, firmware updates and diagnostics from the dashboard, in a real
browser, against a simulated charge point that answers with their real effect.

Screenshots of each new page and form at desktop and phone width go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.v201 import call

from tests.commands.station201 import station as station201
from tests.integration.sim_fixtures import Central, central, eventually, station  # noqa: F401
from tests.web.test_browser import PHONE, SCREENSHOTS, backend_of, browser, log_in, patient  # noqa: F401
from tests.web.test_browser import shoot as shoot_page
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
# Sections of the charge point page shot on their own too: a whole phone page is too tall to read.
SECTIONS = {"reservations": "#reservations-title", "profiles": "#profiles-title", "maintenance": "#maintenance-title"}


async def shoot(page: Page, name: str, server: Voltline) -> None:
    """The page without the notices floating over it (they are asserted on, not looked at)."""
    await page.evaluate("document.querySelectorAll('.toasts .notice').forEach((n) => n.remove())")
    await shoot_page(page, name, server)
    if "/charge-points/" in page.url:
        for section, heading in SECTIONS.items():
            card = page.locator(heading).locator("xpath=ancestor::section[1]")
            await card.screenshot(path=str(SCREENSHOTS / f"{backend_of(server)}-{name}-{section}.png"))


async def open_dashboard(server: Voltline, browser: Browser) -> tuple[Any, Page, str]:  # noqa: F811
    base = f"http://127.0.0.1:{server.http_port}"
    # The operator's zone is the browser's (sent at login): UTC here, so the times typed are UTC.
    context = await browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    page = await context.new_page()
    patient(page)
    await log_in(page, base)
    return context, page, base


async def on_phone(browser: Browser, context: Any, base: str, server: Voltline, shots: dict[str, str]) -> None:  # noqa: F811
    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, timezone_id="UTC",
                                      storage_state=await context.storage_state())
    small = await phone.new_page()
    for name, path in shots.items():
        await small.goto(base + path)
        await expect(small.locator("main h1")).to_be_visible()
        assert await small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        await shoot(small, f"phone-{name}", server)
    await phone.close()


async def test_a_profile_built_in_the_form_is_installed_and_a_bad_one_refused(
    server: Voltline, operator: Any, central: Central, station: Any, browser: Browser  # noqa: F811
) -> None:
    cp = await station("CP-SC", connectors=2, speed=1.0)
    await central.add_tag("DRIVER-SC")
    context, page, base = await open_dashboard(server, browser)

    await page.goto(base + "/charge-points/CP-SC")
    await page.get_by_role("link", name="New charging profile").click()
    await expect(page.get_by_role("heading", name="New charging profile for CP-SC")).to_be_visible()
    # A daily profile on connector 2: 16 A, then 10 A on one phase from 06:00.
    await page.get_by_label("Purpose").select_option("TxDefaultProfile")
    await page.get_by_label("Connector").select_option("2")
    await page.get_by_label("Stack level").fill("2")
    await page.get_by_label("Kind").select_option("Recurring")
    await expect(page.get_by_label("Recurrency")).to_be_visible()
    await page.get_by_label("Recurrency").select_option("Daily")
    await page.get_by_label("Schedule start").fill("2026-01-01T00:00")
    await page.get_by_label("Rate unit").select_option("A")
    await page.get_by_label("Period 1 limit").fill("16")
    await page.get_by_role("button", name="Add period").click()
    await page.get_by_label("Period 2 start offset").fill("21600")
    await page.get_by_label("Period 2 limit").fill("10")
    await page.get_by_label("Period 2 phases").select_option("1")
    await page.get_by_role("button", name="Add period").click()
    await page.get_by_role("button", name="Remove period 3").click()
    await expect(page.locator("[data-period]")).to_have_count(2)
    await page.get_by_label("Minimum charging rate").fill("6")
    await shoot(page, "charging-profile-form", server)
    await page.get_by_role("button", name="Send SetChargingProfile").click()

    # Listed as installed, and the simulated charge point holds it as built.
    await expect(page.get_by_role("heading", name="Charging profiles")).to_be_visible()
    await expect(page.locator(".notice-ok")).to_contain_text("installed the charging profile 1 on connector 2")
    row = page.locator('[data-profile-row="CP-SC/1"]')
    await expect(row).to_contain_text("TxDefaultProfile")
    await expect(row).to_contain_text("Recurring (Daily)")
    await expect(row).to_contain_text("21600 s: 10.0 A ×1")
    await expect(row).to_contain_text("Active")
    held = {p.id: p for p in cp.profiles.installed}
    assert list(held) == [1] and held[1].connector_id == 2
    assert held[1].profile == {
        "chargingProfileId": 1, "stackLevel": 2, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Recurring", "recurrencyKind": "Daily",
        "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": "2026-01-01T00:00:00.000Z", "minChargingRate": 6.0,
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0},
                                                        {"startPeriod": 21600, "limit": 10.0, "numberPhases": 1}]},
    }
    await shoot(page, "charging-profiles", server)

    # What the charge point makes of it all: GetCompositeSchedule, as a table.
    await page.goto(base + "/charging-profiles/composite?charge_point_id=CP-SC")
    await page.get_by_label("Connector").select_option("2")
    await page.get_by_label("Duration (s)").fill("86400")
    await page.get_by_label("Unit").select_option("A")
    await page.get_by_role("button", name="Ask the charge point").click()
    await expect(page.locator("[data-composite-status]")).to_have_text("Accepted")
    # The daily profile changes its limit within the day: more than one period.
    await expect(page.locator("[data-composite-limit]").nth(1)).to_contain_text(" A")
    await shoot(page, "composite-schedule", server)

    # Periods out of order: the form says so before anything is sent.
    await page.goto(base + "/charging-profiles/new?charge_point_id=CP-SC")
    await page.get_by_label("Period 1 limit").fill("16")
    await page.get_by_role("button", name="Add period").click()
    await page.get_by_label("Period 2 start offset").fill("0")
    await page.get_by_label("Period 2 limit").fill("8")
    await page.get_by_role("button", name="Send SetChargingProfile").click()
    await expect(page.locator('[data-error-for="period_start.1"]')).to_have_text(
        "Period 2 start offset: must be later than the period before it (0 s)")
    await expect(page).to_have_url(f"{base}/charging-profiles/new?charge_point_id=CP-SC")

    # A TxProfile for a session that ended after the form was opened: the server refuses it and
    # names the field; the charge point is never asked.
    tx = await cp.plug_in(1, "DRIVER-SC")
    assert tx is not None
    await eventually(lambda: central.transactions("CP-SC"), "the session is stored")
    await page.goto(base + "/charging-profiles/new?charge_point_id=CP-SC")
    await page.get_by_label("Purpose").select_option("TxProfile")
    await page.get_by_label("Transaction").select_option(str(tx.transaction_id))
    await expect(page.get_by_label("Connector")).to_have_value("1")
    await page.get_by_label("Period 1 limit").fill("12")
    await cp.stop_charging(1)
    await central.wait_stopped(tx.transaction_id)
    await page.get_by_role("button", name="Send SetChargingProfile").click()
    problems = page.locator("[data-problems]")
    await expect(problems).to_contain_text(
        f"Transaction: transaction {tx.transaction_id} is not running on connector 1")
    await expect(page.locator('[data-error-for="transaction_id"]')).to_be_visible()
    await shoot(page, "charging-profile-refused", server)
    assert [p.id for p in cp.profiles.installed] == [1]

    # Cleared from the charge point's page: gone from the charge point too.
    await page.goto(base + "/charge-points/CP-SC")
    await expect(page.locator('[data-profile-row="1"]')).to_contain_text("21600 s: 10.0 A")
    await shoot(page, "charge-point-profile", server)
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator('[data-profile-row="1"]').get_by_role("button", name="Clear").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("ClearChargingProfile")
    await expect(page.locator('[data-profile-row="1"]')).to_have_count(0)
    assert cp.profiles.installed == []

    await on_phone(browser, context, base, server, {
        "charging-profiles": "/charging-profiles?status=",
        "charging-profile-form": "/charging-profiles/new?charge_point_id=CP-SC",
        "composite-schedule": "/charging-profiles/composite?charge_point_id=CP-SC&connector_id=2&duration=86400&unit=A",
    })
    await context.close()


async def test_reserve_and_cancel_from_the_charge_point_page(
    server: Voltline, operator: Any, central: Central, station: Any, browser: Browser  # noqa: F811
) -> None:
    cp = await station("CP-RES", connectors=2, speed=1.0)  # its reservations expire in real time
    await central.add_tag("GUEST-1")
    await central.add_tag("GUEST-2")
    context, page, base = await open_dashboard(server, browser)
    await page.goto(base + "/charge-points/CP-RES")

    form = page.get_by_role("form", name="Reserve a connector")
    await form.get_by_label("Connector").select_option("2")
    await form.get_by_label("Reserved for").select_option("GUEST-2")
    await form.get_by_role("button", name="Reserve").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("ReserveNow")
    first = page.locator("#reservations-title").locator("xpath=ancestor::section").locator("[data-reservation-row]").first
    await expect(first.locator("[data-reservation-status]")).to_have_text("Reserved")
    reservation = cp.connectors[2].reservation
    assert reservation is not None and reservation.id_tag == "GUEST-2"
    await shoot(page, "charge-point-reserved", server)

    # The same connector again: the charge point's refusal is shown as such.
    await form.get_by_label("Connector").select_option("2")
    await form.get_by_label("Reserved for").select_option("GUEST-1")
    await form.get_by_role("button", name="Reserve").click()
    await expect(page.locator('.toasts [data-outcome="rejected"]')).to_contain_text("ReserveNow: Occupied")
    await expect(first.locator("[data-reservation-status]")).to_have_text("Occupied")

    # The list, filtered to those that hold a connector now, and cancelled from there.
    await page.goto(base + "/reservations?charge_point_id=CP-RES&active=yes")
    rows = page.locator("[data-reservation-row]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("GUEST-2")
    await shoot(page, "reservations", server)
    page.once("dialog", lambda dialog: dialog.accept())
    await rows.first.get_by_role("button", name="Cancel reservation").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("CancelReservation")
    await eventually(lambda: cp.connectors[2].reservation is None, "the simulator drops the reservation")
    await page.goto(base + "/reservations?charge_point_id=CP-RES")
    await expect(page.locator("[data-reservation-status]").filter(has_text="Cancelled")).to_have_count(1)
    await expect(page.locator("[data-reservation-status]").filter(has_text="Occupied")).to_have_count(1)

    await on_phone(browser, context, base, server, {"reservations": "/reservations",
                                                    "charge-point-reserved": "/charge-points/CP-RES"})
    await context.close()


async def test_firmware_update_and_diagnostics_show_their_notifications_as_they_arrive(
    server: Voltline, operator: Any, central: Central, station: Any, browser: Browser  # noqa: F811
) -> None:
    cp = await station("CP-FW")
    context, page, base = await open_dashboard(server, browser)
    await page.goto(base + "/charge-points/CP-FW")

    update = page.get_by_role("form", name="Update firmware")
    await update.get_by_label("Location (URL)").fill("https://firmware.example/sim-2.0.bin")
    await update.get_by_label("Retries").fill("2")
    await update.get_by_label("Retry interval (s)").fill("30")
    page.once("dialog", lambda dialog: dialog.accept())
    await update.get_by_role("button", name="Update firmware").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("UpdateFirmware")

    # Downloading … Installed arrive in the history without a reload, in the order sent.
    history = page.locator('.maintenance-history [data-event-kind="firmware"] [data-event-status]')
    await expect(history.first).to_have_text("Installed", timeout=30_000)
    statuses = await history.all_text_contents()
    assert [s for s in statuses if s != "Requested"] == ["Installed", "Installing", "Downloaded", "Downloading"]
    assert "Requested" in statuses
    assert [s for n, s in cp.maintenance.history if n == "FirmwareStatusNotification"] == [
        "Downloading", "Downloaded", "Installing", "Installed"]
    await expect(page.locator("[data-firmware-status]")).to_contain_text("sim-2.0")
    await expect(page.locator("[data-firmware-status]")).to_contain_text("Installed")

    diagnostics = page.get_by_role("form", name="Get diagnostics")
    await diagnostics.get_by_label("Upload to (URL)").fill("ftp://logs.example/upload/")
    await diagnostics.get_by_label("From").fill("2026-01-02T00:00")
    await diagnostics.get_by_label("Until").fill("2026-01-01T00:00")
    await diagnostics.get_by_role("button", name="Get diagnostics").click()
    await expect(page.locator('.toasts [data-outcome="invalid"]')).to_contain_text(
        "Until: must be later than the start time")
    await diagnostics.get_by_label("Until").fill("2026-01-03T00:00")
    await diagnostics.get_by_role("button", name="Get diagnostics").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]').last).to_contain_text("will upload diagnostics-CP-FW")
    uploads = page.locator('.maintenance-history [data-event-kind="diagnostics"] [data-event-status]')
    await expect(uploads.first).to_have_text("Uploaded", timeout=30_000)
    await expect(page.locator("[data-diagnostics-status]")).to_have_text("Uploaded")
    await shoot(page, "charge-point-firmware", server)

    await on_phone(browser, context, base, server, {"charge-point-firmware": "/charge-points/CP-FW"})
    await context.close()


async def test_the_composite_schedule_of_a_201_station_is_asked_for_an_evse(
    server: Voltline, operator: Any, browser: Browser  # noqa: F811
) -> None:
    """The same form for a 2.0.1 station names EVSEs, and the request goes out with evseId."""
    await server.services.charge_points.register("CS-SC")
    async with station201(server, "CS-SC") as cs:
        assert await cs.boot() == "Accepted"
        for evse in (1, 2):
            await cs.call(call.StatusNotification(timestamp="2026-12-02T05:00:00Z", connector_status="Available",
                                                  evse_id=evse, connector_id=1))
        context, page, base = await open_dashboard(server, browser)
        await page.goto(base + "/charging-profiles/composite?charge_point_id=CS-SC")
        await page.get_by_label("EVSE").select_option("2")
        await page.get_by_label("Duration (s)").fill("600")
        await page.get_by_label("Unit").select_option("A")
        cs.will_answer("GetCompositeSchedule", {"status": "Accepted", "schedule": {
            "evseId": 2, "duration": 600, "scheduleStart": "2026-12-02T06:00:00Z", "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 300, "limit": 10.0}]}})
        await page.get_by_role("button", name="Ask the charge point").click()
        assert await cs.next_request("GetCompositeSchedule") == {"evseId": 2, "duration": 600, "chargingRateUnit": "A"}
        await expect(page.locator("[data-composite-status]")).to_have_text("Accepted")
        await expect(page.locator("[data-composite-limit]").nth(1)).to_have_text("10.0 A")
        await expect(page.locator("[data-composite]")).to_contain_text("on EVSE 2")
        await shoot(page, "composite-schedule-201", server)
        await context.close()
