"""Meter readings written by tests themselves, in the shape the server stores them."""

from __future__ import annotations

from typing import Any

from voltline.services.transactions.shapes import store_sets
from voltline.store.database import Store

ENERGY_WH = ("Wh", "Wh", "Energy.Active.Import.Register", None, "Sample.Periodic", "Outlet", "Raw", 1.0, 1.0)
VOLTAGE_V = ("V", "V", "Voltage", None, "Sample.Periodic", "Outlet", "Raw", 1.0, 1.0)


async def shape_set(store: Store, *shapes: tuple[Any, ...]) -> int:
    """The id of the set of `shapes` (tables.meter_shapes' fields, meter_values.SHAPE_FIELDS), stored."""
    ids = await store.write(lambda conn: store_sets(conn, [shapes]))
    return ids[shapes]  # type: ignore[no-any-return]
