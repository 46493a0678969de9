"""Managing the system from the dashboard in a real browser (headless Chromium): charge points
added, changed and deleted; a refused unknown charge point registered in a click; id tags
deleted and imported from CSV; API tokens created and revoked; operators created.

Screenshots of every management page, at desktop (1280) and phone (390) width, go to
test-artifacts/screenshots/ (VOLTLINE_SCREENSHOTS overrides the folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.ocpp_client import OcppClient
from tests.web.test_browser import CHROMIUM_ARGS, backend_of, browser, log_in, patient  # noqa: F401 (fixture)
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, BrowserContext, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("VOLTLINE_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


async def logged_in(browser: Browser, server: Voltline) -> tuple[BrowserContext, Page, str]:
    base = f"http://127.0.0.1:{server.http_port}"
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    patient(page)
    await log_in(page, base)
    return context, page, base


async def shoot_both(context: BrowserContext, browser: Browser, server: Voltline, base: str, name: str, path: str) -> None:
    """The page at `path` at desktop and phone width; a phone never scrolls sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    prefix = backend_of(server)
    for label, viewport, extra in [("desktop", DESKTOP, {}), ("phone", PHONE, {"is_mobile": True, "has_touch": True})]:
        other = await browser.new_context(viewport=viewport, storage_state=await context.storage_state(), **extra)
        page = await other.new_page()
        await page.goto(base + path)
        await expect(page.locator("main h1")).to_be_visible()
        if label == "phone":
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        await page.screenshot(path=str(SHOTS / f"{prefix}-admin-{name}-{label}.png"), full_page=True)
        await other.close()


async def test_add_edit_and_delete_a_charge_point(server: Voltline, operator: Any, browser: Browser,
                                                  api: httpx.AsyncClient) -> None:
    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/charge-points")
    await page.get_by_role("link", name="Add charge point").click()
    await expect(page.get_by_role("heading", name="Register a charge point")).to_be_visible()

    # A bad identity: the form says why and keeps what was typed.
    await page.get_by_label("Identity").fill("Bay 7")
    await page.get_by_role("button", name="Register charge point").click()
    await expect(page.locator("[data-form-problems]")).to_contain_text("may hold only the letters A-Z and a-z")
    await expect(page.get_by_label("Identity")).to_have_value("Bay 7")

    await page.get_by_label("Identity").fill("BAY-7")
    await page.get_by_label("Password (optional)").fill("bay7-secret")
    await page.get_by_label("Ping interval (s)").fill("40")
    await page.get_by_label("Description").fill("Depot, bay 7")
    await page.get_by_text("Lenient actions").click()
    await page.get_by_label("MeterValues").check()
    await page.get_by_role("button", name="Register charge point").click()
    await expect(page.get_by_role("heading", name="BAY-7")).to_be_visible()
    await expect(page.locator(".notice-ok")).to_contain_text("Registered the charge point BAY-7")

    await page.goto(base + "/charge-points")
    await expect(page.locator('[data-cp-row="BAY-7"]')).to_contain_text("Depot, bay 7")
    body = (await api.get("/api/v1/charge-points/BAY-7")).json()
    assert body["has_password"] is True and body["ping_interval"] == 40 and body["lenient_actions"] == ["MeterValues"]
    assert body["registration_status"] == "Accepted"

    # Edit: its registration status.
    await page.get_by_role("link", name="BAY-7").click()
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings of BAY-7")).to_be_visible()
    await expect(page.get_by_label("Ping interval (s)")).to_have_value("40")
    await expect(page.get_by_label("MeterValues")).to_be_checked()
    await page.get_by_label("Registration status").select_option("Pending")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Saved the settings of BAY-7")
    await expect(page.get_by_label("Registration status")).to_have_value("Pending")
    body = (await api.get("/api/v1/charge-points/BAY-7")).json()
    assert body["registration_status"] == "Pending" and body["has_password"] is True  # the password kept

    await shoot_both(context, browser, server, base, "charge-point-settings", "/charge-points/BAY-7/settings")
    await shoot_both(context, browser, server, base, "charge-point-delete", "/charge-points/BAY-7/delete")

    # Delete, typing the id to confirm.
    await page.get_by_role("link", name="Delete BAY-7…").click()
    await page.get_by_label("Type BAY-7 to confirm").fill("BAY-")
    await page.get_by_role("button", name="Delete BAY-7").click()
    await expect(page.locator("[role=alert]")).to_contain_text("Type BAY-7 exactly")
    assert (await api.get("/api/v1/charge-points/BAY-7")).status_code == 200
    await page.get_by_label("Type BAY-7 to confirm").fill("BAY-7")
    await page.get_by_role("button", name="Delete BAY-7").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Deleted the charge point BAY-7")
    await expect(page.locator('[data-cp-row="BAY-7"]')).to_have_count(0)
    assert (await api.get("/api/v1/charge-points/BAY-7")).status_code == 404
    await context.close()


