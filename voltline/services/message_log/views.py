"""The read model of the OCPP message log: frames as they crossed the wire (the REST API's
list) and CALLs with their answers (the dashboard's log and feed), over the same batched table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from voltline.services.message_log import search as message_search
from voltline.services.paging import Page, decode_cursor, encode_cursor
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store

_msg = t.messages.c
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


def _within(query: sa.Select[Any], since: datetime | None, until: datetime | None) -> sa.Select[Any]:
    # Each time bound twice: on the frame, and on its batch (which the batches' index finds).
    if since is not None:
        query = query.where(_msg.created_at >= since, _msg.batch_last_at >= since)
    if until is not None:
        query = query.where(_msg.created_at < until, _msg.batch_first_at < until)
    return query


class MessageViews:
    def __init__(self, store: Store) -> None:
        self._store = store

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
        query = sa.select(t.messages)
        for column, value in ((_msg.action, action), (_msg.direction, direction), (_msg.message_type, message_type)):
            if value is not None:
                query = query.where(column == value)
        query = _within(query, time_from, time_to)
        # A cursor is a frame id; its batch bounds the batches to read (their index finds them).
        last = None if after is None else decode_cursor(after, "msg", int)[0]
        page_query, before = query, None
        if last is not None:
            if newest_first:
                before = last
                page_query = query.where(_msg.id < last, _msg.batch_id <= last // t.FRAMES_PER_BATCH)
            else:
                page_query = query.where(_msg.id > last, _msg.batch_id >= last // t.FRAMES_PER_BATCH)
        async with self._store.query() as conn:
            if charge_point_id is None:
                if query.whereclause is None:  # the whole log: counted by batch, not unpacked
                    total = await conn.scalar(sa.select(sa.func.sum(t.message_batches.c.frame_count)))
                else:
                    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
                rows = await message_search.log_rows(
                    conn, page_query, limit=limit, offset=offset, newest_first=newest_first
                )
            else:
                # No index is led by the charge point (it slowed the log's writes): walk its blocks.
                total = await message_search.count_charge_point_rows(conn, query, charge_point_id)
                rows = await message_search.charge_point_rows(
                    conn, page_query, charge_point_id, limit=limit, offset=offset, newest_first=newest_first,
                    before=before,
                )
        next_cursor = encode_cursor("msg", rows[-1].id) if rows and len(rows) == limit else None
        return Page([MessageView.model_validate(row) for row in rows], int(total or 0), limit, offset, next_cursor)

    async def exchanges(self, where: ExchangeFilter, *, before: int | None = None, limit: int = 50) -> list[Exchange]:
        """The newest CALLs (and unreadable frames) with their answers, newest first."""
        statement = sa.select(t.messages).where(
            _msg.message_type.in_((CALL,) if where.calls_only else (UNREADABLE, CALL))
        )
        if where.hide:
            statement = statement.where(_msg.action.not_in(where.hide))
        if where.action:
            statement = statement.where(_msg.action == where.action)
        if where.direction in ("in", "out"):
            statement = statement.where(_msg.direction == where.direction)
        statement = _within(statement, where.since, where.until)
        if where.errors:
            failed = (
                sa.select(_msg.message_id)
                .where(_msg.message_type == CALLERROR)
                .where(_msg.charge_point_id == where.charge_point_id if where.charge_point_id else sa.true())
            )
            statement = statement.where(sa.or_(_msg.message_type == UNREADABLE, _msg.message_id.in_(failed)))
        async with self._store.query() as conn:
            if where.charge_point_id:
                requests = await message_search.charge_point_rows(
                    conn, statement, where.charge_point_id, limit=limit, before=before
                )
            else:
                if before is not None:
                    statement = statement.where(_msg.id < before, _msg.batch_id <= (before - 1) // t.FRAMES_PER_BATCH)
                requests = await message_search.log_rows(conn, statement, limit=limit)
        ids = {row.message_id for row in requests if row.message_id}
        answers: dict[tuple[str, str, str], Any] = {}
        if ids:
            # An answer is logged after its CALL: the batch ids bound the search to recent batches.
            oldest = min(row.id for row in requests)
            for row in await self._store.query_all(
                sa.select(t.messages)
                .where(_msg.batch_id >= oldest // t.FRAMES_PER_BATCH, _msg.id > oldest)
                .where(_msg.message_type.in_((CALLRESULT, CALLERROR)), _msg.message_id.in_(ids))
                .order_by(_msg.batch_id, _msg.id)
            ):
                answers.setdefault((row.charge_point_id, row.message_id, row.direction), row)
        result = []
        for row in requests:
            answer = answers.get((row.charge_point_id, row.message_id or "", "out" if row.direction == "in" else "in"))
            result.append(Exchange(
                MessageView.model_validate(row), None if answer is None else MessageView.model_validate(answer)
            ))
        return result
