"""Id tags (RFID cards, app tokens) as operators manage them: create, read, change, delete, and
import many at once from a CSV file."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.services.authorization.authorize import ID_TAG_STATUSES
from voltline.services.authorization.tokens import ID_TOKEN_LENGTH, check_token_type
from voltline.services.clock import now
from voltline.services.remote_control.commands import INT32_MAX
from voltline.services.errors import Conflict, Invalid, NotFound
from voltline.services.authorization.views import IdTag, id_tag_of
from voltline.store import tables as t
from voltline.store.tables import DEFAULT_TOKEN_TYPE
from voltline.store.database import Store

_EDITABLE = ("status", "expiry_date", "parent_id_tag", "description", "max_active_transactions", "token_type")


class IdTagService:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    async def create(
        self,
        id_tag: str,
        *,
        status: str = "Accepted",
        expiry_date: datetime | None = None,
        parent_id_tag: str | None = None,
        description: str | None = None,
        max_active_transactions: int = 1,
        token_type: str = DEFAULT_TOKEN_TYPE,
    ) -> IdTag:
        _check_status(status)
        _check_limit(max_active_transactions)
        check_token_type(token_type)
        at = now()
        values = {
            "id_tag": id_tag,
            "status": status,
            "expiry_date": expiry_date,
            "parent_id_tag": parent_id_tag,
            "description": description,
            "created_at": at,
            "updated_at": at,
            "max_active_transactions": max_active_transactions,
            "token_type": token_type,
        }

        async def insert(conn: AsyncConnection) -> bool:
            if await conn.scalar(sa.select(t.id_tags.c.id_tag).where(t.id_tags.c.id_tag == id_tag)):
                return False
            await conn.execute(t.id_tags.insert().values(values))
            return True

        if not await self._store.write(insert):
            raise Conflict(f"id tag {id_tag} exists", code="id_tag_exists")
        self._bus.publish(Event("id_tag.created", None, {"id_tag": id_tag, "status": status}))
        return IdTag(**values)  # type: ignore[arg-type]

    async def get(self, id_tag: str) -> IdTag:
        """The tag as just written (lists and searches are in views)."""
        row = await self._store.fetch_one(sa.select(t.id_tags).where(t.id_tags.c.id_tag == id_tag))
        if row is None:
            raise NotFound(f"no id tag {id_tag}")
        return _id_tag(row)

    async def update(self, id_tag: str, **changes: Any) -> IdTag:
        values = {key: changes[key] for key in _EDITABLE if key in changes}
        if "status" in values:
            _check_status(values["status"])
        if "max_active_transactions" in values:
            _check_limit(values["max_active_transactions"])
        if "token_type" in values:
            check_token_type(values["token_type"])
        if values:
            values["updated_at"] = now()
            result = await self._store.write(
                lambda conn: conn.execute(t.id_tags.update().where(t.id_tags.c.id_tag == id_tag).values(values))
            )
            if not result.rowcount:
                raise NotFound(f"no id tag {id_tag}")
            self._bus.publish(Event("id_tag.updated", None, {"id_tag": id_tag}))
        return await self.get(id_tag)

    async def delete(self, id_tag: str) -> None:
        result = await self._store.write(
            lambda conn: conn.execute(t.id_tags.delete().where(t.id_tags.c.id_tag == id_tag))
        )
        if not result.rowcount:
            raise NotFound(f"no id tag {id_tag}")
        self._bus.publish(Event("id_tag.deleted", None, {"id_tag": id_tag}))

    async def import_csv(self, text: str, *, apply: bool) -> ImportReport:
        """Check every row of a CSV file of id tags and, when `apply`, write the valid ones.

        Columns (a header row names them, in any order): `id_tag` and any of IMPORT_COLUMNS.
        A row creates its tag or, when the tag exists, updates it. A column left out, or a cell
        left empty, leaves the field as it is (a new tag gets the field's default). A rejected
        row is written not at all, never in part; the valid rows are written in one transaction,
        so either all of them are stored or, when the database fails, none. A file that cannot
        be read as such a CSV raises ImportRefused and changes nothing."""
        rows = _parse_csv(text)
        wanted = {row.cells["id_tag"] for row in rows} | {row.cells.get("parent_id_tag", "") for row in rows}
        wanted.discard("")

        if not apply:
            existing: set[str] = set()
            for chunk in _chunks(sorted(wanted), 500):
                found = await self._store.fetch_all(sa.select(t.id_tags.c.id_tag).where(t.id_tags.c.id_tag.in_(chunk)))
                existing.update(r.id_tag for r in found)
            return _plan(rows, existing, applied=False)

        async def write(conn: AsyncConnection) -> ImportReport:
            existing = set()
            for chunk in _chunks(sorted(wanted), 500):
                found = await conn.execute(sa.select(t.id_tags.c.id_tag).where(t.id_tags.c.id_tag.in_(chunk)))
                existing.update(r.id_tag for r in found)
            report = _plan(rows, existing, applied=True)
            at = now()
            if report.created:
                await conn.execute(t.id_tags.insert(), [
                    {**_NEW_TAG, **row.values, "id_tag": row.id_tag, "created_at": at, "updated_at": at}
                    for row in report.created
                ])
            for row in report.updated:
                await conn.execute(
                    t.id_tags.update().where(t.id_tags.c.id_tag == row.id_tag).values({**row.values, "updated_at": at})
                )
            return report

        report = await self._store.write(write)
        if report.created or report.updated:
            self._bus.publish(Event("id_tag.imported", None, {"created": len(report.created),
                                                                "updated": len(report.updated)}))
        return report


# -- CSV import -----------------------------------------------------------------------------------

IMPORT_COLUMNS = (
    "id_tag", "status", "expiry_date", "parent_id_tag", "max_active_transactions", "description", "token_type",
)
MAX_IMPORT_ROWS = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NEW_TAG = {"status": "Accepted", "expiry_date": None, "parent_id_tag": None, "description": None,
            "max_active_transactions": 1, "token_type": DEFAULT_TOKEN_TYPE}


class ImportRefused(Invalid):
    """The file as a whole cannot be imported (not CSV, no id_tag column, an unknown column, too long)."""


@dataclass(slots=True, frozen=True)
class ImportRow:
    line: int  # in the file, the header being line 1
    id_tag: str
    action: Literal["create", "update"]
    values: dict[str, Any]  # the fields this row sets


@dataclass(slots=True, frozen=True)
class RejectedRow:
    line: int
    id_tag: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    applied: bool  # whether the valid rows were written
    created: list[ImportRow] = field(default_factory=list)
    updated: list[ImportRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class _CsvRow:
    line: int
    cells: dict[str, str]


def _parse_csv(text: str) -> list[_CsvRow]:
    text = text.lstrip("\ufeff")  # the byte-order mark spreadsheets write
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused("the file is empty", code="invalid_csv")
        columns = [name.strip().lower() for name in header]
        unknown = [name for name in columns if name not in IMPORT_COLUMNS]
        if unknown:
            raise ImportRefused(
                f"unknown column {', '.join(map(repr, unknown))}; the columns are {', '.join(IMPORT_COLUMNS)}",
                code="invalid_csv",
            )
        if "id_tag" not in columns:
            raise ImportRefused("the header row has no id_tag column", code="invalid_csv")
        if len(set(columns)) != len(columns):
            raise ImportRefused("a column is named twice in the header row", code="invalid_csv")
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank lines, as spreadsheets leave at the end
            if len(rows) == MAX_IMPORT_ROWS:
                raise ImportRefused(f"the file has more than {MAX_IMPORT_ROWS} rows; split it", code="invalid_csv")
            cells = {name: value.strip() for name, value in zip(columns, values)}
            if len(values) > len(columns):
                cells["\0extra"] = "1"
            rows.append(_CsvRow(reader.line_num, cells))
    except csv.Error as exc:
        raise ImportRefused(f"the file is not CSV ({exc})", code="invalid_csv") from None
    return rows


def _plan(rows: Sequence[_CsvRow], existing: set[str], *, applied: bool) -> ImportReport:
    """Which rows create, update or are rejected (and why), given the tags that exist."""
    report = ImportReport(applied)
    valid: dict[str, tuple[_CsvRow, dict[str, Any]]] = {}
    seen: set[str] = set()
    for row in rows:
        tag = row.cells.get("id_tag", "")
        try:
            if tag in seen:
                raise Invalid(f"the id tag {tag} is on an earlier row too")
            seen.add(tag)
            valid[tag] = (row, _row_values(row))
        except Invalid as exc:
            report.rejected.append(RejectedRow(row.line, tag, exc.message))
    # A parent is a tag that exists already or one of the file's valid rows.
    # Until nothing changes: a row rejected here may have been another row's parent.
    changed = True
    while changed:
        changed = False
        for tag, (row, values) in list(valid.items()):
            parent = values.get("parent_id_tag")
            if parent is not None and parent not in existing and parent not in valid:
                report.rejected.append(RejectedRow(row.line, tag, f"there is no id tag {parent} to be the parent"))
                del valid[tag]
                changed = True
    for tag, (row, values) in valid.items():
        target = report.updated if tag in existing else report.created
        target.append(ImportRow(row.line, tag, "update" if tag in existing else "create", values))
    report.rejected.sort(key=lambda r: r.line)
    return report


def _row_values(row: _CsvRow) -> dict[str, Any]:
    cells = row.cells
    if "\0extra" in cells:
        raise Invalid("the row has more cells than the header has columns")
    tag = cells.get("id_tag", "")
    check_id_tag(tag)
    values: dict[str, Any] = {}
    if cells.get("status"):
        _check_status(cells["status"])
        values["status"] = cells["status"]
    if cells.get("expiry_date"):
        values["expiry_date"] = _timestamp(cells["expiry_date"])
    if cells.get("parent_id_tag"):
        parent = cells["parent_id_tag"]
        check_id_tag(parent, "the parent tag")
        if parent == tag:
            raise Invalid("a tag cannot be its own parent")
        values["parent_id_tag"] = parent
    if cells.get("max_active_transactions"):
        try:
            limit = int(cells["max_active_transactions"])
        except ValueError:
            raise Invalid("max_active_transactions must be a whole number") from None
        _check_limit(limit)
        values["max_active_transactions"] = limit
    if cells.get("token_type"):
        check_token_type(cells["token_type"])
        values["token_type"] = cells["token_type"]
    if cells.get("description"):
        description = cells["description"]
        if len(description) > 255 or _CONTROL.search(description):
            raise Invalid("the description has more than 255 characters or control characters")
        values["description"] = description
    return values


def check_id_tag(tag: str, what: str = "the id tag") -> None:
    if not tag:
        raise Invalid(f"{what} is empty")
    if len(tag) > ID_TOKEN_LENGTH:
        raise Invalid(f"{what} has {len(tag)} characters, at most {ID_TOKEN_LENGTH} are allowed")
    if _CONTROL.search(tag):
        raise Invalid(f"{what} holds control characters")


def _timestamp(text: str) -> datetime:
    """ISO 8601; without a zone, UTC (as the API reads it)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise Invalid(f"expiry_date {text!r} is not an ISO 8601 date and time (2027-01-31T23:59:00Z)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _check_status(status: str) -> None:
    if status not in ID_TAG_STATUSES:
        raise Invalid(f"status must be one of {', '.join(ID_TAG_STATUSES)}")


def _check_limit(limit: int) -> None:
    if not 0 <= limit <= INT32_MAX:
        raise Invalid("max_active_transactions must be 0 (no limit) or a positive number")


def _id_tag(row: Any) -> IdTag:
    return id_tag_of(row)
