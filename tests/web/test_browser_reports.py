"""The Reports pages in a real browser, over a known network built by charge points over OCPP
(tests/reports/test_live_reports.py: sessions across midnight and the start of summer time, a
meter reset, idle time, a fault), read in Europe/Berlin.

Each chart is read back from Chart.js on the page (its canvas, labels and datasets), each CSV is
downloaded through its link and compared with the known answers and with the REST API's file.
Screenshots of every page, at desktop and phone widths, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reports.test_live_reports import BERLIN, build_network
from tests.web.charts import drawn_chart, values
from tests.web.conftest import PASSWORD, USERNAME
from tests.web.test_browser import DESKTOP, PHONE, browser, patient, shoot  # noqa: F401  (browser: the fixture)
from voltline.app import Voltline

playwright_api = pytest.importorskip("playwright.async_api")
from playwright.async_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

# The operator's 28 to 31 March: the range of the known network's answers (BERLIN).
DAYS = "since=2026-03-28&until=2026-03-31"


async def download(page: Page, name: str) -> str:
    """The file behind the page's CSV link `name`, as the browser saved it."""
    async with page.expect_download() as info:
        await page.locator(f'a[data-csv="{name}"]').click()
    saved = await info.value
    assert saved.suggested_filename.endswith(".csv")
    return Path(await saved.path()).read_text(encoding="utf-8")


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def by_label(chart: dict[str, Any], dataset: int = 0) -> dict[str, float]:
    return dict(zip(chart["labels"], values(chart["datasets"][dataset]), strict=True))


