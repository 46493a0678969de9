"""The shape sets of meter readings (tables.meter_shape_sets, meter_shapes): each distinct one
stored once, its id known in memory, so a MeterValues whose shapes were seen before costs no
more than its one row insert; a new set is stored (with its shapes) before its first reading.

Any node may store a set: its digest is unique, so two nodes storing the same one at once
get the same row."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.transactions import meter_values as mv
from voltline.store import tables as t

ShapeSet = tuple[mv.Shape, ...]

_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_CHUNK = 1000  # shapes an INSERT


async def store_sets(conn: AsyncConnection, sets: list[ShapeSet]) -> dict[ShapeSet, int]:
    """The ids of `sets`, each stored first unless it is already (idempotent: Store.write may
    run it more than once)."""
    insert = _INSERT[conn.dialect.name]
    s, k = t.meter_shape_sets.c, t.meter_shapes
    ids: dict[ShapeSet, int] = {}
    for shapes in sets:
        key = mv.definition(shapes)
        digest = hashlib.sha256(key.encode()).hexdigest()
        await conn.execute(insert(t.meter_shape_sets).values(digest=digest, definition=key).on_conflict_do_nothing())
        set_id = int(await conn.scalar(sa.select(s.id).where(s.digest == digest)))
        rows = [{"set_id": set_id, "position": i, **dict(zip(mv.SHAPE_FIELDS, shape))} for i, shape in enumerate(shapes)]
        for start in range(0, len(rows), _CHUNK):  # a statement's parameters are bounded (PostgreSQL: 32,767)
            await conn.execute(insert(k).values(rows[start : start + _CHUNK]).on_conflict_do_nothing())
        ids[shapes] = set_id
    return ids


async def load_sets(conn: AsyncConnection) -> dict[int, ShapeSet]:
    """Every stored shape set by id."""
    s = t.meter_shape_sets.c
    return {row.id: _shape_set(row.definition) for row in await conn.execute(sa.select(s.id, s.definition))}


def _shape_set(definition: str) -> ShapeSet:
    return tuple(tuple(shape) for shape in orjson.loads(definition))


class ShapeSets:
    """The shape set ids of one store, learnt as they are stored or first needed."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._ids: dict[ShapeSet, int] = {}
        self._storing: dict[ShapeSet, asyncio.Future[None]] = {}

    async def rows(
        self, samples: list[mv.SampledValue], charge_point_id: str, connector_id: int, transaction_id: int | None
    ) -> list[tuple[Any, ...]]:
        """meter_readings rows of `samples` (mv.READING_COLUMNS order), their shape sets stored."""
        encoded = mv.encode(samples)
        await self.know(encoded)
        return mv.readings(encoded, self._ids, charge_point_id, connector_id, transaction_id)

    @property
    def ids(self) -> Mapping[ShapeSet, int]:
        """The ids known: those of readings `know` was awaited for among them (mv.readings)."""
        return self._ids

    async def know(self, encoded: list[mv.Reading]) -> None:
        """Have the ids of `encoded`'s shape sets, storing those never seen (one write for all)."""
        ids = self._ids
        missing = {r.shapes for r in encoded if r.shapes not in ids}
        if not missing:
            return
        waiting = [self._storing[shapes] for shapes in missing if shapes in self._storing]
        new = [shapes for shapes in missing if shapes not in self._storing]
        if new:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for shapes in new:
                self._storing[shapes] = done
            try:
                ids.update(await self._store.write(lambda conn: store_sets(conn, new)))
                done.set_result(None)
            except BaseException as e:
                done.set_exception(e)
                done.exception()  # retrieved: those waiting on it see it raised
                raise
            finally:
                for shapes in new:
                    self._storing.pop(shapes, None)
        for future in waiting:
            await future
