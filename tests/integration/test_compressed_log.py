"""The compressed message log answers as the uncompressed one did: its searches, pages, cursors
and time windows, through the API's and the dashboard's views, against a plain reading of every
frame (a batch's body unpacked with zstd directly, ids as the `messages` view numbered them)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
import zstandard

from voltline.services.message_log.views import ExchangeFilter
from voltline.store import tables as t

CPS = ("CP-A", "CP-B", "CP-C")
ACTIONS = ("Heartbeat", "MeterValues", "StatusNotification", "Authorize")


async def _log_traffic(server: Any, rounds: int, start: int) -> None:
    """Frames of three charge points, through the server's own recorder: CALLs in and out with
    their answers, some answered with a CALLERROR, some never answered, unreadable frames."""
    log = server.services.message_log
    for r in range(start, start + rounds):
        for n, cp in enumerate(CPS):
            mid = f"{cp}-{r}"
            action = ACTIONS[(r + n) % len(ACTIONS)]
            direction = "out" if r % 5 == 0 else "in"
            back = "in" if direction == "out" else "out"
            log.record(cp, direction, 2, mid, action, f'[2,"{mid}","{action}",{{"n":{r},"text":"ü {cp}"}}]')
            if r % 7 == 3:
                log.record(cp, back, 4, mid, action, f'[4,"{mid}","InternalError","no",{{}}]', "InternalError")
            elif r % 11 != 4:
                log.record(cp, back, 3, mid, action, f'[3,"{mid}",{{"currentTime":"2026-12-01T00:00:{r % 60:02d}Z"}}]')
            if r % 13 == 6:
                log.record(cp, "in", 0, None, None, "not json \" at all", "FormationViolation")
        if r % 10 == 9:
            log.flush()
            await asyncio.sleep(0.003)  # the next batches a few milliseconds later
    flushing = log.flush()
    if flushing is not None:
        await flushing
    await server.store.write()


async def _every_frame(server: Any) -> list[dict[str, Any]]:
    """Every frame, oldest first, unpacked here from the rows as stored."""
    async with server.store.read() as conn:
        dictionaries = {row.id: row.content for row in await conn.execute(sa.select(t.message_dictionaries))}
        batches = (await conn.execute(sa.select(t.message_batches).order_by(t.message_batches.c.id))).all()
    frames = []
    for batch in batches:
        data = None if batch.dictionary_id is None else zstandard.ZstdCompressionDict(bytes(dictionaries[batch.dictionary_id]))
        listed = orjson.loads(zstandard.ZstdDecompressor(dict_data=data).decompress(bytes(batch.body)))
        assert len(listed) == batch.frame_count
        for place, f in enumerate(listed):
            frames.append({
                "id": batch.id * t.FRAMES_PER_BATCH + place, "charge_point_id": batch.charge_point_id,
                **dict(zip(t.FRAME_FIELDS, f, strict=True)),
            })
    for f in frames:
        f["created_at"] = datetime.fromisoformat(f["created_at"]).replace(tzinfo=UTC)
    return frames


def _shown(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items]


def _as_view(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: f[k] for k in ("id", "charge_point_id", "direction", "message_type", "message_id", "action",
                               "error_code", "payload", "created_at")} for f in frames]


async def _filled(server: Any) -> list[dict[str, Any]]:
    log = server.services.message_log
    await _log_traffic(server, 60, 0)  # compressed without a dictionary: none trained yet
    frames = await _every_frame(server)
    listed = [[f[k] for k in t.FRAME_FIELDS] for f in frames]
    for f in listed:
        f[0] = f[0].isoformat(" ", "microseconds")[:26]
    samples = [orjson.dumps(listed[i:i + 3]) for i in range(len(listed) - 2)]
    await log.train(samples)
    await _log_traffic(server, 240, 60)  # compressed with the dictionary just trained
    return await _every_frame(server)


async def test_compressed_pages_and_windows_match_a_plain_reading_of_every_frame(server) -> None:  # type: ignore[no-untyped-def]
    frames = await _filled(server)
    async with server.store.read() as conn:
        used = set((await conn.execute(sa.select(t.message_batches.c.dictionary_id).distinct())).scalars())
    assert None in used and len(used) == 2, used  # batches of before and after the dictionary
    assert len(frames) > 1000
    queries = server.services.views.messages
    stamps = sorted({f["created_at"] for f in frames})
    since, until = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    cases: list[tuple[dict[str, Any], Any]] = [
        ({}, lambda f: True),
        ({"charge_point_id": "CP-B"}, lambda f: f["charge_point_id"] == "CP-B"),
        ({"action": "MeterValues"}, lambda f: f["action"] == "MeterValues"),
        ({"direction": "out", "message_type": 2}, lambda f: f["direction"] == "out" and f["message_type"] == 2),
        ({"message_type": 0}, lambda f: f["message_type"] == 0),
        ({"time_from": since}, lambda f: f["created_at"] >= since),
        ({"time_from": since, "time_to": until, "charge_point_id": "CP-C", "action": "Heartbeat"},
         lambda f: since <= f["created_at"] < until and f["charge_point_id"] == "CP-C" and f["action"] == "Heartbeat"),
        ({"time_to": until, "message_type": 4}, lambda f: f["created_at"] < until and f["message_type"] == 4),
        ({"charge_point_id": "CP-NONE"}, lambda f: False),
    ]
    for filters, match in cases:
        expected = _as_view([f for f in frames if match(f)])
        for newest_first in (True, False):
            ordered = list(reversed(expected)) if newest_first else expected
            for offset, limit in ((0, 10), (7, 25), (len(ordered) - 3, 10), (0, 5000)):
                page = await queries.messages(**filters, newest_first=newest_first, offset=offset, limit=limit)
                assert _shown(page.items) == ordered[max(offset, 0):max(offset, 0) + limit], (filters, offset, limit)
                assert page.total == len(expected), filters
            # Cursor paging walks the same frames, page after page.
            walked: list[dict[str, Any]] = []
            after = None
            while True:
                page = await queries.messages(**filters, newest_first=newest_first, limit=97, after=after)
                walked += _shown(page.items)
                assert page.total == len(expected)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            assert walked == ordered, filters


async def test_compressed_exchanges_match_a_plain_reading_of_every_frame(server) -> None:  # type: ignore[no-untyped-def]
    frames = await _filled(server)
    exchanges = server.services.views.messages.exchanges
    stamps = sorted({f["created_at"] for f in frames})
    since = stamps[len(stamps) // 3]

    def expected(where: ExchangeFilter, before: int | None, limit: int) -> list[tuple[int, int | None]]:
        failed = {f["message_id"] for f in frames if f["message_type"] == 4
                  and (not where.charge_point_id or f["charge_point_id"] == where.charge_point_id)}
        requests = [
            f for f in reversed(frames)
            if f["message_type"] in ((2,) if where.calls_only else (0, 2))
            and (not where.charge_point_id or f["charge_point_id"] == where.charge_point_id)
            and (not where.hide or (f["action"] is not None and f["action"] not in where.hide))
            and (not where.action or f["action"] == where.action)
            and (where.direction not in ("in", "out") or f["direction"] == where.direction)
            and (where.since is None or f["created_at"] >= where.since)
            and (where.until is None or f["created_at"] < where.until)
            and (not where.errors or f["message_type"] == 0 or f["message_id"] in failed)
            and (before is None or f["id"] < before)
        ][:limit]
        result = []
        oldest = min((r["id"] for r in requests), default=0)  # answers are looked for after it
        for request in requests:
            back = "out" if request["direction"] == "in" else "in"
            answer = next((f["id"] for f in frames if f["id"] > oldest and f["message_type"] in (3, 4)
                           and f["charge_point_id"] == request["charge_point_id"]
                           and f["message_id"] == request["message_id"] and f["direction"] == back), None)
            result.append((request["id"], answer if request["message_id"] else None))
        return result

    middle = frames[len(frames) // 2]["id"]
    for where in (
        ExchangeFilter(),
        ExchangeFilter(charge_point_id="CP-A"),
        ExchangeFilter(errors=True),
        ExchangeFilter(charge_point_id="CP-C", errors=True),
        ExchangeFilter(action="Authorize", direction="out"),
        ExchangeFilter(hide=("MeterValues", "Heartbeat"), calls_only=True),
        ExchangeFilter(since=since, until=since + timedelta(seconds=30), direction="in"),
    ):
        for before, limit in ((None, 11), (middle, 11), (None, 1000)):
            got = await exchanges(where, before=before, limit=limit)
            assert [(e.id, e.answer.id if e.answer else None) for e in got] == expected(where, before, limit), where
            for e in got:
                assert e.request.payload == next(f["payload"] for f in frames if f["id"] == e.id)


async def test_a_read_sees_the_frames_held_back_for_their_batch(server) -> None:  # type: ignore[no-untyped-def]
    log = server.services.message_log
    log.hold = 3600.0  # the periodic flush holds them back for an hour
    log.record("CP-HELD", "in", 2, "h1", "Heartbeat", '[2,"h1","Heartbeat",{}]')
    log.record("CP-HELD", "out", 3, "h1", "Heartbeat", '[3,"h1",{"currentTime":"2026-12-01T00:00:00Z"}]')
    page = await server.services.views.messages.messages(charge_point_id="CP-HELD")
    assert [(m.direction, m.message_type) for m in page.items] == [("out", 3), ("in", 2)]
    [exchange] = await server.services.views.messages.exchanges(ExchangeFilter(charge_point_id="CP-HELD"))
    assert exchange.answer is not None and exchange.answer.payload.startswith("[3,")
