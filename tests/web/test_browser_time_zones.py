"""A new operator's dashboard speaks the browser's time zone from the first login (real Chromium)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.web.charts import drawn_chart
from tests.web.conftest import PASSWORD, USERNAME
from tests.web.test_browser import DESKTOP, PHONE, browser, patient, shoot  # noqa: F401  (browser: the fixture)
from tests.web.test_time_zones import LATE_EVENING, add_session
from voltline.app import Voltline
from voltline.store import tables as t

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.browser


async def test_a_new_operator_sees_times_in_the_browsers_zone(server: Voltline, operator: Any, connect: Any,
                                                              browser: Browser) -> None:  # noqa: F811
    base = f"http://127.0.0.1:{server.http_port}"
    await add_session(server, 201, LATE_EVENING)
    context = await browser.new_context(viewport=DESKTOP, timezone_id="America/New_York")
    page = await context.new_page()
    patient(page)

    await page.goto(base + "/login")
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.locator(".who [data-zone]")).to_have_text("America/New_York")
    stored = await server.store.fetch_one(sa.select(t.users.c.time_zone).where(t.users.c.username == USERNAME))
    assert stored is not None and stored[0] == "America/New_York"

    # A live event's time, written by the page's script, reads like the server's.
    await expect(page.locator("#live-state")).to_have_text("live")
    await server.services.charge_points.register("CP-LIVE")
    await connect("CP-LIVE")
    item = page.locator("[data-feed] li.new", has_text="CP-LIVE").first
    await expect(item.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T$"))

    # 23:30 UTC on 28 March is 19:30 the same day in New York (summer time since 8 March).
    await page.goto(base + "/sessions")
    row = page.locator('[data-session-row="201"]')
    await expect(row).to_contain_text("2026-03-28 19:30:00 EDT")
    await expect(page.get_by_text("Started from (America/New_York)")).to_be_visible()
    await page.get_by_label("Started from (America/New_York)").fill("2026-03-28")
    await page.get_by_label("to (America/New_York)").fill("2026-03-28")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"since=2026-03-28"))
    await expect(row).to_be_visible()
    await shoot(page, "tz-sessions", server)
    await page.set_viewport_size(PHONE)
    await shoot(page, "tz-sessions-phone", server)

    # The session's chart reads its axis in the zone too (its first tick is the start, 19:30).
    await page.set_viewport_size(DESKTOP)
    await page.goto(base + "/sessions/201")
    await expect(page.get_by_text("2026-03-28 19:30:00 EDT").first).to_be_visible()
    chart = await drawn_chart(page, "session-chart")
    assert chart["ticks"]["x"][0] == "19:30:00"

    # The account page offers the zone the browser is in; choosing another is kept.
    await page.goto(base + "/account")
    select = page.get_by_label("Show times in")
    await expect(select).to_have_value("America/New_York")
    suggest = page.get_by_role("button", name=re.compile("this browser.s zone"))
    await expect(suggest).to_contain_text("America/New_York")
    await shoot(page, "tz-account", server)
    await page.set_viewport_size(PHONE)
    await shoot(page, "tz-account-phone", server)
    await select.select_option("Europe/Berlin")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Times are now shown in Europe/Berlin")
    await suggest.click()
    await expect(select).to_have_value("America/New_York")
    await page.goto(base + "/sessions")
    await expect(page.locator('[data-session-row="201"]')).to_contain_text("2026-03-29 00:30:00 CET")
    await context.close()
