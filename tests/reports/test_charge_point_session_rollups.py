"""Sessions per charge point and day or month (SESSIONS_BY_CP), and the flagged sessions per id
tag and day or month, on the known network of test_live_reports: kept as data arrives, read by
energy by charge point and by a tag's energy, computed again by `voltline reports rebuild`. The rollups' zone is Europe/Berlin (its 29 March from 28 23:00Z)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.reports.test_live_reports import BERLIN, MONTHS, build_network, every_report, report
from tests.reports.test_network_rollups import rebuild
from voltline.store import tables as t

pytestmark = pytest.mark.asyncio

DAY, MONTH = t.SESSIONS_BY_CP["day"], t.SESSIONS_BY_CP["month"]
# From 01:00 CET on 29 March: March's last days less the 28th's hour 23:00Z, all of April, and
# 2 May's hours up to 10:00Z (12:00 CEST).
EDGES = {"tz": "Europe/Berlin", "from": "2026-03-29T00:00:00Z", "to": "2026-05-02T10:00:00Z"}


def z(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def rows(store: Any) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table in (DAY, MONTH, t.BY_TAG_DAY[t.report_sessions], t.BY_TAG_MONTH[t.report_sessions]):
        result = await store.query_all(sa.select(table).order_by(*table.primary_key.columns))
        found[table.name] = [tuple(row) for row in result]
    return found


def by_cp(answer: dict[str, Any]) -> list[tuple[str, float, int]]:
    return [(i["charge_point_id"], i["energy_wh"], i["sessions"]) for i in answer["items"]]


async def test_sessions_per_charge_point_and_flagged_per_tag_kept_live_read_and_rebuilt(server, api, connect, database_url) -> None:  # type: ignore[no-untyped-def]
    await build_network(api, connect)
    await server.services.rollups.flush()
    store = server.services.store
    live = await rows(store)
    before = await every_report(api)

    # By the local day each session started in, whatever its connector, tag or buckets: CP-R1's
    # TAG-A (22:30Z on the 28th: Berlin's 28th) and TAG-B (the 30th), CP-R2's (00:00Z on the
    # 31st: Berlin's 31st, from 30 22:00Z).
    assert live[DAY.name] == [(z(27, 23), "CP-R1", 1), (z(29, 22), "CP-R1", 1), (z(30, 22), "CP-R2", 1)]
    march = datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert live[MONTH.name] == [(march, "CP-R1", 2), (march, "CP-R2", 1)]

    # A range with a whole month and edges: March's 29th-31st less the hour 23:00Z of the 28th
    # (TAG-A's 2000 Wh), so 3000 Wh of TAG-A's session and not its start; TAG-B's 3000 Wh.
    edges = await report(api, "energy/by-charge-point", **EDGES)
    assert by_cp(edges) == [("CP-R1", 6000.0, 1), ("CP-R2", 1000.0, 1)] and edges["total_energy_wh"] == 7000.0

    # What the report shows comes from those rows: change them and it follows.
    async def change(conn: Any) -> None:
        await conn.execute(sa.update(MONTH).where(MONTH.c.charge_point_id == "CP-R2").values(sessions=5))
        await conn.execute(sa.update(DAY).where(DAY.c.hour == z(29, 22)).values(sessions=4))

    await store.write(change)
    assert by_cp(await report(api, "energy/by-charge-point", **MONTHS)) == [("CP-R1", 9000.0, 2), ("CP-R2", 1000.0, 5)]
    # The edges read March's days (CP-R2's unchanged), not its month.
    assert by_cp(await report(api, "energy/by-charge-point", **EDGES)) == [("CP-R1", 6000.0, 4), ("CP-R2", 1000.0, 1)]
    # Filtered to id tags it reads the hours, which alone keep the tag.
    assert by_cp(await report(api, "energy/by-charge-point", id_tag="TAG-B", **BERLIN)) == [
        ("CP-R1", 3000.0, 1), ("CP-R2", 1000.0, 1)]

    # The flagged sessions by id tag and day or month (TAG-B's reset one on Berlin's 30th): a
    # tag's or a parent's flagged count over whole days and months reads them.
    tag_day, tag_month = t.BY_TAG_DAY[t.report_sessions], t.BY_TAG_MONTH[t.report_sessions]
    flagged = await store.query_all(sa.select(tag_month.c.id_tag, tag_month.c.flagged).order_by(tag_month.c.id_tag))
    assert [tuple(row) for row in flagged] == [("TAG-A", 0), ("TAG-B", 1)]
    assert (await report(api, "energy", id_tag="TAG-B", **MONTHS))["flagged_transactions"] == 1

    async def flag(conn: Any) -> None:
        await conn.execute(sa.update(tag_month).where(tag_month.c.id_tag == "TAG-A").values(flagged=2))
        await conn.execute(sa.update(tag_day).where(tag_day.c.id_tag == "TAG-A").values(flagged=3))

    await store.write(flag)
    assert (await report(api, "energy", parent_id_tag="FLEET", **MONTHS))["flagged_transactions"] == 2
    assert (await report(api, "energy", id_tag="TAG-A", **BERLIN))["flagged_transactions"] == 3

    # The rebuild computes every row as the server kept it, and the reports as they were.
    await rebuild(server, database_url)
    assert await rows(store) == live
    assert await every_report(api) == before
    assert await report(api, "energy/by-charge-point", **EDGES) == edges
