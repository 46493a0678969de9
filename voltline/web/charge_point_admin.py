"""Managing charge points: register one (also from the list of refused unknown ones), change its
settings, delete it.

The form is checked by the API's own request models (ChargePointIn / ChargePointPatch), so a
setting the API refuses is refused here for the same reason, and the rules live in one place.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from voltline.api.schemas import ChargePointIn, ChargePointPatch
from voltline.ocpp.identity import MAX_LENGTH, identity_problem
from voltline.ocpp.versions import VERSIONS
from voltline.services.provisioning.charge_points import ChargePointExists, UnknownChargePoint
from voltline.services.errors import DomainError
from voltline.services.provisioning.views import ChargePointView
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, render, web_session

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

REGISTRATION_STATUSES = ["Accepted", "Pending", "Rejected"]
SECURITY_PROFILES = [(0, "none (its password, if set)"), (1, "HTTP Basic password"),
                     (2, "TLS (wss://) and password"), (3, "TLS with a client certificate")]
# Lenient actions are those a charge point sends: their schema violations are logged, not refused.
LENIENT_CHOICES = VERSIONS.inbound_actions()
_LABELS = {"id": "identity", "password": "password", "description": "description",
           "registration_status": "registration status", "ping_interval": "ping interval",
           "lenient_actions": "lenient actions", "security_profile": "security profile"}


class FormProblems(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _submitted(form: FormData) -> dict[str, Any]:
    """The form as typed, to show again beside what was wrong with it."""
    return {
        "id": _text(form, "id"),
        "description": _text(form, "description"),
        "registration_status": _text(form, "registration_status") or "Accepted",
        "security_profile": _text(form, "security_profile"),
        "ping_interval": _text(form, "ping_interval"),
        "lenient_actions": [a for a in form.getlist("lenient_actions") if isinstance(a, str)],
    }


def _settings(form: FormData) -> dict[str, Any]:
    """What both forms set, as the API's request body would carry it."""
    values: dict[str, Any] = {
        "description": _text(form, "description") or None,
        "registration_status": _text(form, "registration_status") or "Accepted",
        "ping_interval": _text(form, "ping_interval") or None,
        "lenient_actions": [a for a in form.getlist("lenient_actions") if isinstance(a, str) and a],
    }
    if _text(form, "security_profile"):
        values["security_profile"] = _text(form, "security_profile")
    return values


def _problems(exc: ValidationError, identity: str | None = None) -> FormProblems:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if name == "id" and identity is not None:
            problems.append(identity_problem(identity) or "the charge point identity is not valid")
            continue
        message = str(error["msg"])
        problems.append(f"{_LABELS.get(name, name)}: {message[:1].lower()}{message[1:]}")
    return FormProblems(problems)


def new_charge_point(form: FormData) -> ChargePointIn:
    identity = _text(form, "id")
    password = form.get("password")
    body = {"id": identity, **_settings(form)}
    if isinstance(password, str) and password:
        body["password"] = password
    try:
        return ChargePointIn.model_validate(body)
    except ValidationError as exc:
        raise _problems(exc, identity) from None


def changed_settings(form: FormData) -> dict[str, Any]:
    """The changes for ChargePointService.update: every setting, the password only when a new
    one was typed or its removal ticked (an empty field keeps it)."""
    body = _settings(form)
    password = form.get("password")
    remove = _text(form, "remove_password") == "1"
    if remove and isinstance(password, str) and password:
        raise FormProblems(["password: type a new password or tick “remove”, not both"])
    if remove:
        body["password"] = None
    elif isinstance(password, str) and password:
        body["password"] = password
    try:
        patch = ChargePointPatch.model_validate(body)
    except ValidationError as exc:
        raise _problems(exc) from None
    return {name: getattr(patch, name) for name in patch.model_fields_set}


def _form_context(values: dict[str, Any], problems: list[str] | None = None) -> dict[str, Any]:
    choices = LENIENT_CHOICES + sorted(set(values.get("lenient_actions") or ()) - set(LENIENT_CHOICES))
    return {"values": values, "problems": problems or [], "statuses": REGISTRATION_STATUSES,
            "lenient_choices": choices, "max_length": MAX_LENGTH, "security_profiles": SECURITY_PROFILES}


# -- registering ----------------------------------------------------------------------------


@router.get("/admin")
async def admin_home(request: Request) -> Response:
    return RedirectResponse("/admin/charge-points", status_code=303)


@router.get("/admin/charge-points")
async def registration_page(request: Request, id: str = "") -> Response:
    default_profile = dashboard(request).node.services.charge_points.default_security_profile
    return _registration(request, {"id": id.strip(), "registration_status": "Accepted", "lenient_actions": [],
                                   "security_profile": default_profile})


def _registration(request: Request, values: dict[str, Any], problems: list[str] | None = None,
                  status_code: int = 200) -> Response:
    charge_points = dashboard(request).node.services.charge_points
    context = {**_form_context(values, problems), "refused": charge_points.refused_unknown(),
               "refused_limit": charge_points.refusals.limit}
    return render(request, "admin_charge_points.html", context, status_code=status_code)


