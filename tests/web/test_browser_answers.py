"""The operator sees what happened, in a real browser: the OCPP status of each answer (in the
command forms, the message log and the live feed), offline charge points shown offline with
their commands disabled, a live indicator that tells the truth, confirmations before what cannot
be undone, and charge points in natural order.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.test_browser import DESKTOP, PHONE, browser, log_in, patient  # noqa: F401  (fixture; skips without Playwright)
from voltline.app import Voltline

from playwright.async_api import Browser, Dialog, Page, expect  # noqa: E402  isort: skip

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


async def shoot(page: Page, server: Voltline, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    backend = "sqlite" if server.settings.is_sqlite else "postgresql"
    await page.screenshot(path=str(SHOTS / f"{backend}-{name}.png"), full_page=True)


async def new_page(browser: Browser, server: Voltline, viewport: dict[str, int] = DESKTOP) -> Page:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    patient(page)
    await log_in(page, f"http://127.0.0.1:{server.http_port}")
    return page


async def flush_log(server: Voltline) -> None:
    written = server.services.message_log.flush()  # the log is written in the background
    if written is not None:
        await written


async def until(condition: Any) -> None:
    async with asyncio.timeout(15):
        while not condition():
            await asyncio.sleep(0.05)


def accept_dialogs(page: Page) -> list[str]:
    asked: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", on_dialog)
    return asked


async def test_a_rejected_answer_is_shown_rejected(server: Voltline, operator: Any, station: Any,
                                                   browser: Browser) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    cp = await station("CP-NO")
    cp.answers["Reset"] = {"status": "Rejected"}
    cp.answers["ClearCache"] = {"status": "Rejected"}
    page = await new_page(browser, server)
    overview = await page.context.new_page()
    await overview.goto(base + "/")
    await expect(overview.locator("#live-state")).to_have_text("live")

    await page.goto(base + "/charge-points/CP-NO")
    asked = accept_dialogs(page)
    await page.locator("#reset-type").select_option("Hard")
    await page.get_by_role("button", name="Reset", exact=True).click()
    toast = page.locator('.toasts [data-outcome="rejected"]')
    await expect(toast.locator('[data-answer-status="Rejected"]')).to_have_class(re.compile(r"\bbadge-bad\b"))
    await expect(toast).to_have_class(re.compile(r"\bnotice-bad\b"))
    assert asked and "Reset CP-NO" in asked[0]

    # The generic command: an example payload per action, and the charge point's answer in full.
    await page.locator("summary", has_text="Send any OCPP command").click()
    await expect(page.locator("#raw-action")).to_have_value("GetConfiguration")
    await expect(page.locator("#raw-payload")).to_have_value(re.compile(r'"key"'))
    await page.locator("#raw-action").select_option("ChangeAvailability")
    await expect(page.locator("#raw-payload")).to_have_value(re.compile(r'"type": "Inoperative"'))
    await page.locator("#raw-action").select_option("GetConfiguration")
    await page.get_by_role("button", name="Send", exact=True).click()
    answer = page.locator("[data-command-answer]")
    await expect(answer.locator("pre")).to_contain_text('"key": "HeartbeatInterval"')
    await expect(answer.locator("pre")).to_contain_text('"value": "300"')
    await expect(answer.locator("[data-answer-status]")).to_have_text("answered")
    await page.locator("#raw-action").select_option("ClearCache")
    await expect(page.locator("#raw-payload")).to_have_value("{}")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(answer.locator('[data-answer-status="Rejected"]')).to_have_class(re.compile(r"\bbadge-bad\b"))
    await expect(answer.locator("pre")).to_contain_text('"status": "Rejected"')
    await shoot(page, server, "answers-charge-point")

    # The live feed told it as it happened, in red.
    feed = overview.locator("[data-feed] li", has_text="answered Reset")
    await expect(feed.locator('[data-answer-status="Rejected"]')).to_have_class(re.compile(r"\bbadge-bad\b"))

    # The message log: the Reset with its Rejected, the remote start's answer in green.
    await flush_log(server)
    await page.goto(base + "/messages?charge_point_id=CP-NO")
    reset = page.locator(".exchange", has_text="Reset")
    await expect(reset.locator('[data-answer-status="Rejected"]')).to_have_class(re.compile(r"\bbadge-bad\b"))
    boot = page.locator(".exchange", has_text="BootNotification")
    await expect(boot.locator('[data-answer-status="Accepted"]')).to_have_class(re.compile(r"\bbadge-ok\b"))
    status = page.locator(".exchange", has_text="StatusNotification").first
    await expect(status.locator("[data-answer-status]")).to_have_text("answered")
    await expect(status.locator("[data-answer-status]")).to_have_class(re.compile(r"\bbadge-muted\b"))
    await shoot(page, server, "answers-messages")
    # And the overview's feed, as it is loaded.
    await overview.reload()
    seeded = overview.locator("[data-feed] li", has_text="Reset").first
    await expect(seeded.locator('[data-answer-status="Rejected"]')).to_be_visible()
    await shoot(overview, server, "answers-overview")


async def test_an_offline_charge_point_is_shown_offline(server: Voltline, operator: Any, station: Any,
                                                        browser: Browser) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    cp = await station("CP-GONE")
    await cp.status(2, "Available")
    await cp.close()
    page = await new_page(browser, server)
    await expect(page.locator("#cp-connected")).to_contain_text("0")  # the disconnect is recorded

    await page.goto(base + "/")
    bars = page.locator("#status-title + .bars")
    await expect(bars.locator("li", has_text="Offline")).to_contain_text("2")
    await expect(bars.locator("li", has_text="Available")).to_have_count(0)
    await shoot(page, server, "offline-overview")
    await bars.get_by_role("link", name="Offline").click()
    await expect(page.locator("[data-cp-row]")).to_have_count(1)
    await page.goto(base + "/charge-points?status=Available")  # what it last reported is not now
    await expect(page.locator("[data-cp-row]")).to_have_count(0)

    await page.goto(base + "/charge-points")
    row = page.locator('[data-cp-row="CP-GONE"]')
    await expect(row.locator("[data-status]").first).to_have_text("1 · offline (last reported: Available)")

    await page.goto(base + "/charge-points/CP-GONE")
    await expect(page.locator('.connector [data-status][data-connector="1"]')).to_have_text(
        "offline (last reported: Available)")
    reason = page.locator("[data-offline-reason]")
    await expect(reason).to_be_visible()
    await expect(reason).to_contain_text("CP-GONE is offline")
    for name in ("Start charging", "Reset", "Change availability", "Unlock", "Trigger", "Clear authorization cache"):
        await expect(page.get_by_role("button", name=name, exact=True).first).to_be_disabled()
    await shoot(page, server, "offline-charge-point")
    await page.goto(base + "/charge-points/CP-GONE/configuration")
    await expect(page.locator("[data-offline-reason]")).to_contain_text("CP-GONE is offline")
    await expect(page.locator("details.raw-command button[type=submit]")).to_be_disabled()
    await page.goto(base + "/charge-points/CP-GONE")
    phone = await new_page(browser, server, PHONE)
    await phone.goto(base + "/charge-points/CP-GONE")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await shoot(phone, server, "phone-offline-charge-point")
    await phone.goto(base + "/charge-points")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await shoot(phone, server, "phone-offline-charge-points")

    # It comes back while the operator watches: the commands come back too.
    await station("CP-GONE")
    await expect(page.locator('.connector [data-status][data-connector="1"]')).to_have_text("Available")
    await expect(reason).to_be_hidden()
    await expect(page.get_by_role("button", name="Reset", exact=True)).to_be_enabled()
    await expect(page.get_by_role("button", name="Start charging")).to_be_enabled()


@pytest.fixture
async def restartable(start_server: Any) -> Any:
    """Starts the server again on the same ports and database, with the same session key."""

    async def start(port: int = 0, ocpp_port: int = 0) -> Voltline:
        return await start_server(port=port, ocpp_port=ocpp_port, secret_key="a key kept across restarts")

    return start


async def test_the_live_indicator_tells_when_the_server_is_gone(restartable: Any, browser: Browser) -> None:
    from tests.web.conftest import PASSWORD, USERNAME
    from voltline.services.security.operators import UserService

    server = await restartable()
    await UserService(server.store).create(USERNAME, PASSWORD)
    port, ocpp_port = server.http_port, server.ocpp_port
    page = await new_page(browser, server)
    indicator = page.locator("#live-state")

    # The server refuses the stream: disconnected, then live again once it answers.
    async def refuse(route: Any) -> None:
        await route.fulfill(status=503, body="overloaded")

    await page.route("**/live", refuse)
    await page.reload()
    await expect(indicator).to_have_text("disconnected — reconnecting")
    await page.unroute("**/live")
    await expect(indicator).to_have_text("live", timeout=20_000)

    # The server stops: disconnected. It starts again on the same port: live, and the page
    # fetches what changed while it was gone (the events of that time were never sent).
    await server.stop()
    await expect(indicator).to_have_text("disconnected — reconnecting", timeout=20_000)
    await expect(page.locator("#cp-connected")).to_contain_text("/ 0")

    async def down(route: Any) -> None:
        await route.abort()

    await page.route("**/live", down)  # held off until the change below is made
    again = await restartable(port, ocpp_port)
    await again.services.charge_points.register("CP-WHILE-AWAY")
    await page.unroute("**/live")
    await expect(indicator).to_have_text("live", timeout=20_000)
    await expect(page.locator("#cp-connected")).to_contain_text("/ 1")


async def test_stopping_a_session_asks_first_and_remote_start_offers_a_free_connector(
    server: Voltline, operator: Any, station: Any, browser: Browser
) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    await server.services.id_tags.create("ZED")
    await server.services.id_tags.create("ALPHA")
    cp = await station("CP-ASK", period_s=0.5)
    await cp.status(2, "Available")
    page = await new_page(browser, server)
    await page.goto(base + "/charge-points/CP-ASK")
    await expect(page.locator("#rs-tag")).to_have_value("")  # the operator chooses the tag
    await expect(page.locator("#rs-connector")).to_have_value("1")
    await page.locator("#rs-tag").fill("ALPHA")
    await page.get_by_role("button", name="Start charging").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("RemoteStartTransaction")
    await asyncio.wait_for(cp.started.wait(), 10)
    await expect(page.locator('.connector [data-status][data-connector="1"]')).to_have_text("Charging")
    await page.reload()
    await expect(page.locator("#rs-connector")).to_have_value("2")  # connector 1 is busy now

    # No: nothing is sent. Yes: the session stops.
    asked: list[str] = []

    async def refuse(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", refuse)
    await page.get_by_role("button", name="Stop session").click()
    await until(lambda: len(asked) == 1)
    assert f"Stop session #{cp.transaction_id}" in asked[0] and "ALPHA" in asked[0]
    await expect(page.locator(".toasts .notice")).to_have_count(0)  # nothing was sent
    assert cp.transaction_id is not None and not cp.stopped.is_set()
    accepted = accept_dialogs(page)
    await page.get_by_role("button", name="Stop session").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]').last).to_contain_text("RemoteStopTransaction")
    await asyncio.wait_for(cp.stopped.wait(), 10)
    assert accepted

    # Making a connector Inoperative asks; making it Operative does not.
    await page.locator("#av-type").select_option("Inoperative")
    await page.get_by_role("button", name="Change availability").click()
    await until(lambda: len(accepted) == 2)
    assert "Inoperative" in accepted[1]
    await page.locator("#av-type").select_option("Operative")
    await page.get_by_role("button", name="Change availability").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]', has_text="ChangeAvailability")).to_have_count(2)
    assert len(accepted) == 2
    await page.get_by_role("button", name="Unlock", exact=True).first.click()
    await until(lambda: len(accepted) == 3)


async def test_charge_points_are_in_natural_order(server: Voltline, operator: Any, api: httpx.AsyncClient,
                                                  browser: Browser) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    for identity in ("CP-10", "CP-2", "CP-1", "AB-3", "CP-21", "CP-3"):
        await server.services.charge_points.register(identity)
    natural = ["AB-3", "CP-1", "CP-2", "CP-3", "CP-10", "CP-21"]
    page = await new_page(browser, server)
    await page.goto(base + "/charge-points")
    await expect(page.locator("[data-cp-row]")).to_have_count(6)
    assert await page.locator("[data-cp-row]").evaluate_all("rows => rows.map(r => r.dataset.cpRow)") == natural

    listed = (await api.get("/api/v1/charge-points")).json()
    assert [p["id"] for p in listed["items"]] == natural
    paged = [p["id"] for offset in (0, 2, 4)
             for p in (await api.get("/api/v1/charge-points", params={"limit": 2, "offset": offset})).json()["items"]]
    assert paged == natural