async def test_a_refused_unknown_charge_point_is_registered_in_one_click(server: Voltline, operator: Any,
                                                                        browser: Browser) -> None:
    url = f"ws://127.0.0.1:{server.ocpp_port}/ocpp/CP-NEWCOMER"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await OcppClient.connect(url)
    assert refused.value.response.status_code == 404

    context, page, base = await logged_in(browser, server)
    await page.get_by_role("link", name="Admin").click()
    row = page.locator('[data-refused="CP-NEWCOMER"]')
    await expect(row).to_contain_text("not registered")
    await expect(row).to_contain_text("127.0.0.1")
    await shoot_both(context, browser, server, base, "charge-point-registration", "/admin/charge-points")
    await row.get_by_role("button", name="Register CP-NEWCOMER").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Registered CP-NEWCOMER")
    await expect(page.locator('[data-refused="CP-NEWCOMER"]')).to_have_count(0)

    client = await OcppClient.connect(url)
    try:
        answer = await client.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        assert answer[2]["status"] == "Accepted"
    finally:
        await client.close()
    await context.close()


async def test_delete_an_id_tag_and_import_a_csv_with_one_bad_row(server: Voltline, operator: Any, browser: Browser,
                                                                  api: httpx.AsyncClient, tmp_path: Path) -> None:
    await server.services.id_tags.create("OLD-CARD")
    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/id-tags")
    await page.get_by_role("link", name="Delete OLD-CARD").click()
    await expect(page.get_by_role("heading", name="Delete the id tag OLD-CARD?")).to_be_visible()
    await shoot_both(context, browser, server, base, "id-tag-delete", "/id-tags/OLD-CARD/delete")
    await page.get_by_role("button", name="Delete OLD-CARD").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Deleted the id tag OLD-CARD")
    assert (await api.get("/api/v1/id-tags/OLD-CARD")).status_code == 404

    csv_file = tmp_path / "cards.csv"
    csv_file.write_text("id_tag,status,expiry_date,parent_id_tag,max_active_transactions\n"
                        "FLEET,Accepted,,,0\n"
                        "CAR-1,Accepted,2031-06-30T12:00:00Z,FLEET,\n"
                        "CAR-2,Accepted,next year,,\n")
    await page.get_by_role("link", name="Import from CSV…").click()
    await shoot_both(context, browser, server, base, "id-tag-import", "/id-tags/import/csv")
    await page.get_by_label("CSV file").set_input_files(str(csv_file))
    await page.get_by_role("button", name="Check the file").click()
    report = page.locator("[data-import-report]")
    await expect(report).to_contain_text("Preview: nothing is written yet")
    await expect(page.locator('[data-count="created"]')).to_have_text("2")
    await expect(page.locator('[data-count="rejected"]')).to_have_text("1")
    await expect(page.locator("#rejected-rows")).to_contain_text("CAR-2")
    await expect(page.locator("#rejected-rows")).to_contain_text("is not an ISO 8601 date and time")
    await page.screenshot(path=str(SHOTS / f"{backend_of(server)}-admin-id-tag-import-preview-desktop.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(SHOTS / f"{backend_of(server)}-admin-id-tag-import-preview-phone.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)
    assert (await api.get("/api/v1/id-tags/FLEET")).status_code == 404

    await page.get_by_role("button", name="Import 2 valid rows, skip 1 rejected").click()
    await expect(report).to_contain_text("Imported")
    await expect(page.locator('[data-count="created"]')).to_have_text("2")
    assert (await api.get("/api/v1/id-tags/FLEET")).json()["max_active_transactions"] == 0
    assert (await api.get("/api/v1/id-tags/CAR-1")).json()["parent_id_tag"] == "FLEET"
    assert (await api.get("/api/v1/id-tags/CAR-2")).status_code == 404
    await page.goto(base + "/id-tags")
    await expect(page.get_by_role("link", name="CAR-1", exact=True)).to_be_visible()
    await shoot_both(context, browser, server, base, "id-tags", "/id-tags")
    await context.close()


async def test_an_id_tag_gets_its_token_type_from_the_forms_and_the_csv_import(
    server: Voltline, operator: Any, browser: Browser, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/id-tags")
    await page.get_by_label("Id tag", exact=True).fill("APP-USER")
    assert await page.get_by_label("Token type").input_value() == "ISO14443"  # what a 1.6 tag is
    await page.get_by_label("Token type").select_option("Central")
    await page.get_by_role("button", name="Create id tag").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Created the id tag APP-USER")
    assert (await api.get("/api/v1/id-tags/APP-USER")).json()["token_type"] == "Central"
    await expect(page.locator("tr", has_text="APP-USER")).to_contain_text("Central")

    await page.get_by_role("link", name="APP-USER", exact=True).click()
    assert await page.get_by_label("Token type").input_value() == "Central"
    await page.get_by_label("Token type").select_option("KeyCode")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Saved the id tag APP-USER")
    assert (await api.get("/api/v1/id-tags/APP-USER")).json()["token_type"] == "KeyCode"

    csv_file = tmp_path / "typed.csv"
    csv_file.write_text("id_tag,token_type\nEMAID-1,eMAID\nPLAIN-1,\nAPP-USER,MacAddress\nODD-1,Barcode\n")
    await page.goto(base + "/id-tags/import/csv")
    await expect(page.locator("main")).to_contain_text("token_type")
    await page.get_by_label("CSV file").set_input_files(str(csv_file))
    await page.get_by_role("button", name="Check the file").click()
    await expect(page.locator('[data-count="created"]')).to_have_text("2")
    await expect(page.locator('[data-count="updated"]')).to_have_text("1")
    await expect(page.locator("#rejected-rows")).to_contain_text("token_type must be one of")
    await page.get_by_role("button", name="Import 3 valid rows, skip 1 rejected").click()
    await expect(page.locator("[data-import-report]")).to_contain_text("Imported")
    types = {t["id_tag"]: t["token_type"] for t in (await api.get("/api/v1/id-tags")).json()["items"]}
    assert types == {"APP-USER": "MacAddress", "EMAID-1": "eMAID", "PLAIN-1": "ISO14443"}
    await context.close()


async def test_a_token_is_shown_once_works_and_stops_when_revoked(server: Voltline, operator: Any,
                                                                  browser: Browser) -> None:
    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/admin/tokens")
    await page.get_by_label("Name").fill("billing export")
    await page.get_by_role("button", name="Create token").click()
    secret = (await page.locator("#token-secret").text_content() or "").strip()
    assert len(secret) > 20
    await page.screenshot(path=str(SHOTS / f"{backend_of(server)}-admin-token-created-desktop.png"), full_page=True)

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {secret}"}) as client:
        assert (await client.get("/api/v1/charge-points")).status_code == 200
        await page.goto(base + "/admin/tokens")
        await expect(page.locator("#token-secret")).to_have_count(0)
        assert secret not in await page.content()
        row = page.locator("#tokens tr", has_text="billing export")
        await shoot_both(context, browser, server, base, "tokens", "/admin/tokens")

        await row.get_by_role("link", name="Revoke billing export").click()
        await expect(page.get_by_role("heading", name=re.compile("Revoke the API token"))).to_be_visible()
        await page.get_by_role("button", name="Revoke token").click()
        await expect(page.locator(".notice-ok")).to_contain_text("Revoked the API token")
        await expect(page.locator("#tokens tr", has_text="billing export")).to_contain_text("revoked")
        assert (await client.get("/api/v1/charge-points")).status_code == 401
    await context.close()


async def test_a_new_operator_can_log_in(server: Voltline, operator: Any, browser: Browser) -> None:
    context, page, base = await logged_in(browser, server)
    await page.goto(base + "/admin/operators")
    await page.get_by_label("Username").fill("kim")
    await page.get_by_label("Password", exact=True).fill("kims long password")
    await page.get_by_label("Password again").fill("kims long password")
    await page.get_by_role("button", name="Create operator").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Created the operator kim")
    await expect(page.locator('[data-operator="kim"]')).to_be_visible()
    await shoot_both(context, browser, server, base, "operators", "/admin/operators")
    await shoot_both(context, browser, server, base, "password", "/admin/password")

    await page.get_by_role("button", name="Log out").click()
    await page.get_by_label("Username").fill("kim")
    await page.get_by_label("Password").fill("kims long password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.locator(".who")).to_contain_text("kim")

    # kim may delete the first operator, never themself.
    await page.goto(base + "/admin/operators")
    await expect(page.locator('[data-operator="kim"]').get_by_role("link", name="Delete kim")).to_have_count(0)
    await page.get_by_role("link", name="Delete operator").click()
    await page.get_by_role("button", name="Delete operator").click()
    await expect(page.locator(".notice-ok")).to_contain_text("Deleted the operator operator")
    await context.close()
