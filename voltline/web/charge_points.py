"""Charge points: the list, one charge point's page, its configuration, and commands to it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from voltline.ocpp.commands import ClearChargingProfiles
from voltline.ocpp.versions import VERSIONS
from voltline.services.message_log.views import ExchangeFilter
from voltline.services.provisioning.views import OFFLINE, ChargePointFilter, ChargePointView, ConnectorView
from voltline.services.transactions.views import TransactionView
from voltline.web import commands
from voltline.web.frames import pretty
from voltline.web.payload_examples import examples as payload_examples
from voltline.web.places import evse_places, read_place
from voltline.web.sessions import last_readings
from voltline.web.routing import (
    Dashboard,
    CurrentUser,
    DashboardRoute,
    PageNotFound,
    dashboard,
    render,
    safe_next,
    wants_json,
    web_session,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

TRIGGERABLE = ["BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
               "MeterValues", "StatusNotification"]
# What the page offers a charge point of each version, in that version's words.
TRIGGERABLE_BY_VERSION = {
    "1.6": TRIGGERABLE,
    "2.0.1": ["BootNotification", "FirmwareStatusNotification", "Heartbeat", "LogStatusNotification", "MeterValues",
              "StatusNotification", "TransactionEvent"],
}
RESET_TYPES = {"1.6": ["Soft", "Hard"], "2.0.1": ["OnIdle", "Immediate"]}
FIRST_RAW_ACTION = {"1.6": "GetConfiguration", "2.0.1": "GetVariables"}
CONNECTOR_STATUSES = ["Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
                      "Reserved", "Unavailable", "Faulted"]
# Actions an operator may send as raw OCPP from the page: what the Central System sends (the
# page offers those of the charge point's version; the command service refuses another's).
RAW_ACTIONS = sorted(VERSIONS.outbound_actions())


def _label(point: ChargePointView) -> str:
    """The OCPP version of the charge point's current or last connection (1.6 before any)."""
    return point.ocpp_version if point.ocpp_version in RESET_TYPES else "1.6"


def _raw_actions(label: str) -> list[str]:
    return sorted(next((v.actions for v in VERSIONS if v.label == label), RAW_ACTIONS))


@router.get("/charge-points")
async def charge_point_list(request: Request, q: str = "", state: str = "", status: str = "") -> Response:
    connected = {"online": True, "offline": False}.get(state)
    points = await dashboard(request).views.charge_points.every(ChargePointFilter(connected=connected, search=q.strip()))
    connectors = {p.id: p.connectors for p in points}
    if status == OFFLINE:  # the overview's count of connectors whose charge point is offline
        points = [p for p in points if not p.connected and any(c.connector_id > 0 for c in connectors.get(p.id, ()))]
    elif status:  # what an offline charge point last reported is not its status now
        points = [p for p in points if p.connected
                  and any(c.status == status for c in connectors.get(p.id, ()) if c.connector_id > 0)]
    return render(
        request,
        "charge_points.html",
        {
            "points": points,
            "connectors": connectors,
            "q": q,
            "state": state,
            "status": status,
            "statuses": [*CONNECTOR_STATUSES, OFFLINE],
        },
    )


@router.get("/charge-points/{charge_point_id:path}/configuration")
async def configuration(request: Request, charge_point_id: str, key: str = "") -> Response:
    board = dashboard(request)
    node = board.node
    point = await _charge_point(board, charge_point_id)
    outcome = None
    live: list[dict[str, Any]] | None = None
    unknown: list[str] = []
    online = point.connected
    if node.services.commands.is_connected(charge_point_id):
        outcome = await commands.send(node, charge_point_id, "GetConfiguration", {"key": [key]} if key else {})
        if outcome.ok and outcome.response is not None:
            live = sorted(outcome.response.get("configurationKey") or [], key=lambda k: k.get("key", ""))
            unknown = outcome.response.get("unknownKey") or []
    stored = await board.views.configuration.keys(charge_point_id)
    keys = live if live is not None else [{"key": r.key, "value": r.value, "readonly": r.readonly} for r in stored]
    return render(
        request,
        "configuration.html",
        {"point": point, "keys": keys, "from_charge_point": live is not None, "outcome": outcome, "unknown": unknown,
         "key": key, "online": online},
    )


