"""Id tags: the list, creating one, blocking and unblocking, expiry and parent tag, deleting one,
importing many from a CSV file."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from voltline.services.clock import now
from voltline.services.errors import DomainError, Invalid
from voltline.services.authorization.id_tags import IMPORT_COLUMNS, ImportRefused
from voltline.services.authorization.tokens import DEFAULT_TOKEN_TYPE, ID_TOKEN_LENGTH, TOKEN_TYPES
from voltline.services.transactions.views import TransactionFilter
from voltline.web.routing import CurrentUser, DashboardRoute, PageNotFound, dashboard, operator_zone, render, web_session
from voltline.web.zones import parse_local

router = APIRouter(route_class=DashboardRoute, include_in_schema=False, dependencies=[CurrentUser])

STATUSES = ["Accepted", "Blocked"]
_TOKEN_CHOICES = {"token_types": TOKEN_TYPES, "default_token_type": DEFAULT_TOKEN_TYPE}
LIST_LIMIT = 1000  # id tags on the list page
MAX_LENGTH = ID_TOKEN_LENGTH  # OCPP 2.0.1 idToken (1.6 charge points are sent tags of up to 20 only)


class InvalidIdTag(ValueError):
    pass


class InvalidParent(Invalid):
    pass


def _expiry(value: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` field's value, read in the operator's zone (the one the page shows)."""
    try:
        return parse_local(value, zone)
    except ValueError:
        raise InvalidIdTag("the expiry is not a date and time") from None


def _limit(value: str) -> int:
    """The form's per-tag limit of active transactions: a whole number, 0 for no limit."""
    text = value.strip() or "1"
    if not text.isdigit():
        raise InvalidIdTag("the sessions at once must be a whole number (0: no limit)")
    return int(text)


def _values(status: str, expiry_date: str, parent_id_tag: str, description: str, tag: str,
            zone: ZoneInfo, max_active_transactions: str, token_type: str) -> dict[str, Any]:
    if status not in STATUSES:
        raise InvalidIdTag(f"the status must be one of {', '.join(STATUSES)}")
    if token_type not in TOKEN_TYPES:
        raise InvalidIdTag(f"the token type must be one of {', '.join(TOKEN_TYPES)}")
    parent = parent_id_tag.strip() or None
    if parent is not None and (len(parent) > MAX_LENGTH or parent == tag):
        raise InvalidIdTag(f"the parent tag must be another tag of at most {MAX_LENGTH} characters")
    return {
        "status": status,
        "expiry_date": _expiry(expiry_date, zone),
        "parent_id_tag": parent,
        "description": description.strip()[:255] or None,
        "max_active_transactions": _limit(max_active_transactions),
        "token_type": token_type,
    }


@router.get("/id-tags")
async def id_tag_list(request: Request, q: str = "", status: str = "") -> Response:
    found = await dashboard(request).views.id_tags.id_tags(status=status or None, search=q.strip(), limit=LIST_LIMIT)
    return render(
        request,
        "id_tags.html",
        {"tags": found.items, "q": q, "status": status,
         "statuses": STATUSES, "now": now(), **_TOKEN_CHOICES},
    )


@router.post("/id-tags")
async def id_tag_create(
    request: Request,
    id_tag: str = Form(""),
    status: str = Form("Accepted"),
    expiry_date: str = Form(""),
    parent_id_tag: str = Form(""),
    description: str = Form(""),
    max_active_transactions: str = Form("1"),
    token_type: str = Form(DEFAULT_TOKEN_TYPE),
) -> Response:
    session = web_session(request)
    tag = id_tag.strip()
    try:
        if not tag or len(tag) > MAX_LENGTH:
            raise InvalidIdTag(f"an id tag has 1 to {MAX_LENGTH} characters")
        values = _values(status, expiry_date, parent_id_tag, description, tag, operator_zone(request),
                         max_active_transactions, token_type)
    except InvalidIdTag as exc:
        session.add_flash("bad", f"The id tag was not created: {exc}.")
        return RedirectResponse("/id-tags", status_code=303)

    board = dashboard(request)
    try:
        await _check_parent(board, values["parent_id_tag"])
        await board.node.services.id_tags.create(tag, **values)
    except DomainError as exc:
        session.add_flash("bad", f"The id tag was not created: {exc.message}.")
    else:
        session.add_flash("ok", f"Created the id tag {tag} ({values['status']}).")
    return RedirectResponse("/id-tags", status_code=303)


@router.get("/id-tags/{tag}")
async def id_tag_page(request: Request, tag: str) -> Response:
    views = dashboard(request).views
    row = await views.id_tags.find(tag)
    if row is None:
        raise PageNotFound(f"There is no id tag {tag!r}.")
    recent = await views.transactions.newest(TransactionFilter(id_tag=tag), limit=10)
    return render(request, "id_tag.html", {"tag": row, "statuses": STATUSES, "sessions": recent[:10], "now": now(),
                                           **_TOKEN_CHOICES})


