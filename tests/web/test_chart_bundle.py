"""The charting library is built, not committed (scripts/build-web.sh): without it the server
still starts and says so, and the pages say how to get their charts; with it, they load it."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import USERNAME, PASSWORD, log_in
from tests.web.test_time_zones import LATE_EVENING, add_session
from voltline.services.security.operators import UserService
from voltline.web import vendor

BUNDLE_TAG = f'<script src="/static/{vendor.CHART_JS}" defer></script>'


async def test_without_the_bundle_the_server_starts_and_the_pages_say_how_to_get_the_charts(
    start_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    built = vendor.charts_bundled()
    (tmp_path / "vendor").mkdir()  # a checkout where scripts/build-web.sh has not run
    monkeypatch.setattr(vendor, "STATIC", tmp_path)
    with caplog.at_level(logging.WARNING, logger="voltline.web"):
        server = await start_server()
    notice = [r.getMessage() for r in caplog.records if r.name == "voltline.web"]
    assert len(notice) == 1 and "dashboard charts are off" in notice[0] and "scripts/build-web.sh" in notice[0]

    await UserService(server.store).create(USERNAME, PASSWORD)
    await add_session(server, 301, LATE_EVENING)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as web:
        assert (await log_in(web, USERNAME, PASSWORD)).status_code == 303
        page = await web.get("/sessions/301")
        assert page.status_code == 200
        assert "Charts are not installed on this server: run <code>scripts/build-web.sh</code>" in page.text
        assert BUNDLE_TAG not in page.text and "<canvas" not in page.text

        # The bundle built while the server runs: the next page loads it.
        monkeypatch.undo()
        if not built:
            pytest.skip(f"{vendor.bundle()} is not built here: run scripts/build-web.sh")
        page = await web.get("/sessions/301")
        assert BUNDLE_TAG in page.text and "<canvas" in page.text and "Charts are not installed" not in page.text
        library = await web.get(f"/static/{vendor.CHART_JS}")
        assert library.status_code == 200 and "Chart.js" in library.text[:400]
