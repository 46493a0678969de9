"""The read model of the OCPP message log: frames as they crossed the wire (the REST API's
list) and CALLs with their answers (the dashboard's log and feed), over the same batched,
compressed table (found by services.message_log.search, in a read's thread)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Literal

from pydantic import Field

from voltline.services.message_log.search import FrameQuery, LoggedFrame, Search
from voltline.services.paging import Page, decode_cursor, encode_cursor
from voltline.services.read_model import ReadModel
from voltline.store.database import Store
from voltline.store.log_bodies import Unpacker

CALL, CALLRESULT, CALLERROR, UNREADABLE = 2, 3, 4, 0


class MessageView(ReadModel):
    id: int
    charge_point_id: str
    direction: Literal["in", "out"] = Field(description="in: from the charge point; out: to it")
    message_type: int = Field(description="2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unreadable")
    message_id: str | None
    action: str | None
    error_code: str | None
    payload: str = Field(description="the frame exactly as it crossed the wire")
    created_at: datetime


@dataclass(slots=True)
class ExchangeFilter:
    charge_point_id: str = ""
    action: str = ""
    direction: str = ""  # "" | "in" | "out"
    errors: bool = False  # only the CALLs answered with a CALLERROR, and unreadable frames
    since: datetime | None = None
    until: datetime | None = None
    calls_only: bool = False  # without the frames that could not be read
    hide: tuple[str, ...] = ()  # actions left out (the feed's MeterValues and Heartbeats)


@dataclass(slots=True)
class Exchange:
    """A CALL and its answer (when one came), or a frame that answers nothing we have."""

    request: MessageView
    answer: MessageView | None

    @property
    def id(self) -> int:
        return self.request.id


def _utc(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


FLUSH_WAIT = 1.0  # seconds a read waits for the frames held back to be written, at most


class MessageViews:
    def __init__(self, store: Store, flush: Callable[[str], Awaitable[Any] | None] | None = None) -> None:
        self._store = store
        self._flush = flush  # the recorder's, for one charge point: write the frames it holds back
        self._dictionaries: dict[int, bytes] = {}  # loaded by reads as they meet them; never changed

    async def _search(self, read: Any, charge_point_id: str | None) -> Any:
        """`read(search)`'s result, run in a read's thread. A charge point's frames that the
        recorder holds back (to make a batch of them) are written first: its log is seen up to
        now. The whole log's reads (the overview's feed, refreshed every second) leave the
        batches be, and see a frame once its batch is written, `hold` seconds on."""
        written = None if self._flush is None or not charge_point_id else self._flush(charge_point_id)
        if written is not None:
            # Failed writes are the recorder's to retry; a slow one is not waited for long.
            await asyncio.wait([asyncio.ensure_future(written)], timeout=FLUSH_WAIT)
        async with self._store.query() as conn:
            return await conn.run_sync(
                lambda sync_conn: read(Search(sync_conn, Unpacker(self._dictionaries), self._store.query_timeout))
            )

    async def messages(
        self,
        *,
        charge_point_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
        message_type: int | None = None,
        time_from: datetime | None = None,
        time_to: datetime | None = None,
        newest_first: bool = True,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> Page[MessageView]:
        """Newest (or oldest) first; `after` is the `next_cursor` of the page before."""
        query = FrameQuery(
            charge_point_id=charge_point_id, action=action, direction=direction,
            message_types=None if message_type is None else (message_type,),
            since=_utc(time_from), until=_utc(time_to),
        )
        # A cursor is a frame id: the page goes on below (or above) it; the total stays the query's.
        last = None if after is None else decode_cursor(after, "msg", int)[0]
        page_query = query
        if last is not None:
            page_query = replace(query, below=last) if newest_first else replace(query, above=last)
        whole_log = query == FrameQuery()

        def read(search: Search) -> tuple[list[LoggedFrame], int]:
            if whole_log:  # counted by batch, not unpacked
                total = search.total_frames()
                rows, _ = search.page(page_query, offset=offset, limit=limit, newest_first=newest_first)
                return rows, total
            if page_query is query:
                return search.page(query, offset=offset, limit=limit, newest_first=newest_first, count=True)
            rows, _ = search.page(page_query, offset=offset, limit=limit, newest_first=newest_first)
            return rows, search.page(query, offset=0, limit=0, count=True)[1]

        rows, total = await self._search(read, charge_point_id)
        next_cursor = encode_cursor("msg", rows[-1].id) if rows and len(rows) == limit else None
        return Page([MessageView.model_validate(row) for row in rows], int(total or 0), limit, offset, next_cursor)

    async def exchanges(self, where: ExchangeFilter, *, before: int | None = None, limit: int = 50) -> list[Exchange]:
        """The newest CALLs (and unreadable frames) with their answers, newest first."""
        charge_point = where.charge_point_id or None
        query = FrameQuery(
            charge_point_id=charge_point,
            action=where.action or None,
            hidden=tuple(where.hide),
            direction=where.direction if where.direction in ("in", "out") else None,
            message_types=(CALL,) if where.calls_only else (UNREADABLE, CALL),
            since=_utc(where.since), until=_utc(where.until),
            below=before,
        )

        def read(search: Search) -> tuple[list[LoggedFrame], dict[tuple[str, str, str], LoggedFrame]]:
            chosen = query
            if where.errors:
                # The message ids answered with a CALLERROR (of the charge point, if one is asked for).
                errors = FrameQuery(charge_point_id=charge_point, message_types=(CALLERROR,))
                failed = frozenset(f.message_id for f in search.frames(errors) if f.message_id is not None)
                chosen = replace(query, unreadable_or_ids=failed)
            requests = list(islice(search.frames(chosen), limit))
            return requests, _answers(search, requests, charge_point)

        requests, answers = await self._search(read, charge_point)
        result = []
        for row in requests:
            answer = answers.get((row.charge_point_id, row.message_id or "", "out" if row.direction == "in" else "in"))
            result.append(Exchange(
                MessageView.model_validate(row), None if answer is None else MessageView.model_validate(answer)
            ))
        return result


def _answers(
    search: Search, requests: list[LoggedFrame], charge_point: str | None
) -> dict[tuple[str, str, str], LoggedFrame]:
    """The first CALLRESULT or CALLERROR logged after the oldest request for each request's
    message id, by charge point, message id and direction."""
    ids = frozenset(row.message_id for row in requests if row.message_id)
    if not ids:
        return {}
    # An answer is logged after its CALL: the oldest request bounds the search to later batches.
    wanted = {(row.charge_point_id, row.message_id, "out" if row.direction == "in" else "in")
              for row in requests if row.message_id}
    answers: dict[tuple[str, str, str], LoggedFrame] = {}
    query = FrameQuery(
        charge_point_id=charge_point, message_types=(CALLRESULT, CALLERROR), message_ids=ids,
        above=min(row.id for row in requests),
    )
    for row in search.frames(query, newest_first=False):
        answers.setdefault((row.charge_point_id, row.message_id or "", row.direction), row)
        if wanted <= answers.keys():
            break  # every request has its answer: the rest of the log is not read
    return answers
