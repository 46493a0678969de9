"""The device model of 2.0.1 charge points: reports asked for and received, variables read and set.

A station describes itself as components (the station, its EVSEs and connectors, controllers)
with variables, each with up to four attributes (Actual, Target, MinSet, MaxSet). It reports
them in NotifyReports after a GetBaseReport / GetReport — a full inventory can be tens of
thousands of variables in many parts — and answers GetVariables and SetVariables attribute by
attribute. Everything it says is kept per attribute (store table `device_variables`), whichever
way the request was sent (a verb here, the generic command endpoint, the dashboard): the effects
are registered with the command service by request type.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.bus.events import Event, EventBus
from voltline.ocpp import commands as c
from voltline.ocpp.commands import Answer, Reply
from voltline.services.clock import now
from voltline.services.errors import ChargePointOffline, DomainError, Invalid
from voltline.services.remote_control.commands import CommandService, Send, require_storable
from voltline.store import tables as t
from voltline.store.database import Store

log = logging.getLogger("voltline.device_model")

REPORT_BASES = ("ConfigurationInventory", "FullInventory", "SummaryInventory")
CUSTOM = "Custom"  # a GetReport, with its filters
# SetVariables answers after which the new value holds (now, or after a reboot).
SET = ("Accepted", "RebootRequired")
FROM_REPORT, FROM_GET, FROM_SET = "report", "get", "set"
# Rows per statement of a report part: a few round trips a part, each short enough not to hold
# up other charge points for long (about 10 ms on SQLite).
BATCH_ROWS = 250

_v = t.device_variables.c
_r = t.device_reports.c
KEY = ("charge_point_id", "component", "component_instance", "evse_id", "connector_id", "variable",
       "variable_instance", "attribute_type")
_REPORTED = ("value", "mutability", "persistent", "constant", "data_type", "unit", "min_limit", "max_limit",
             "values_list", "source", "updated_at")
_EMPTY_ROW = dict.fromkeys(_REPORTED) | {"status": None}
Key = tuple[str, str, str, int, int, str, str, str]


def row_key(identity: str, address: c.VariableAddress) -> dict[str, Any]:
    """The stored key of an attribute: its optional parts as '' and 0 (see tables.device_variables)."""
    component, variable = address.component, address.variable
    return {
        "charge_point_id": identity,
        "component": component.name,
        "component_instance": component.instance or "",
        "evse_id": component.evse_id or 0,
        "connector_id": component.connector_id or 0,
        "variable": variable.name,
        "variable_instance": variable.instance or "",
        "attribute_type": address.attribute_type,
    }


def _key_of(row: dict[str, Any]) -> Key:
    return tuple(row[name] for name in KEY)  # type: ignore[return-value]


def reported_rows(identity: str, variables: Iterable[c.ReportedVariable], at: datetime) -> list[dict[str, Any]]:
    """A report part's rows, one per attribute, the last of repeated ones kept: one statement may
    not change a row twice (PostgreSQL's ON CONFLICT)."""
    rows: dict[Key, dict[str, Any]] = {}
    for reported in variables:
        ch = reported.characteristics
        described = {
            "data_type": ch.data_type if ch else None,
            "unit": ch.unit if ch else None,
            "min_limit": ch.min_limit if ch else None,
            "max_limit": ch.max_limit if ch else None,
            "values_list": ch.values_list if ch else None,
        }
        for attribute in reported.attributes:
            row = row_key(identity, c.VariableAddress(reported.component, reported.variable, attribute.type))
            row.update(described)
            row.update(
                value=None if attribute.mutability == "WriteOnly" else attribute.value,
                mutability=attribute.mutability, persistent=attribute.persistent, constant=attribute.constant,
                source=FROM_REPORT, status=None, updated_at=at,
            )
            rows[_key_of(row)] = row
    return list(rows.values())


def _batches(rows: Sequence[dict[str, Any]], size: int = BATCH_ROWS) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _criteria(request: c.RequestReport) -> dict[str, Any]:
    return {
        "component_criteria": list(request.component_criteria),
        "component_variables": [
            {"component": cv.component.name, "component_instance": cv.component.instance,
             "evse_id": cv.component.evse_id, "connector_id": cv.component.connector_id,
             "variable": cv.variable.name if cv.variable else None,
             "variable_instance": cv.variable.instance if cv.variable else None}
            for cv in request.component_variables
        ],
    }


class DeviceModelService:
    def __init__(self, store: Store, bus: EventBus, commands: CommandService) -> None:
        self._store = store
        self._bus = bus
        self._commands = commands
        # A report's rows replace what the station said before; status (the last Get/Set answer)
        # stays, so a RebootRequired stays in sight until the station is read or set again.
        self._upsert_reported = store.insert_updating_on_conflict(t.device_variables, KEY, _REPORTED)
        self._upsert_value = store.insert_updating_on_conflict(
            t.device_variables, KEY, ("value", "source", "status", "updated_at"))
        self._upsert_status = store.insert_updating_on_conflict(t.device_variables, KEY, ("status", "updated_at"))
        self._upsert_request = store.insert_updating_on_conflict(
            t.device_reports, ("charge_point_id", "request_id"),
            ("kind", "criteria", "status", "requested_at", "parts", "variables", "last_seq_no", "generated_at",
             "completed_at", "updated_at"),
        )
        self._after_boot: set[asyncio.Task[None]] = set()
        commands.register(c.RequestBaseReport, self._report_requested)
        commands.register(c.RequestReport, self._report_requested)
        commands.register(c.ReadVariables, self._get_variables)
        commands.register(c.ChangeVariables, self._set_variables)

    # -- verbs ----------------------------------------------------------------------------------

    async def request_base_report(
        self, identity: str, report_base: str = "FullInventory", *, timeout: float | None = None
    ) -> Reply[Answer]:
        """GetBaseReport with a request id of its own; the NotifyReports fill the device model."""
        self._require_device_model(identity, "GetBaseReport")
        request_id = await self._next_request_id(identity)
        return await self._commands.send(identity, c.RequestBaseReport(request_id, report_base), timeout)

    async def request_report(
        self, identity: str, component_variables: tuple[c.ReportedComponentVariable, ...] = (),
        component_criteria: tuple[str, ...] = (), *, timeout: float | None = None,
    ) -> Reply[Answer]:
        """GetReport of what matches the filters (none: everything)."""
        self._require_device_model(identity, "GetReport")
        request_id = await self._next_request_id(identity)
        request = c.RequestReport(request_id, component_variables, component_criteria)
        return await self._commands.send(identity, request, timeout)

    async def read(
        self, identity: str, addresses: tuple[c.VariableAddress, ...], *, timeout: float | None = None
    ) -> Reply[c.VariablesRead]:
        """GetVariables; each attribute's answer is kept."""
        self._require_device_model(identity, "GetVariables")
        return await self._commands.send(identity, c.ReadVariables(addresses), timeout)

    async def change(
        self, identity: str, changes: tuple[c.VariableChange, ...], *, timeout: float | None = None
    ) -> Reply[c.VariablesChanged]:
        """SetVariables; each attribute's answer is kept, and the value where it was taken."""
        self._require_device_model(identity, "SetVariables")
        return await self._commands.send(identity, c.ChangeVariables(changes), timeout)

    def inventory_after_boot(self, identity: str, registration_status: str) -> None:
        """A station Accepted that never reported its device model is asked for its full inventory.
        Called as the BootNotification is answered: the task starts on a later turn of the loop,
        after the answer was sent (OCPP: no request to a station before its boot is answered)."""
        if registration_status != "Accepted":
            return
        task = asyncio.get_running_loop().create_task(self._first_inventory(identity))
        self._after_boot.add(task)
        task.add_done_callback(self._after_boot.discard)

    async def after_boot_done(self) -> None:
        """Wait for the inventory requests scheduled at boots (tests, a graceful stop)."""
        while self._after_boot:
            await asyncio.gather(*self._after_boot, return_exceptions=True)

    async def has_inventory(self, identity: str) -> bool:
        """Whether the station reported its device model before (a report complete, or rows of one)."""
        completed = sa.select(_r.request_id).where(_r.charge_point_id == identity, _r.completed_at.is_not(None)).limit(1)
        reported = sa.select(_v.variable).where(_v.charge_point_id == identity, _v.source == FROM_REPORT).limit(1)
        return await self._store.fetch_one(completed) is not None or await self._store.fetch_one(reported) is not None

    # -- NotifyReport ------------------------------------------------------------------------

    async def report_received(
        self, identity: str, request_id: int, seq_no: int, tbc: bool, generated_at: datetime,
        variables: list[c.ReportedVariable],
    ) -> None:
        """One part of a report, stored before it is answered: its rows in a few batches, then
        the report's progress. A part sent again changes nothing but the count."""
        at = now()
        rows = reported_rows(identity, variables, at)
        progress = {
            "parts": _r.parts + 1, "variables": _r.variables + len(variables), "last_seq_no": seq_no,
            "generated_at": generated_at, "updated_at": at,
        }
        if not tbc:
            progress["completed_at"] = at
        first = {
            "charge_point_id": identity, "request_id": request_id, "kind": None, "criteria": None, "status": None,
            "requested_at": None, "parts": 1, "variables": len(variables), "last_seq_no": seq_no,
            "generated_at": generated_at, "completed_at": None if tbc else at, "updated_at": at,
        }
        upsert = self._upsert_reported
        # A batch per write, one after the other: on SQLite a write runs on the event loop's own
        # thread, and other charge points are served between a big part's batches. A part that
        # fails half-way is answered InternalError and sent again: its rows are upserted alike.
        for batch in _batches(rows):
            await self._store.write(lambda conn, batch=batch: conn.execute(upsert, batch))

        async def count(conn: AsyncConnection) -> None:
            updated = await conn.execute(
                t.device_reports.update().where(_r.charge_point_id == identity, _r.request_id == request_id).values(progress)
            )
            if not updated.rowcount:  # a report nobody here asked for (or asked before a restart)
                await conn.execute(t.device_reports.insert().values(first))

        await self._store.write(count)
        self._bus.publish(Event("device_model.reported", identity, {
            "request_id": request_id, "seq_no": seq_no, "tbc": tbc, "variables": len(variables)}))

    # -- effects of the requests, however sent -------------------------------------------------

    async def _report_requested(
        self, identity: str, request: c.RequestBaseReport | c.RequestReport, send: Send[Any]
    ) -> Reply[Answer]:
        require_storable(request, "request_id")
        if isinstance(request, c.RequestBaseReport):
            kind, criteria = request.report_base, None
        else:
            kind, criteria = CUSTOM, _criteria(request)
        at = now()
        row = {
            "charge_point_id": identity, "request_id": request.request_id, "kind": kind, "criteria": criteria,
            "status": None, "requested_at": at, "parts": 0, "variables": 0, "last_seq_no": None,
            "generated_at": None, "completed_at": None, "updated_at": at,
        }
        # Before sending: the first part may come before the answer is read.
        await self._store.write(lambda conn: conn.execute(self._upsert_request, row))
        reply: Reply[Answer] = await send(request)
        status = reply.result.status
        await self._store.write(lambda conn: conn.execute(
            t.device_reports.update()
            .where(_r.charge_point_id == identity, _r.request_id == request.request_id)
            .values(status=status, updated_at=now())
        ))
        self._bus.publish(Event("device_model.report_requested", identity,
                                {"request_id": request.request_id, "kind": kind, "status": status}))
        return reply

    async def _get_variables(
        self, identity: str, request: c.ReadVariables, send: Send[c.ReadVariables]
    ) -> Reply[c.VariablesRead]:
        reply: Reply[c.VariablesRead] = await send(request)
        at = now()
        read, refused = [], []
        for result in reply.result.results:
            row = row_key(identity, result.address) | _EMPTY_ROW | {"source": FROM_GET, "status": result.status,
                                                                     "updated_at": at}
            if result.status == "Accepted":
                read.append(row | {"value": result.value})
            else:  # Rejected, UnknownComponent...: the value is what it was; the answer is kept beside it
                refused.append(row)
        await self._write_answers(identity, read, refused)
        return reply

    async def _set_variables(
        self, identity: str, request: c.ChangeVariables, send: Send[c.ChangeVariables]
    ) -> Reply[c.VariablesChanged]:
        reply: Reply[c.VariablesChanged] = await send(request)
        asked = {_key_of(row_key(identity, change.address)): change.value for change in request.changes}
        at = now()
        taken, refused = [], []
        for result in reply.result.results:
            row = row_key(identity, result.address) | _EMPTY_ROW | {"source": FROM_SET, "status": result.status,
                                                                     "updated_at": at}
            key = _key_of(row)
            if result.status in SET and key in asked:
                taken.append(row | {"value": asked[key]})
            else:
                refused.append(row)
        await self._write_answers(identity, taken, refused, hide_write_only=True)
        return reply

    async def _write_answers(
        self, identity: str, valued: list[dict[str, Any]], refused: list[dict[str, Any]], *, hide_write_only: bool = False
    ) -> None:
        if not valued and not refused:
            return
        upsert_value, upsert_status = self._upsert_value, self._upsert_status

        async def store(conn: AsyncConnection) -> None:
            if valued and hide_write_only:
                # A WriteOnly value (a password) is set, never kept.
                hidden = {
                    tuple(r) for r in (await conn.execute(
                        sa.select(*(getattr(_v, name) for name in KEY))
                        .where(_v.charge_point_id == identity, _v.mutability == "WriteOnly")
                    )).all()
                }
                for row in valued:
                    if _key_of(row) in hidden:
                        row["value"] = None
            if valued:
                await conn.execute(upsert_value, valued)
            if refused:
                await conn.execute(upsert_status, refused)

        await self._store.write(store)
        self._bus.publish(Event("device_model.variables", identity, {"answers": len(valued) + len(refused)}))

    # -- helpers -------------------------------------------------------------------------------

    def _require_device_model(self, identity: str, action: str) -> None:
        """Before a request id is taken: offline, nothing is sent; a 1.6 charge point has
        configuration keys, not a device model."""
        if not self._commands.is_connected(identity):
            raise ChargePointOffline(f"charge point {identity} is offline: {action} was not sent")
        if not self._commands.speaks(identity, action):
            raise Invalid(f"{identity} speaks no OCPP version with {action}: it has no device model "
                          "(its configuration keys are read with GetConfiguration)", code="not_in_version")

    async def _next_request_id(self, identity: str) -> int:
        """A request id this charge point has not had from us: the report row is claimed in the
        same ordered write that picks it, so two requests at once never share one."""

        async def claim(conn: AsyncConnection) -> int:
            last = await conn.scalar(sa.select(sa.func.max(_r.request_id)).where(_r.charge_point_id == identity))
            request_id = int(last or 0) + 1
            at = now()
            await conn.execute(t.device_reports.insert().values(
                charge_point_id=identity, request_id=request_id, requested_at=at, updated_at=at))
            return request_id

        return int(await self._store.write(claim))

    async def _first_inventory(self, identity: str) -> None:
        await asyncio.sleep(0)
        try:
            if await self.has_inventory(identity):
                return
            reply = await self.request_base_report(identity, "FullInventory")
            log.info("%s asked for its full inventory at its first boot: %s", identity, reply.result.status)
        except DomainError as exc:
            log.warning("the full inventory of %s was not requested: %s", identity, exc.message)
        except Exception:
            log.exception("the full inventory of %s was not requested", identity)