@router.post("/id-tags/{tag}")
async def id_tag_update(
    request: Request,
    tag: str,
    status: str = Form(...),
    expiry_date: str = Form(""),
    parent_id_tag: str = Form(""),
    description: str = Form(""),
    max_active_transactions: str = Form("1"),
    token_type: str = Form(DEFAULT_TOKEN_TYPE),
) -> Response:
    session = web_session(request)
    try:
        values = _values(status, expiry_date, parent_id_tag, description, tag, operator_zone(request),
                         max_active_transactions, token_type)
    except InvalidIdTag as exc:
        session.add_flash("bad", f"The id tag was not changed: {exc}.")
        return RedirectResponse(f"/id-tags/{tag}", status_code=303)
    await _update(request, tag, values)
    return RedirectResponse(f"/id-tags/{tag}", status_code=303)


@router.post("/id-tags/{tag}/status")
async def id_tag_block(request: Request, tag: str, status: str = Form(...)) -> Response:
    """Block or unblock from the list, leaving the other fields as they are."""
    session = web_session(request)
    if status not in STATUSES:
        session.add_flash("bad", f"The status must be one of {', '.join(STATUSES)}.")
    else:
        await _update(request, tag, {"status": status})
    return RedirectResponse("/id-tags", status_code=303)


async def _check_parent(board: Any, parent: str | None) -> None:
    if parent is not None and await board.views.id_tags.find(parent) is None:
        raise InvalidParent(f"there is no id tag {parent} to be the parent")


async def _update(request: Request, tag: str, values: dict[str, Any]) -> None:
    board = dashboard(request)
    session = web_session(request)
    try:
        await _check_parent(board, values.get("parent_id_tag"))
        await board.node.services.id_tags.update(tag, **values)
    except DomainError as exc:
        session.add_flash("bad", f"The id tag was not changed: {exc.message}.")
        return
    if set(values) == {"status"}:
        verb = "Blocked" if values["status"] == "Blocked" else "Unblocked"
        session.add_flash("ok", f"{verb} the id tag {tag}.")
    else:
        session.add_flash("ok", f"Saved the id tag {tag}.")


# -- deleting -----------------------------------------------------------------------------------


@router.get("/id-tags/{tag}/delete")
async def id_tag_delete_page(request: Request, tag: str) -> Response:
    views = dashboard(request).views
    row = await views.id_tags.find(tag)
    if row is None:
        raise PageNotFound(f"There is no id tag {tag!r}.")
    children = await views.id_tags.children(tag)
    message = (f"{tag} can no longer start sessions (Invalid). Its past sessions stay, with its name. "
               "Charge points that keep it in their local list or cache may still accept it until they are updated.")
    if children:
        message += f" It is the parent of {', '.join(children)}, which then name a parent that does not exist."
    return render(request, "confirm.html", {
        "title": f"Delete the id tag {tag}?", "message": message, "action": f"/id-tags/{tag}/delete",
        "button": f"Delete {tag}", "cancel": f"/id-tags/{tag}"})


@router.post("/id-tags/{tag}/delete")
async def id_tag_delete(request: Request, tag: str) -> Response:
    session = web_session(request)
    try:
        await dashboard(request).node.services.id_tags.delete(tag)
    except DomainError as exc:
        session.add_flash("bad", f"The id tag was not deleted: {exc.message}.")
    else:
        session.add_flash("ok", f"Deleted the id tag {tag}.")
    return RedirectResponse("/id-tags", status_code=303)


# -- importing from CSV -------------------------------------------------------------------------

MAX_IMPORT_BYTES = 1024 * 1024


@router.get("/id-tags/import/csv")
async def import_page(request: Request) -> Response:
    return render(request, "id_tag_import.html", {"report": None, "csv_text": "", "problem": None,
                                                 "columns": IMPORT_COLUMNS, **_TOKEN_CHOICES})


@router.post("/id-tags/import/csv")
async def import_csv(request: Request) -> Response:
    """A file uploaded is checked and shown (nothing written); the preview's "Import" sends the
    same text back with `apply`, and the valid rows are written."""
    form = await request.form()
    upload, text_field, apply = form.get("file"), form.get("csv_text"), form.get("apply") == "1"
    context: dict[str, Any] = {"report": None, "csv_text": "", "problem": None, "columns": IMPORT_COLUMNS, **_TOKEN_CHOICES}
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_IMPORT_BYTES + 1)
    elif isinstance(text_field, str) and text_field:
        data = text_field.encode()
    else:
        context["problem"] = "Choose a CSV file to import."
        return render(request, "id_tag_import.html", context, status_code=400)
    if len(data) > MAX_IMPORT_BYTES:
        context["problem"] = f"The file is larger than {MAX_IMPORT_BYTES // 1024} KiB; split it."
        return render(request, "id_tag_import.html", context, status_code=400)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        context["problem"] = "The file is not UTF-8 text: save it from the spreadsheet as “CSV UTF-8”."
        return render(request, "id_tag_import.html", context, status_code=400)
    try:
        report = await dashboard(request).node.services.id_tags.import_csv(text, apply=apply)
    except ImportRefused as exc:
        context["problem"] = f"The file was not imported: {exc.message}."
        return render(request, "id_tag_import.html", context, status_code=400)
    context.update(report=report, csv_text=text)
    return render(request, "id_tag_import.html", context)
