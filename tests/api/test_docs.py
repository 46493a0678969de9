"""`/docs` and `/redoc` work without internet: every file they load comes from Voltline itself.

Over HTTP: the pages and every asset they name answer 200 from the server, and the HTML names no
other host. In headless Chromium with every request to another host aborted: Swagger UI renders
the API's operations, and the page asked no other host for anything.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from voltline.app import Voltline

CHROMIUM = os.environ.get("VOLTLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# src="…", href="…", and the document's `url: '…'` in Swagger UI's set-up script / ReDoc's spec-url.
REFERENCE = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|\burl:\s*["']([^"']+)["']""")
ANY_URL = re.compile(r"""\b(?:https?:)?//[A-Za-z0-9.-]+""")


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_and_every_asset_come_from_the_server(server: Voltline, page: str) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert ANY_URL.findall(html) == [], "the page names another host"
        refs = references(html)
        assert "/api/v1/openapi.json" in refs
        assert any(ref.endswith(".js") for ref in refs), refs
        for ref in refs:
            url = urljoin(base + page, ref)
            assert urlsplit(url).netloc == f"127.0.0.1:{server.http_port}", ref
            asset = await client.get(url)
            assert asset.status_code == 200, f"{ref}: {asset.status_code}"
            assert asset.content, ref


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    playwright_api = pytest.importorskip("playwright.async_api")
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


@pytest.mark.browser
async def test_swagger_ui_renders_the_operations_with_other_hosts_blocked(server: Voltline, browser: object) -> None:
    from playwright.async_api import Browser, Route, expect

    assert isinstance(browser, Browser)
    base = f"http://127.0.0.1:{server.http_port}"
    elsewhere: list[str] = []

    async def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.route("**/*", only_this_server)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(60_000)  # a loaded host's first page load
    await page.goto(base + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Voltline", timeout=30_000)
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible()
    assert await operations.count() > 20
    await expect(page.locator(".opblock-summary-path", has_text="/api/v1/charge-points/{charge_point_id}/remote-start")).to_be_visible()

    if server.settings.is_sqlite:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "docs-desktop.png"), full_page=False)
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.screenshot(path=str(SCREENSHOTS / "docs-phone.png"), full_page=False)
        await page.set_viewport_size({"width": 1280, "height": 900})

    # An operation opens and shows its parameters and answers, all from the local document.
    await page.locator(".opblock-summary-path", has_text="/api/v1/id-tags").first.click()
    await expect(page.locator(".opblock.is-open .responses-wrapper")).to_be_visible()
    assert elsewhere == [], f"the page asked other hosts: {elsewhere}"
    await context.close()


@pytest.mark.browser
async def test_redoc_renders_the_operations_with_other_hosts_blocked(server: Voltline, browser: object) -> None:
    from playwright.async_api import Browser, Route, expect

    assert isinstance(browser, Browser)
    elsewhere: list[str] = []

    async def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.route("**/*", only_this_server)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(60_000)  # a loaded host's first page load
    await page.goto(f"http://127.0.0.1:{server.http_port}/redoc")
    # ReDoc parses a megabyte of script and the whole document first: slow on a busy machine.
    await expect(page.get_by_role("heading", name="Register a charge point")).to_be_visible(timeout=60_000)
    assert elsewhere == [], f"the page asked other hosts: {elsewhere}"
    await context.close()