@router.post("/charge-points/{charge_point_id:path}/commands/{action}")
async def command(request: Request, charge_point_id: str, action: str) -> Response:
    board = dashboard(request)
    node = board.node
    await _charge_point(board, charge_point_id)
    form = await request.form()
    build = _PAYLOADS.get(action)
    verb = _VERBS.get(action)
    if verb is not None:
        ocpp_action, read = verb
        try:
            ask = read(form)
        except ValueError as exc:
            outcome = commands.Outcome("invalid", f"{ocpp_action} was not sent: {exc}")
        else:
            outcome = await commands.run(node, charge_point_id, ocpp_action,
                                         lambda timeout: ask(node.services, charge_point_id, timeout))
    elif action == "remote-start":
        try:
            id_tag, (evse_id, connector_id) = _text(form, "id_tag"), read_place(form, required=False)
        except ValueError as exc:
            outcome = commands.Outcome("invalid", f"RemoteStartTransaction was not sent: {exc}")
        else:
            assert id_tag is not None
            # A 2.0.1 station starts on an EVSE (RequestStartTransaction has no connector).
            outcome = await commands.remote_start(
                node, charge_point_id, id_tag, connector_id if evse_id is None else None, evse_id)
    elif build is None:
        outcome = commands.Outcome("invalid", f"the dashboard does not send {action}")
    else:
        try:
            action, payload = build(form)
        except (KeyError, ValueError) as exc:
            outcome = commands.Outcome("invalid", f"{action} was not sent: {exc}")
        else:
            outcome = await commands.send(node, charge_point_id, action, payload)
    if wants_json(request):
        return JSONResponse(outcome.as_dict())
    kind = {"accepted": "ok", "rejected": "bad", "error": "bad"}.get(outcome.kind, "warn")
    if outcome.status is not None and outcome.status.tone != "muted":
        kind = outcome.status.tone  # Scheduled is amber, though accepted
    message = outcome.message
    if request.path_params.get("action") == "raw" and outcome.response is not None:  # without JavaScript, the answer in the notice
        message += " — " + json.dumps(outcome.response, ensure_ascii=False)
    web_session(request).add_flash(kind, message)
    fallback = f"/charge-points/{charge_point_id}"
    next_ = form.get("next")
    return RedirectResponse(safe_next(next_ if isinstance(next_, str) else None, fallback), status_code=303)


