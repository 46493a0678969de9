"""bench/history.py writes rows directly: they must be the rows the server itself would write."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from voltline.services.transactions import meter_values as mv
from voltline.store import tables as t
from voltline.store.log_bodies import Unpacker

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, path: Path):  # noqa: ANN202 - a module
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


history = _load("bench_history", BENCH / "history.py")
loadgen = _load("bench_loadgen", BENCH / "loadgen" / "loadgen.py")

END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def small_plan():  # noqa: ANN201
    return history.Plan(sampled_values=4 * 500, charge_points=7, readings_per_session=10, frames=203,
                        frames_per_batch=20, end=END)


def test_a_reading_is_what_the_server_stores_of_the_generators_meter_values() -> None:
    frame = history._METER_VALUES % (3, "2026-11-30T11:00:00.000Z", 123456)
    payload = orjson.loads(frame)
    # The history's MeterValues is the load generator's, four sampled values ...
    sent = orjson.loads(b"[" + b",".join(loadgen._SAMPLED[:4]) % 123456 + b"]")
    assert payload["meterValue"][0]["sampledValue"] == sent
    # ... and its reading what services.meter_values makes of it.
    samples = mv.normalize(payload["meterValue"])
    [encoded] = mv.encode(samples)
    [stored] = mv.readings([encoded], {history.SHAPES: history.SHAPE_SET_ID}, "BENCH-00001", 1, 3)
    assert mv.definition(encoded.shapes) == orjson.dumps(history.SHAPES).decode()
    _, readings = history.sessions_and_readings(small_plan())
    row = next(readings)
    assert len(row) == len(mv.READING_COLUMNS)
    assert row[0].startswith(history.PREFIX) and row[1] == 1 and row[2] == 1  # the first session
    assert row[4] == history.SHAPE_SET_ID
    energy = orjson.loads(row[5])[0]
    assert row[5] == history._READING % energy
    assert stored[4:] == (history.SHAPE_SET_ID, history._READING % 123456)


def test_the_plan_writes_its_sampled_values_in_sessions_of_known_transactions() -> None:
    plan = small_plan()
    transactions, readings = history.sessions_and_readings(plan)
    rows = list(readings)
    assert len(rows) * history.SAMPLES_PER_READING == plan.sampled_values
    assert [tx[0] for tx in transactions] == list(range(1, len(transactions) + 1))
    by_id = {tx[0]: tx for tx in transactions}
    for cp, _connector, tx_id, at, _set, _values in rows:
        tx = by_id[tx_id]
        assert tx[1] == cp
        assert history._sqlite_text(tx[2]) <= at < history._sqlite_text(tx[3])
    assert [r[3] for r in rows] == sorted(r[3] for r in rows)  # in time order, as the server writes


def test_a_message_batch_is_a_row_of_frames_in_the_logs_order() -> None:
    plan = small_plan()
    batches = list(history.message_batches(plan))
    columns = [c.name for c in t.message_batches.columns if c.name != "id"]
    assert all(len(batch) == len(columns) for batch in batches)
    assert sum(batch[3] for batch in batches) >= plan.frames
    for cp, first, last, count, body, dictionary_id in batches:
        frames = orjson.loads(Unpacker({}).unpack(body, dictionary_id))
        assert count == len(frames) <= t.FRAMES_PER_BATCH
        assert all(len(frame) == len(t.FRAME_FIELDS) for frame in frames)
        assert frames[0][0] == history._sqlite_text(first) and frames[-1][0] == history._sqlite_text(last)
        for frame in frames:
            orjson.loads(frame[6])  # the payload is a frame as it crossed the wire
        assert first <= last <= END and cp.startswith(history.PREFIX)
