"""Charging sessions: the list with filters and CSV export, one session with its chart, and
closing a session its charge point no longer has."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from voltline.services.errors import DomainError, NotFound
from voltline.services.node import Node
from voltline.services.transactions.csv_export import csv_lines, lines
from voltline.services.transactions.views import TransactionFilter, TransactionView, series
from voltline.web.routing import (
    PAGE_SIZE,
    CurrentUser,
    DashboardRoute,
    PageNotFound,
    dashboard,
    operator_zone,
    render,
    safe_next,
    web_session,
)
from voltline.web.zones import day_range

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])
SAMPLES_SHOWN = 5000  # sampled values on a session's page and in its chart


def _filter(request: Request, charge_point_id: str, id_tag: str, state: str, since: str,
            until: str) -> TransactionFilter:
    # The days are the operator's calendar days; the "to" day is included.
    start, end = day_range(since, until, operator_zone(request))
    return TransactionFilter(
        charge_point_id=charge_point_id.strip() or None,
        id_tag=id_tag.strip() or None,
        active={"active": True, "finished": False}.get(state),
        started_from=start,
        started_to=end,
    )


@router.get("/sessions")
async def session_list(
    request: Request, charge_point_id: str = "", id_tag: str = "", state: str = "", since: str = "", until: str = "",
    page: int = 1,
) -> Response:
    page = max(1, page)
    where = _filter(request, charge_point_id, id_tag, state, since, until)
    rows = await dashboard(request).views.transactions.newest(
        where, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = request.url.query
    return render(
        request,
        "sessions.html",
        {
            "sessions": [
                {"session": s, "energy": s.energy_wh, "duration": s.duration_s} for s in rows
            ],
            "filters": {"charge_point_id": charge_point_id, "id_tag": id_tag, "state": state, "since": since,
                        "until": until},
            "page": page,
            "more": more,
            "csv_query": query,
            "base_query": "&".join(p for p in query.split("&") if p and not p.startswith("page=")),
        },
    )


@router.get("/sessions.csv")
async def session_csv(
    request: Request, charge_point_id: str = "", id_tag: str = "", state: str = "", since: str = "", until: str = "",
) -> Response:
    # The REST API's export, with the page's filters: the same writer, so the same file.
    where = _filter(request, charge_point_id, id_tag, state, since, until)
    chunks = dashboard(request).views.transactions.stream(where, lines)
    # The export is in UTC like the API, whatever the operator's zone: the name says so.
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%SZ")
    return StreamingResponse(
        csv_lines(chunks), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="voltline-sessions-{stamp}.csv"'},
    )


@router.get("/sessions/{transaction_id}")
async def session_page(request: Request, transaction_id: int) -> Response:
    board = dashboard(request)
    views = board.views.transactions
    try:
        session = await views.transaction(transaction_id)
    except NotFound:
        raise PageNotFound(f"There is no session {transaction_id}.") from None
    values = await views.samples(transaction_id, limit=SAMPLES_SHOWN)
    chart = series(values, session)
    return render(
        request,
        "session.html",
        {
            "session": session,
            "energy": session.energy_wh,
            "power": views.power_w(session),
            "duration": session.duration_s,
            "meter_values": values,
            "last_reading": (await last_readings(board.node, [session])).get(session.id),
            "series": chart,
            "chart": {"kind": "session", "transaction_id": session.id, "meter_start": session.meter_start,
                      "active": session.stopped_at is None, **chart},
        },
    )


async def last_readings(node: Node, sessions: Iterable[TransactionView]) -> dict[int, int]:
    """The meter value to offer for closing each active session: its last register reading,
    else its meter start."""
    readings = {}
    for session in sessions:
        if session.stopped_at is None:
            last = await node.services.transactions.last_register(session.id)
            readings[session.id] = session.meter_start if last is None else last
    return readings


@router.post("/sessions/{transaction_id}/close")
async def close_session(request: Request, transaction_id: int) -> Response:
    """End a session without its charge point, as the signed-in operator."""
    node = dashboard(request).node
    form = await request.form()
    flash = web_session(request).add_flash
    next_ = form.get("next")
    back = safe_next(next_ if isinstance(next_, str) else None, f"/sessions/{transaction_id}")
    meter, reason = form.get("meter_stop"), form.get("reason")
    try:
        meter_stop = int(meter) if isinstance(meter, str) and meter.strip() else None
    except ValueError:
        flash("bad", f"Session #{transaction_id} was not closed: the meter value must be a whole number of Wh.")
        return RedirectResponse(back, status_code=303)
    # One line of printable text, as the API takes it.
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in reason).split())[:160] if isinstance(reason, str) else ""
    try:
        closed = await node.services.transactions.close(
            transaction_id, closed_by=request.state.user.username, meter_stop=meter_stop, reason=text or None
        )
    except DomainError as exc:
        flash("bad", f"Session #{transaction_id} was not closed: {exc.message}.")
    else:
        flash("ok", f"Session #{transaction_id} closed without the charge point at {closed.meter_stop} Wh.")
    return RedirectResponse(back, status_code=303)
