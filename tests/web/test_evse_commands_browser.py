"""The command forms of a 2.0.1 station's page in a real browser, against the simulator's 2.0.1
station: they offer EVSEs (every EVSE has a connector 1, so a bare connector number names none),
and what the operator picks there is where the station acts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration import sim_fixtures
from tests.logged_frames import store_frames
from tests.integration.sim_fixtures import METER_INTERVAL, SPEED, WAIT, Central, eventually
from tests.web.test_browser import DESKTOP, browser, log_in, patient  # noqa: F401  (fixture; skips without Playwright)
from voltline.app import Voltline
from voltline.simulator import Simulator
from voltline.services.message_log.search import FrameQuery

from playwright.async_api import Browser, Page, expect  # noqa: E402  (importable once test_browser was)

central = sim_fixtures.central


@pytest.fixture
async def two_evses(server: Voltline, central: Central) -> AsyncIterator[Any]:
    """A simulated 2.0.1 station CS-EVSE with two EVSEs of one connector each, Accepted, with
    the server holding both connectors' status."""
    await central.post("/charge-points", {"id": "CS-EVSE"}, expect=201)
    simulator = Simulator(
        f"ws://127.0.0.1:{server.ocpp_port}/ocpp", identities=["CS-EVSE"], ocpp_version="2.0.1", connectors=2,
        speed=SPEED, meter_interval=METER_INTERVAL, seed=5, reconnect_min=0.5, reconnect_max=5.0,
        call_timeout=10.0, boot_timeout=WAIT,
    )
    await simulator.start()
    try:
        await simulator.wait_accepted(WAIT)

        async def both_reported() -> bool:
            detail = await central.charge_point("CS-EVSE")
            return {(c["evse_id"], c["connector_id"]) for c in detail["connectors"]} == {(1, 1), (2, 1)}

        await eventually(both_reported, "the server holds the status of both EVSEs")
        yield simulator["CS-EVSE"]
    finally:
        await simulator.stop()


async def _page(server: Voltline, browser: Browser) -> Page:  # noqa: F811
    base = f"http://127.0.0.1:{server.http_port}"
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    patient(page)
    await log_in(page, base)
    await page.goto(base + "/charge-points/CS-EVSE")
    await expect(page.locator("#live-state")).to_have_text("live")
    return page


async def test_remote_start_on_the_evse_the_operator_picks(
    server: Voltline, operator: Any, central: Central, two_evses: Any, browser: Browser  # noqa: F811
) -> None:
    await central.add_tag("APP-EVSE")
    page = await _page(server, browser)
    start = page.locator("#rs-connector")
    # EVSEs, not bare connector numbers (connector 1 is on both).
    assert await start.locator("option").all_text_contents() == [
        "any (charging station chooses)", "EVSE 1 (Available)", "EVSE 2 (Available)",
    ]
    await page.get_by_label("Id tag").fill("APP-EVSE")
    await start.select_option(label="EVSE 2 (Available)")
    await page.get_by_role("button", name="Start charging").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("RequestStartTransaction")

    # The station started on EVSE 2, and its transaction shows there on the page, live.
    await two_evses.wait_until(lambda: two_evses.connectors[2].transaction is not None, WAIT)
    tx = two_evses.connectors[2].transaction
    assert two_evses.connectors[1].transaction is None
    evse2 = page.get_by_role("region", name="EVSE 2")
    await expect(evse2.locator(".session-live")).to_contain_text("APP-EVSE")
    await expect(page.get_by_role("region", name="EVSE 1").locator(".session-live")).to_have_count(0)

    (stored,) = (await central.get("/transactions", ocpp_transaction_id=tx.transaction_id))["items"]
    assert (stored["evse_id"], stored["connector_id"], stored["id_tag"]) == (2, 1, "APP-EVSE")
    assert stored["remote_start_id"] == tx.remote_start_id is not None
    await page.context.close()


async def test_availability_of_one_evse(
    server: Voltline, operator: Any, central: Central, two_evses: Any, browser: Browser  # noqa: F811
) -> None:
    page = await _page(server, browser)
    where = page.locator("#av-connector")
    assert await where.locator("option").all_text_contents() == [
        "the whole charging station", "EVSE 1 (Available)", "EVSE 1 connector 1 (Available)",
        "EVSE 2 (Available)", "EVSE 2 connector 1 (Available)",
    ]
    await where.select_option(label="EVSE 2 (Available)")
    await page.locator("#av-type").select_option("Inoperative")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Change availability").click()
    await expect(page.locator('.toasts [data-outcome="accepted"]')).to_contain_text("ChangeAvailability")

    # EVSE 2 alone goes out of use, at the station and on the page.
    await two_evses.wait_for_connector_status(2, "Unavailable")
    assert two_evses.status201(1) == "Available"
    await expect(page.get_by_role("region", name="EVSE 2").locator("[data-status]")).to_have_text("Unavailable")
    await expect(page.get_by_role("region", name="EVSE 1").locator("[data-status]")).to_have_text("Available")
    await expect(where.locator('option[value="2"]')).to_have_text("EVSE 2 (Unavailable)")

    await central.log_written()
    rows = await store_frames(server.store, FrameQuery(
        charge_point_id="CS-EVSE", direction="out", message_types=(2,), action="ChangeAvailability"))
    assert [json.loads(r.payload)[3] for r in rows] == [{"operationalStatus": "Inoperative", "evse": {"id": 2}}]
    await page.context.close()