async def api_csv(api: httpx.AsyncClient, path: str, **params: str) -> str:
    answer = await api.get(f"/api/v1/reports/{path}", params={**BERLIN, "format": "csv", **params})
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_every_report_page_charts_the_known_network_and_downloads_its_rows(
    server: Voltline, operator: Any, api: httpx.AsyncClient, connect: Any, browser: Browser  # noqa: F811
) -> None:
    await build_network(api, connect)
    await server.services.rollups.flush()  # what the server writes every second anyway
    base = f"http://127.0.0.1:{server.http_port}"
    context = await browser.new_context(viewport=DESKTOP, timezone_id="Europe/Berlin", accept_downloads=True)
    page = await context.new_page()
    patient(page)
    await page.goto(base + "/login")
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator(".who [data-zone]")).to_have_text("Europe/Berlin")

    # Reports, from the navigation: the energy of the last 30 days by default.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Energy", exact=True)).to_be_visible()
    await expect(page.get_by_label("to (Europe/Berlin)")).not_to_have_value("")

    # -- energy: per day, per charge point, per id tag; the operator's days ----------------------
    await page.goto(f"{base}/reports/energy?{DAYS}")
    per_day = await drawn_chart(page, "energy-over-time")
    # 23:30 CET on the 28th to 03:00 CEST on the 29th is split at midnight; the reset counts 0.
    assert by_label(per_day) == {"2026-03-28": 1.0, "2026-03-29": 5.0, "2026-03-30": 3.0, "2026-03-31": 1.0}
    assert by_label(await drawn_chart(page, "energy-by-charge-point")) == {"CP-R1": 9.0, "CP-R2": 1.0}
    assert by_label(await drawn_chart(page, "energy-by-id-tag")) == {"TAG-A": 6.0, "TAG-B": 4.0}
    await expect(page.locator("#energy-total")).to_have_text("10.00 kWh")
    await shoot(page, "reports-energy", server)

    energy_file = await download(page, "energy")
    assert rows(energy_file) == [["period_start", "energy_wh"], ["2026-03-28T00:00:00+01:00", "1000.0"],
                                 ["2026-03-29T00:00:00+01:00", "5000.0"], ["2026-03-30T00:00:00+02:00", "3000.0"],
                                 ["2026-03-31T00:00:00+02:00", "1000.0"]]
    assert energy_file == await api_csv(api, "energy")
    by_cp_file = await download(page, "energy-by-charge-point")
    assert rows(by_cp_file) == [["charge_point_id", "energy_wh", "sessions"], ["CP-R1", "9000.0", "2"],
                                ["CP-R2", "1000.0", "1"]]
    assert by_cp_file == await api_csv(api, "energy/by-charge-point")
    assert rows(await download(page, "energy-by-id-tag")) == [
        ["id_tag", "parent_id_tag", "energy_wh", "sessions"], ["TAG-A", "FLEET", "6000.0", "1"], ["TAG-B", "", "4000.0", "2"]]

    # Per hour: the operator's 29 March has 23 hours (summer time starts); per id tag group.
    await page.get_by_label("Per", exact=True).select_option("hour")
    await page.get_by_label("Id tags by").select_option("parent")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"interval=hour"))
    per_hour = await drawn_chart(page, "energy-over-time")
    assert len([label for label in per_hour["labels"] if label.startswith("2026-03-29")]) == 23
    assert by_label(per_hour)["2026-03-29 03:00"] == 1.0
    assert by_label(await drawn_chart(page, "energy-by-id-tag")) == {"FLEET": 6.0, "(no group)": 4.0}
    hourly = await download(page, "energy")
    assert hourly == await api_csv(api, "energy", interval="hour")
    # Filtered to one charge point.
    await page.goto(f"{base}/reports/energy?{DAYS}&charge_point_id=CP-R2")
    assert by_label(await drawn_chart(page, "energy-by-charge-point")) == {"CP-R2": 1.0}
    assert sum(values((await drawn_chart(page, "energy-over-time"))["datasets"][0])) == 1.0

    # -- sessions: distributions, hour of day and day of week in Berlin, idle time ------------
    await page.goto(f"{base}/reports/sessions?{DAYS}")
    await expect(page.locator("#sessions-count")).to_have_text("3")
    assert values((await drawn_chart(page, "session-energy"))["datasets"][0]) == [0, 2, 1, 0, 0, 0]
    assert values((await drawn_chart(page, "session-duration"))["datasets"][0]) == [0, 0, 0, 1, 2, 0, 0]
    hours = by_label(await drawn_chart(page, "sessions-by-hour"))
    assert {h: n for h, n in hours.items() if n} == {"02:00": 1, "12:00": 1, "23:00": 1}
    days = by_label(await drawn_chart(page, "sessions-by-day"))
    assert {d: n for d, n in days.items() if n} == {"Saturday": 1, "Monday": 1, "Tuesday": 1}
    await expect(page.get_by_text("1 session kept the connector after charging")).to_be_visible()
    await shoot(page, "reports-sessions", server)
    sessions_file = await download(page, "sessions")
    assert ["hour_of_day", "23", "1"] in rows(sessions_file) and ["day_of_week", "Saturday", "1"] in rows(sessions_file)
    assert sessions_file == await api_csv(api, "sessions")

    # -- utilisation of 29 March (23 hours) per connector, stacked shares ---------------------
    await page.goto(f"{base}/reports/utilisation?since=2026-03-29&until=2026-03-29")
    shares = await drawn_chart(page, "utilisation")
    assert [d["label"] for d in shares["datasets"]] == ["Charging", "Occupied", "Available", "Unavailable", "Faulted",
                                                        "No status yet"]
    connector_1 = {d["label"]: d["data"][shares["labels"].index("CP-R1 / 1")] for d in shares["datasets"]}
    assert connector_1["Charging"] == pytest.approx(100 * 9000 / 82800, abs=0.01)
    assert connector_1["Occupied"] == pytest.approx(100 * 3600 / 82800, abs=0.01)
    assert sum(connector_1.values()) == pytest.approx(100, abs=0.05)
    totals = await drawn_chart(page, "utilisation-totals")
    assert totals["type"] == "doughnut" and sum(values(totals["datasets"][0])) == pytest.approx(100, abs=0.05)
    await shoot(page, "reports-utilisation", server)
    utilisation_file = await download(page, "utilisation")
    line = next(r for r in rows(utilisation_file) if r[:2] == ["CP-R1", "1"])
    # A 1.6 connector has no EVSE: the evse_id column beside its connector is empty.
    assert line[2:9] == ["", "9000.0", "3600.0", "70200.0", "0.0", "0.0", "0.0"]
    assert utilisation_file == await api_csv(api, "utilisation", **{"from": "2026-03-29T00:00:00",
                                                                    "to": "2026-03-30T00:00:00"})

    # -- reliability: the fault in March; today's refused starts (a rejected remote start, a blocked and an
    # unknown id tag) and connections
    await page.goto(f"{base}/reports/reliability?{DAYS}")
    incidents = await drawn_chart(page, "reliability-incidents")
    assert by_label(incidents, 0)["CP-R1"] == 1  # faults
    assert by_label(await drawn_chart(page, "reliability-error-codes")) == {"GroundFailure": 1}
    await drawn_chart(page, "reliability-connected")
    march = rows(await download(page, "reliability"))
    assert march[0][:7] == ["charge_point_id", "connected_s", "offline_s", "connected_share", "reconnects", "faults",
                            "faults_by_error_code"]
    assert next(r for r in march if r[0] == "CP-R1")[5:7] == ["1", "GroundFailure=1"]
    await page.goto(f"{base}/reports/reliability")  # the last 30 days: today's Authorize answers
    starts = await drawn_chart(page, "reliability-failed-starts")
    assert {d["label"]: d["data"][starts["labels"].index("CP-R1")] for d in starts["datasets"]} == {
        "Remote start rejected": 1, "Id tag invalid": 1, "Id tag blocked": 1}
    assert by_label(await drawn_chart(page, "reliability-incidents"), 1)["CP-R1"] == 1  # reconnects
    await shoot(page, "reports-reliability", server)

    # -- peak power: per day and per charge point -------------------------------------------
    await page.goto(f"{base}/reports/peak-power?{DAYS}")
    assert by_label(await drawn_chart(page, "peak-over-time")) == {"2026-03-28": 1.0, "2026-03-29": 5.0,
                                                                   "2026-03-30": 2.0, "2026-03-31": 1.0}
    assert by_label(await drawn_chart(page, "peak-by-charge-point"))["CP-R1"] == 5.0
    await expect(page.locator("#network-peak")).to_have_text("5.0 kW")
    await expect(page.get_by_text("in the hour from 2026-03-29 03:00 CEST")).to_be_visible()
    await shoot(page, "reports-peak-power", server)
    peak_file = await download(page, "peak-power")
    assert rows(peak_file)[1:] == [["2026-03-28T00:00:00+01:00", "1000.0"], ["2026-03-29T00:00:00+01:00", "5000.0"],
                                   ["2026-03-30T00:00:00+02:00", "2000.0"], ["2026-03-31T00:00:00+02:00", "1000.0"]]
    assert rows(await download(page, "peak-power-by-charge-point"))[1] == ["CP-R1", "5000.0", "2026-03-29T03:00:00+02:00"]

    # A charge point's page leads to its own reports.
    await page.goto(f"{base}/charge-points/CP-R1")
    await page.locator("main").get_by_role("link", name="Reports").click()
    await expect(page).to_have_url(re.compile(r"/reports/reliability\?charge_point_id=CP-R1$"))
    assert (await drawn_chart(page, "reliability-incidents"))["labels"] == ["CP-R1"]

    # The session chart still draws, from the same network: TAG-A's 6 kWh across midnight.
    await page.goto(f"{base}/sessions?id_tag=TAG-A")
    await page.locator("[data-session-row] a").first.click()
    session = await drawn_chart(page, "session-chart")
    assert max(values(session["datasets"][0])) == 6.0 and max(values(session["datasets"][1])) == 5.0

    # On a phone: every report page fits the screen's width.
    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, timezone_id="Europe/Berlin",
                                      storage_state=await context.storage_state())
    small = await phone.new_page()
    for name in ("energy", "sessions", "utilisation", "reliability", "peak-power"):
        await small.goto(f"{base}/reports/{name}?{DAYS}")
        await expect(small.locator("[data-chart][data-drawn]").first).to_be_visible()
        assert await small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
        await shoot(small, f"phone-reports-{name}", server)
    await phone.close()
    await context.close()
