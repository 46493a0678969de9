"""The peak power report reads the peak rollups, which the server keeps as meter values arrive
and `voltline reports rebuild` computes to the same rows (network of test_live_reports)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.test_live_reports import BERLIN, MONTHS, build_network, by_period, report
from voltline.services.reports.peaks import PEAK_TABLES
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

BERLIN_29 = "2026-03-29T00:00:00+01:00"


async def peak_reports(api: Any) -> dict[str, Any]:
    return {
        "day": await report(api, "peak-power", **BERLIN),
        "hour": await report(api, "peak-power", interval="hour", **BERLIN),
        "week": await report(api, "peak-power", interval="week", **BERLIN),
        "months": await report(api, "peak-power", interval="month", **MONTHS),
        "utc": await report(api, "peak-power", tz="UTC", **{"from": "2026-03-28T00:00:00", "to": "2026-04-01T00:00:00"}),
        "cp2": await report(api, "peak-power", charge_point_id="CP-R2", **BERLIN),
        "v16": await report(api, "peak-power", ocpp_version="1.6", **MONTHS),
        "tag_b": await report(api, "peak-power", id_tag="TAG-B", **BERLIN),
    }


async def peak_rows(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in PEAK_TABLES:
        # Hours with nothing delivered are left out: the live rollups may hold an empty one
        # (a reading on the hour) that the rebuild has no reason to write.
        rows = await store.query_all(sa.select(table).where(table.c.power_w != 0).order_by(*table.primary_key.columns))
        found[table.name] = [tuple(row) for row in rows]
    return found


async def test_peak_power_reads_its_rollups_kept_live_as_a_rebuild_computes_them(server, api, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await build_network(api, connect)
    await server.services.rollups.flush()
    store = server.services.store
    live = await peak_reports(api)
    live_rows = await peak_rows(store)
    assert all(live_rows.values()), {name: len(rows) for name, rows in live_rows.items()}

    # CP-R1's 01:00Z hour: 5000 W sampled; the 29th of Berlin's highest hour, and March's.
    p = t.report_peak_cp.c
    hour = await store.query_one(
        sa.select(p.power_w).where(p.charge_point_id == "CP-R1", p.hour == datetime(2026, 3, 29, 1, tzinfo=UTC))
    )
    assert hour is not None and hour.power_w == 5000.0
    day = t.PEAK_COARSER[t.report_peak]["day"].c
    (day_row,) = await store.query_all(sa.select(day.hour, day.power_w, day.at).where(day.power_w == 5000.0))
    assert day_row.at.isoformat() == "2026-03-29T01:00:00+00:00"

    # What the report shows comes from those rows: change them and it follows.
    async def raise_peaks(conn: Any) -> None:
        await conn.execute(sa.update(t.PEAK_COARSER[t.report_peak]["day"]).where(day.power_w == 5000.0).values(power_w=7500.0))
        month = t.PEAK_COARSER[t.report_peak_cp]["month"]
        await conn.execute(sa.update(month).where(month.c.charge_point_id == "CP-R1").values(power_w=8000.0))

    await store.write(raise_peaks)
    changed = await report(api, "peak-power", **BERLIN)
    assert by_period(changed["items"], "peak_power_w")[BERLIN_29] == 7500.0
    assert changed["network_peak_w"] == 7500.0
    whole_months = await report(api, "peak-power", interval="month", **MONTHS)
    assert whole_months["by_charge_point"][0]["charge_point_id"] == "CP-R1"
    assert whole_months["by_charge_point"][0]["peak_power_w"] == 8000.0

    # The rebuild computes every peak rollup row as the server kept it, and the reports again.
    env = {**os.environ, "VOLTLINE_DATABASE_URL": database_url,
           "VOLTLINE_REPORTS_TIME_ZONE": server.settings.reports_time_zone}
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "voltline"), "reports", "rebuild"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rebuilt_rows = await peak_rows(store)
    for name in live_rows:
        assert rebuilt_rows[name] == live_rows[name], name
    assert await peak_reports(api) == live
    assert live["day"]["network_peak_w"] == 5000.0
    assert by_period(live["cp2"]["items"], "peak_power_w")["2026-03-31T00:00:00+02:00"] == 1000.0
