"""A connector's seconds per class of status and day or month (STATUS_CLASSES_BY), on the known
network of test_live_reports: kept as data arrives, read by utilisation for whole days and
months, computed again by `voltline reports rebuild`. The rollups' zone is Europe/Berlin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.test_live_reports import build_network, every_report, report
from tests.reports.test_network_rollups import rebuild
from voltline.services.reports import views as v
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

DAY, MONTH = t.STATUS_CLASSES_BY["day"], t.STATUS_CLASSES_BY["month"]
DAY_29 = {"tz": "Europe/Berlin", "from": "2026-03-29T00:00:00", "to": "2026-03-30T00:00:00"}


async def rows(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in (DAY, MONTH):
        result = await store.query_all(sa.select(table).order_by(*table.primary_key.columns))
        found[table.name] = [tuple(row) for row in result]
    return found


async def test_seconds_per_class_of_status_kept_live_read_by_utilisation_and_rebuilt(server, api, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await build_network(api, connect)
    await server.services.rollups.flush()
    store = server.services.store
    live = await rows(store)
    # The columns in the report's order of classes (utilisation reads them by position).
    assert t.STATUS_CLASS_SECONDS == tuple(f"{name}_s" for name in v.STATUS_CLASSES)
    before = await every_report(api)

    # CP-R1 connector 1 on Berlin's 29 March (23 hours from 28 23:00Z): charging until 01:30Z,
    # SuspendedEV and Finishing (occupied) an hour, then Available. Charging, occupied,
    # available, unavailable, faulted, unknown.
    day_29 = datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert (day_29, "CP-R1", 0, 1, 9000.0, 3600.0, 70200.0, 0.0, 0.0, 0.0) in live[DAY.name]
    # The month: every status row of March by class, one row a connector.
    march = datetime(2026, 2, 28, 23, tzinfo=UTC)
    month = {row[1:4]: row[4:] for row in live[MONTH.name] if row[0] == march}
    assert set(month) == {("CP-R1", 0, 1), ("CP-R1", 0, 2)}
    assert month[("CP-R1", 0, 1)][4] == 1800.0  # the half-hour fault on the 30th

    # What utilisation shows for whole days comes from those rows: change one and it follows.
    async def change(conn: Any) -> None:
        await conn.execute(sa.update(DAY).where(DAY.c.hour == day_29, DAY.c.charge_point_id == "CP-R1",
                                                DAY.c.connector_id == 1).values(charging_s=9999.0))

    await store.write(change)
    changed = await report(api, "utilisation", **DAY_29)
    connector_1 = next(i for i in changed["items"] if i["charge_point_id"] == "CP-R1" and i["connector_id"] == 1)
    assert connector_1["seconds"]["charging"] == 9999.0

    # The rebuild computes every row as the server kept it, and the reports as they were.
    await rebuild(server, database_url)
    assert await rows(store) == live
    assert await every_report(api) == before
