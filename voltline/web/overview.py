"""The overview: how the network is doing right now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from voltline.web import queries
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, operator_zone, render
from voltline.web.zones import month_start, today_start

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

STATUS_ORDER = ["Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved",
                "Unavailable", "Faulted", queries.OFFLINE]


def live_energy(voltline: Any, session: Any) -> float | None:
    """Wh delivered so far in an active session, from the newest meter reading."""
    reading = voltline.services.transactions.live.get((session.charge_point_id, session.connector_id))
    if reading is None or reading.transaction_id != session.id or reading.energy_wh is None:
        return None
    return max(0.0, reading.energy_wh - session.meter_start)


def live_power(voltline: Any, session: Any) -> float | None:
    reading = voltline.services.transactions.live.get((session.charge_point_id, session.connector_id))
    if reading is None or reading.transaction_id != session.id:
        return None
    return reading.power_w


@router.get("/", dependencies=[CurrentUser])
async def overview(request: Request) -> Response:
    voltline = dashboard(request).voltline
    store = voltline.store
    # "Today" and "this month" are the operator's, in their zone.
    now, zone = datetime.now(UTC), operator_zone(request)
    day, month = today_start(zone, now), month_start(zone, now)
    total, connected = await queries.charge_point_counts(store)
    statuses = await queries.connector_status_counts(store)
    active = await queries.active_sessions(store)
    online = await queries.connected_among(store, {s.charge_point_id for s in active})
    running = [
        {"session": s, "energy": live_energy(voltline, s), "power": live_power(voltline, s),
         "offline": s.charge_point_id not in online}
        for s in active
    ]
    # Energy of a period = sessions that finished in it + what the running ones delivered so far.
    running_wh = sum(r["energy"] or 0.0 for r in running)
    energy_today = await queries.energy_finished_since(store, day) + running_wh
    energy_month = await queries.energy_finished_since(store, month) + running_wh
    ordered = [(s, statuses[s]) for s in STATUS_ORDER if s in statuses]
    ordered += [(s, n) for s, n in sorted(statuses.items()) if s not in STATUS_ORDER]
    return render(
        request,
        "overview.html",
        {
            "total": total,
            "connected": connected,
            "statuses": ordered,
            "connector_total": sum(statuses.values()),
            "running": running,
            # A session on an offline charge point is open, but nobody knows that it is charging.
            "charging_now": sum(1 for r in running if not r["offline"]),
            "open_offline": sum(1 for r in running if r["offline"]),
            "power_now": sum(r["power"] or 0.0 for r in running),
            "energy_today": energy_today,
            "energy_month": energy_month,
            "feed": await queries.recent_calls(store),
        },
    )