@router.get("/charge-points/{charge_point_id:path}")
async def charge_point_page(request: Request, charge_point_id: str) -> Response:
    board = dashboard(request)
    views = board.views
    point = await _charge_point(board, charge_point_id)
    connectors = point.connectors
    active = await views.transactions.active(charge_point_id)
    # A session is on a connector as the charge point numbers it: (EVSE, connector) on 2.0.1,
    # the connector alone (EVSE null) on 1.6.
    sessions_at = {(s.evse_id, s.connector_id): s for s in active}
    # 2.0.1's connector is Occupied while in use; whether the car charges its events tell.
    charging = await views.transactions.charging_states([s.id for s in active if s.evse_id is not None])
    rows = []
    for connector in connectors:
        session = sessions_at.get((connector.evse_id, connector.connector_id))
        rows.append(
            {
                "connector": connector,
                "session": session,
                "charging_state": charging.get(session.id) if session else None,
                "power": views.transactions.power_w(session) if session else None,
                "energy": session.energy_wh if session else None,
            }
        )
    online = point.connected
    by_evse = _label(point) == "2.0.1"
    # Sessions on connectors that never sent a StatusNotification still show.
    for (evse_id, connector_id), session in sorted(sessions_at.items(), key=lambda item: (item[0][0] or 0, item[0][1])):
        if not any((c.evse_id, c.connector_id) == (evse_id, connector_id) for c in connectors):
            rows.append({"connector": None, "connector_id": connector_id, "evse_id": evse_id, "session": session,
                         "charging_state": charging.get(session.id),
                         "power": views.transactions.power_w(session), "energy": session.energy_wh})
    return render(
        request,
        "charge_point.html",
        {
            "point": point,
            "online": online,
            "rows": rows,
            "evses": evse_groups(rows),
            "last_readings": await last_readings(board.node, active),
            "connector_ids": sorted({c.connector_id for c in connectors if c.connector_id > 0} | {s.connector_id for s in active}),
            "connector_states": {c.connector_id: c.status if online else "offline" for c in connectors},
            "free_connector": free_connector(connectors, sessions_at) if online else None,
            # A 2.0.1 station's forms name EVSEs (and EVSE/connector), not bare connector numbers.
            "places": evse_places(connectors, sessions_at, online, free_location(connectors, sessions_at) if online else None)
            if by_evse else None,
            "id_tags": await views.id_tags.accepted(),
            "reservations": (await views.reservations.reservations(charge_point_id=charge_point_id, limit=20)).items,
            "profiles": (await views.charging_profiles.charging_profiles(charge_point_id=charge_point_id, limit=50)).items,
            "events": (await views.events.history(charge_point_id, limit=10)).items,
            "exchanges": await views.messages.exchanges(ExchangeFilter(charge_point_id=charge_point_id), limit=16),
            "triggerable": TRIGGERABLE_BY_VERSION[_label(point)],
            "reset_types": RESET_TYPES[_label(point)],
            "raw_actions": _raw_actions(_label(point)),
            "raw_action": FIRST_RAW_ACTION[_label(point)],
            "payload_examples": payload_examples(_label(point)),
            "pretty": pretty,
            "issued_certificates": (await board.views.certificates.certificates(charge_point_id=charge_point_id, limit=5)).items,
            "installed_certificates": await board.node.services.installed_certificates.list(charge_point_id),
        },
    )


def evse_groups(rows: list[dict[str, Any]]) -> list[tuple[int, list[dict[str, Any]]]] | None:
    """The rows by EVSE for a charge point that numbers its connectors per EVSE (2.0.1); None for
    one numbered as 1.6 numbers them, whose page lists its connectors alone."""
    def evse_of(row: dict[str, Any]) -> int | None:
        connector = row["connector"]
        return connector.evse_id if connector is not None else row.get("evse_id")

    if all(evse_of(row) is None for row in rows):
        return None
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(evse_of(row) or 0, []).append(row)
    return sorted(groups.items())


def free_connector(
    connectors: list[ConnectorView], sessions: dict[tuple[int | None, int], TransactionView]
) -> int | None:
    """The connector a remote start should offer first: the first Available one without a session
    (`sessions` by `(evse_id, connector_id)`: on 2.0.1 every EVSE has a connector 1)."""
    free = free_location(connectors, sessions)
    return free[1] if free is not None else None


def free_location(
    connectors: list[ConnectorView], sessions: dict[tuple[int | None, int], TransactionView]
) -> tuple[int | None, int] | None:
    """`(evse_id, connector_id)` of that connector (evse_id None on 1.6)."""
    for c in connectors:
        if c.connector_id > 0 and c.status == "Available" and (c.evse_id, c.connector_id) not in sessions:
            return c.evse_id, int(c.connector_id)
    return None


async def _charge_point(board: Dashboard, charge_point_id: str) -> ChargePointView:
    point = await board.views.charge_points.find(charge_point_id)
    if point is None:
        raise PageNotFound(f"There is no charge point {charge_point_id!r}.")
    return point


# -- form → OCPP payload ------------------------------------------------------------------


