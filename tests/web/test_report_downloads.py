"""Every CSV link of the Reports pages gives the REST API's file for the same filters, read in the
operator's zone; only a logged-in operator gets one."""

from __future__ import annotations

from typing import Any

import httpx
from tests.reports.test_live_reports import BERLIN, build_network
from tests.web.test_time_zones import set_zone
from voltline.app import Voltline

DAYS = {"since": "2026-03-28", "until": "2026-03-31"}  # the operator's days = BERLIN's range

# (the dashboard's download, its extra query, the API's report, its extra query)
DOWNLOADS = [
    ("energy.csv", {}, "energy", {}),
    ("energy.csv", {"interval": "week"}, "energy", {"interval": "week"}),
    ("energy-by-charge-point.csv", {}, "energy/by-charge-point", {}),
    ("energy-by-id-tag.csv", {}, "energy/by-id-tag", {}),
    ("energy-by-id-tag.csv", {"group": "parent"}, "energy/by-id-tag", {"group": "parent"}),
    ("sessions.csv", {}, "sessions", {}),
    ("utilisation.csv", {}, "utilisation", {}),
    ("utilisation.csv", {"group": "charge_point"}, "utilisation", {"group": "charge_point"}),
    ("reliability.csv", {}, "reliability", {}),
    ("peak-power.csv", {"interval": "hour"}, "peak-power", {"interval": "hour"}),
    ("peak-power-by-charge-point.csv", {}, "peak-power", {"by": "charge_point"}),
    ("energy-by-charge-point.csv", {"charge_point_id": "CP-R2"}, "energy/by-charge-point", {"charge_point_id": "CP-R2"}),
    ("energy.csv", {"id_tag": "TAG-A, TAG-B"}, "energy", {"id_tag": ["TAG-A", "TAG-B"]}),
    ("sessions.csv", {"parent_id_tag": "FLEET"}, "sessions", {"parent_id_tag": "FLEET"}),
    ("energy-by-charge-point.csv", {"ocpp_version": "1.6"}, "energy/by-charge-point", {"ocpp_version": "1.6"}),
]


async def test_every_report_download_is_the_apis_file(server: Voltline, web: httpx.AsyncClient,
                                                      api: httpx.AsyncClient, connect: Any) -> None:
    await build_network(api, connect)
    await server.services.rollups.flush()
    assert (await set_zone(web, "Europe/Berlin")).status_code == 303

    for download, query, report, params in DOWNLOADS:
        mine = await web.get(f"/reports/{download}", params={**DAYS, **query})
        assert mine.status_code == 200, (download, query, mine.text)
        assert mine.headers["content-type"].startswith("text/csv")
        assert mine.headers["content-disposition"].endswith('-20260328-20260331.csv"')
        theirs = await api.get(f"/api/v1/reports/{report}", params={**BERLIN, **params, "format": "csv"})
        assert theirs.status_code == 200, theirs.text
        assert mine.text == theirs.text, (download, query)
        assert len(mine.text.splitlines()) > 1, (download, query)  # a header and rows

    # Filters that leave nothing: the header alone.
    for query in ({"ocpp_version": "2.0.1"}, {"charge_point_id": "CP-NONE"}):
        empty = await web.get("/reports/energy-by-charge-point.csv", params={**DAYS, **query})
        assert empty.text.splitlines() == ["charge_point_id,energy_wh,sessions"], query


async def test_reports_need_a_login(anonymous: httpx.AsyncClient) -> None:
    for path in ("/reports/energy", "/reports/energy.csv"):
        answer = await anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