@router.post("/admin/charge-points")
async def register(request: Request) -> Response:
    form = await request.form()
    try:
        body = new_charge_point(form)
    except FormProblems as exc:
        return _registration(request, _submitted(form), exc.problems, status_code=400)
    services = dashboard(request).node.services
    try:
        await services.charge_points.register(
            body.id, password=body.password, description=body.description,
            registration_status=body.registration_status, ping_interval=body.ping_interval,
            lenient_actions=body.lenient_actions, security_profile=body.security_profile,
        )
    except ChargePointExists:
        return _registration(request, _submitted(form), [f"a charge point {body.id} is registered already"],
                             status_code=409)
    except DomainError as exc:
        return _registration(request, _submitted(form), [exc.message], status_code=400)
    web_session(request).add_flash("ok", f"Registered the charge point {body.id} ({body.registration_status}).")
    return RedirectResponse(f"/charge-points/{body.id}", status_code=303)


@router.post("/admin/charge-points/refused/{identity}/register")
async def register_refused(request: Request, identity: str) -> Response:
    """One click: an unknown charge point is registered Accepted; one the boot policy registered
    as Rejected is accepted, and its connection closed so that it connects and boots again."""
    node = dashboard(request).node
    charge_points = node.services.charge_points
    session = web_session(request)
    problem = identity_problem(identity)
    if problem is not None:
        session.add_flash("bad", f"Not registered: {problem}.")
        return RedirectResponse("/admin/charge-points", status_code=303)
    access = charge_points.access(identity)
    try:
        if access is None:
            await charge_points.register(identity)
            session.add_flash("ok", f"Registered {identity} (Accepted): it may connect now.")
        elif access.registration_status == "Rejected":
            await charge_points.update(identity, registration_status="Accepted")
            node.connections.disconnect(identity)
            session.add_flash("ok", f"Accepted {identity}: it boots again when it reconnects.")
        else:
            session.add_flash("info", f"{identity} is registered already ({access.registration_status}).")
    except ChargePointExists:
        session.add_flash("info", f"{identity} was registered meanwhile.")
    except DomainError as exc:
        session.add_flash("bad", f"{identity} was not registered: {exc.message}.")
    return RedirectResponse("/admin/charge-points", status_code=303)


# -- settings and deleting --------------------------------------------------------------------


async def _point(request: Request, charge_point_id: str) -> ChargePointView:
    point = await dashboard(request).views.charge_points.find(charge_point_id)
    if point is None:
        raise PageNotFound(f"There is no charge point {charge_point_id!r}.")
    return point


def _values_of(point: Any) -> dict[str, Any]:
    interval = point.ping_interval
    return {
        "id": point.id,
        "description": point.description or "",
        "registration_status": point.registration_status or "Accepted",
        "security_profile": point.security_profile,
        "ping_interval": "" if interval is None else (f"{interval:g}"),
        "lenient_actions": list(point.lenient_actions or ()),
    }


def _settings_page(request: Request, point: Any, values: dict[str, Any], problems: list[str] | None = None,
                   status_code: int = 200) -> Response:
    node = dashboard(request).node
    context = {**_form_context(values, problems), "point": point,
               "default_ping": node.connections.ping_interval}
    return render(request, "charge_point_settings.html", context, status_code=status_code)


@router.get("/charge-points/{charge_point_id}/settings")
async def settings_page(request: Request, charge_point_id: str) -> Response:
    point = await _point(request, charge_point_id)
    return _settings_page(request, point, _values_of(point))


@router.post("/charge-points/{charge_point_id}/settings")
async def save_settings(request: Request, charge_point_id: str) -> Response:
    point = await _point(request, charge_point_id)
    form = await request.form()
    try:
        changes = changed_settings(form)
    except FormProblems as exc:
        return _settings_page(request, point, {**_submitted(form), "id": point.id}, exc.problems, status_code=400)
    try:
        await dashboard(request).node.services.charge_points.update(charge_point_id, **changes)
    except UnknownChargePoint:
        raise PageNotFound(f"There is no charge point {charge_point_id!r}.") from None
    except DomainError as exc:  # e.g. a profile that needs the password being removed
        return _settings_page(request, point, {**_submitted(form), "id": point.id}, [exc.message], status_code=400)
    note = ""
    if "password" in changes:
        note = " The password was removed." if changes["password"] is None else " The password was changed."
    web_session(request).add_flash("ok", f"Saved the settings of {charge_point_id}.{note}")
    return RedirectResponse(f"/charge-points/{charge_point_id}/settings", status_code=303)


@router.get("/charge-points/{charge_point_id}/delete")
async def delete_page(request: Request, charge_point_id: str) -> Response:
    point = await _point(request, charge_point_id)
    return _delete_page(request, point, "", None)


def _delete_page(request: Request, point: Any, typed: str, problem: str | None, status_code: int = 200) -> Response:
    auto_register = dashboard(request).node.services.charge_points.auto_register
    return render(request, "charge_point_delete.html",
                  {"point": point, "typed": typed, "problem": problem, "auto_register": auto_register},
                  status_code=status_code)


@router.post("/charge-points/{charge_point_id}/delete")
async def delete(request: Request, charge_point_id: str, confirm_id: str = Form("")) -> Response:
    point = await _point(request, charge_point_id)
    if confirm_id.strip() != point.id:
        problem = f"Type {point.id} exactly to delete it." if confirm_id.strip() else f"Type {point.id} to confirm."
        return _delete_page(request, point, confirm_id, problem, status_code=400)
    node = dashboard(request).node
    try:
        await node.services.charge_points.delete(charge_point_id)
    except UnknownChargePoint:
        raise PageNotFound(f"There is no charge point {charge_point_id!r}.") from None
    # A deleted charge point may not stay connected (as the API's delete does).
    node.connections.disconnect(charge_point_id)
    web_session(request).add_flash("ok", f"Deleted the charge point {charge_point_id} and its history.")
    return RedirectResponse("/charge-points", status_code=303)
