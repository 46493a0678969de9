"""Deep pages of the meter values list are the `meter_values` view's rows, row for row, though
only the readings on a page are unpacked (services.transactions.meter_pages): readings of shape
sets with one, several and no matching sampled values, timestamps shared and out of id order,
paged by offset and by cursor, with and without filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import ServerFactory
from tests.readings import ENERGY_WH, VOLTAGE_V, shape_set
from voltline.app import Voltline
from voltline.store import tables as t

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
POWER_W = ("W", "W", "Power.Active.Import", None, "Sample.Periodic", "Outlet", "Raw", 1.0, 1.0)
PHASES = [("V", "V", "Voltage", phase, "Sample.Periodic", "Outlet", "Raw", 1.0, 1.0) for phase in ("L1-N", "L2-N", "L3-N")]


@pytest.fixture
async def server(start_server: ServerFactory) -> Voltline:
    return await start_server()


async def _readings(server: Voltline) -> None:
    """90 readings of three shape sets (one Voltage; three; none), two charge points, the
    timestamps shared by threes and written out of order."""
    sets = [
        (await shape_set(server.store, ENERGY_WH, POWER_W, VOLTAGE_V), "[{n},7360,230.{n}]"),
        (await shape_set(server.store, *PHASES), "[231.{n},232.{n},233.{n}]"),
        (await shape_set(server.store, ENERGY_WH), "[{n}]"),
    ]
    rows = []
    for n in range(90):
        set_id, samples = sets[(n * 7) % 3]
        rows.append({
            "charge_point_id": f"CP-{n % 2}", "connector_id": 1, "transaction_id": n % 4 or None,
            # 30 timestamps, each shared by three readings, in an order unlike the ids'.
            "timestamp": T0 + timedelta(minutes=(n * 11) % 30), "shape_set_id": set_id,
            "samples": samples.format(n=n),
        })
    await server.store.write(lambda conn: conn.execute(t.meter_readings.insert(), rows))


async def _from_the_view(server: Voltline, filters: dict[str, Any], limit: int, offset: int) -> tuple[list[int], int]:
    """The ids of a page and the total, as the view itself answers them."""
    v = t.meter_values.c
    query = sa.select(t.meter_values)
    for name, column in (("charge_point_id", v.charge_point_id), ("measurand", v.measurand), ("transaction_id", v.transaction_id)):
        if name in filters:
            query = query.where(column == filters[name])
    if "from" in filters:
        query = query.where(v.timestamp >= datetime.fromisoformat(filters["from"]))
    if "to" in filters:
        query = query.where(v.timestamp < datetime.fromisoformat(filters["to"]))
    rows = await server.store.query_all(query.order_by(v.timestamp, v.id).limit(limit).offset(offset))
    [total] = await server.store.query_all(sa.select(sa.func.count()).select_from(query.subquery()))
    return [row.id for row in rows], int(total[0])


FILTERS = [
    {},
    {"measurand": "Voltage"},
    {"measurand": "Energy.Active.Import.Register", "charge_point_id": "CP-1"},
    {"measurand": "Voltage", "transaction_id": 2},
    {"measurand": "Voltage", "from": "2026-11-01T10:07:00+00:00", "to": "2026-11-01T10:21:00+00:00"},
    {"measurand": "Current.Import"},  # in no shape set
]


async def test_every_page_at_every_offset_is_the_views(server, api) -> None:  # type: ignore[no-untyped-def]
    await _readings(server)
    for filters in FILTERS:
        _, total = await _from_the_view(server, filters, 1, 0)
        for limit in (1, 4, 25):
            for offset in (*range(0, total + 2, 3), total - 1, total + 10):
                expected, expected_total = await _from_the_view(server, filters, limit, max(offset, 0))
                answer = await api.get("/api/v1/meter-values", params={**filters, "limit": limit, "offset": max(offset, 0)})
                assert answer.status_code == 200, answer.text
                page = answer.json()
                assert ([item["id"] for item in page["items"]], page["total"]) == (expected, expected_total), (filters, limit, offset)
    voltage = (await api.get("/api/v1/meter-values", params={"measurand": "Voltage", "limit": 500})).json()
    assert voltage["total"] == 30 * 1 + 30 * 3  # the readings of the first set and of the second
    assert {item["phase"] for item in voltage["items"]} == {None, "L1-N", "L2-N", "L3-N"}


async def test_a_cursor_and_an_offset_together_go_on_past_the_cursor(server, api) -> None:  # type: ignore[no-untyped-def]
    await _readings(server)
    for filters in FILTERS[:3]:
        every, total = await _from_the_view(server, filters, 1000, 0)
        # Cursors ending inside a reading of three Voltage values and between readings.
        for first in (1, 2, 5, 13, total - 2):
            if first >= total:
                continue
            head = (await api.get("/api/v1/meter-values", params={**filters, "limit": first})).json()
            assert head["next_cursor"], (filters, first)
            for offset in (0, 1, 4):
                page = (await api.get("/api/v1/meter-values", params={
                    **filters, "limit": 6, "offset": offset, "after": head["next_cursor"]})).json()
                assert [item["id"] for item in page["items"]] == every[first + offset:first + offset + 6], (filters, first, offset)
                assert page["total"] == total
