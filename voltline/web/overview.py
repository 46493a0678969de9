"""The overview: how the network is doing right now."""

from __future__ import annotations

from datetime import UTC, datetime
from fastapi import APIRouter, Request
from starlette.responses import Response

from voltline.services.message_log.views import ExchangeFilter
from voltline.services.provisioning.views import OFFLINE
from voltline.web.routing import CurrentUser, DashboardRoute, dashboard, operator_zone, render
from voltline.web.zones import month_start, today_start

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

# Occupied: 2.0.1's connector in use (charging or not; its sessions' chargingState tells which).
STATUS_ORDER = ["Available", "Preparing", "Charging", "Occupied", "SuspendedEV", "SuspendedEVSE", "Finishing",
                "Reserved", "Unavailable", "Faulted", OFFLINE]
# The feed: the newest requests in either direction with their answers, without the chatter.
FEED = ExchangeFilter(calls_only=True, hide=("MeterValues", "Heartbeat"))
FEED_LENGTH = 21


@router.get("/", dependencies=[CurrentUser])
async def overview(request: Request) -> Response:
    views = dashboard(request).views
    # "Today" and "this month" are the operator's, in their zone.
    now, zone = datetime.now(UTC), operator_zone(request)
    day, month = today_start(zone, now), month_start(zone, now)
    total, connected = await views.charge_points.counts()
    statuses = await views.charge_points.connector_status_counts()
    active = await views.transactions.active()
    online = await views.charge_points.connected_among({s.charge_point_id for s in active})
    charging = await views.transactions.charging_states([s.id for s in active if s.evse_id is not None])
    running = [
        {"session": s, "energy": s.energy_wh, "power": views.transactions.power_w(s),
         "offline": s.charge_point_id not in online, "charging_state": charging.get(s.id)}
        for s in active
    ]
    # Energy of a period: the sessions that finished in it and what the running ones delivered so far.
    energy_today = await views.transactions.energy_since(day)
    energy_month = await views.transactions.energy_since(month)
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
            "feed": await views.messages.exchanges(FEED, limit=FEED_LENGTH),
        },
    )