def _text(form: FormData, name: str, required: bool = True) -> str | None:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        if required:
            raise ValueError(f"{name.replace('_', ' ')} is missing")
        return None
    return value


def _int(form: FormData, name: str, required: bool = True) -> int | None:
    value = _text(form, name, required)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name.replace('_', ' ')} must be a whole number") from None


def _raw(form: FormData) -> tuple[str, dict[str, Any]]:
    action = _text(form, "ocpp_action")
    assert action is not None
    if action not in RAW_ACTIONS:
        raise ValueError(f"{action} is not a command of the central system")
    try:
        payload = json.loads(_text(form, "payload", required=False) or "{}")
    except ValueError as exc:
        raise ValueError(f"the payload is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ValueError("the payload must be a JSON object")
    return action, payload


def _one_of(form: FormData, name: str, allowed: tuple[str, ...]) -> Any:
    value = _text(form, name)
    if value not in allowed:
        raise ValueError(f"{name.replace('_', ' ')} must be one of {', '.join(allowed)}")
    return value


Ask = Callable[[Any, str, float], Awaitable[Any]]
"""`ask(services, charge_point_id, timeout)`: the service verb's reply."""


def _reset(f: FormData) -> Ask:
    kind = _one_of(f, "type", ("Soft", "Hard", "OnIdle", "Immediate"))
    return lambda services, cp, timeout: services.commands.reset(cp, kind, timeout=timeout)


def _unlock(f: FormData) -> Ask:
    evse_id, connector_id = read_place(f, required=True)
    if connector_id is None:  # 2.0.1's UnlockConnector names the EVSE and its connector
        raise ValueError(f"name the connector of EVSE {evse_id} to unlock (EVSE/connector)")
    return lambda services, cp, timeout: services.commands.unlock(cp, connector_id, evse_id=evse_id, timeout=timeout)


def _availability(f: FormData) -> Ask:
    # Nothing named on a 2.0.1 form: the whole station, as connector 0 is on 1.6.
    evse_id, connector_id = read_place(f, required="evse" not in f)
    availability = _one_of(f, "type", ("Operative", "Inoperative"))
    return lambda services, cp, timeout: services.commands.change_availability(
        cp, connector_id or 0, availability, evse_id=evse_id, timeout=timeout)


def _trigger(f: FormData) -> Ask:
    message, (evse_id, connector_id) = _text(f, "requested_message"), read_place(f, required=False)
    return lambda services, cp, timeout: services.commands.trigger(
        cp, message, connector_id, evse_id=evse_id, timeout=timeout)


def _remote_stop(f: FormData) -> Ask:
    transaction_id = _int(f, "transaction_id")
    return lambda services, cp, timeout: services.remote_starts.stop(cp, transaction_id, timeout=timeout)


def _clear_profile(f: FormData) -> Ask:
    request = ClearChargingProfiles(profile_id=_int(f, "profile_id"))
    return lambda services, cp, timeout: services.commands.send(cp, request, timeout)


# The panels' commands, through the command service's verbs: each goes out in the charge point's
# own version (a 1.6 connector N is a 2.0.1 EVSE N).
_VERBS: dict[str, tuple[str, Callable[[FormData], Ask]]] = {
    "reset": ("Reset", _reset),
    "unlock": ("UnlockConnector", _unlock),
    "availability": ("ChangeAvailability", _availability),
    "trigger": ("TriggerMessage", _trigger),
    "remote-stop": ("RemoteStopTransaction", _remote_stop),
    "clear-profile": ("ClearChargingProfile", _clear_profile),
}

_PAYLOADS: dict[str, Callable[[FormData], tuple[str, dict[str, Any]]]] = {
    "change-configuration": lambda f: ("ChangeConfiguration", {"key": _text(f, "key"), "value": f.get("value", "")}),
    "clear-cache": lambda f: ("ClearCache", {}),
    "cancel-reservation": lambda f: ("CancelReservation", {"reservationId": _int(f, "reservation_id")}),
    "raw": _raw,
}
