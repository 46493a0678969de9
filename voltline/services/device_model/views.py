"""The read model of charge points' device models: variables as last reported, read or set, and the reports asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from voltline.services.clock import now
from voltline.services.errors import NotFound
from voltline.services.paging import Page, fetch_page
from voltline.services.provisioning.views import escape_like
from voltline.services.read_model import ReadModel
from voltline.store import tables as t
from voltline.store.database import Store

_v = t.device_variables.c
_r = t.device_reports.c
# By component (the station-wide one before those of EVSE 1, 2...), then variable; attributes in
# OCPP's order.
_ATTRIBUTE_ORDER = sa.case({"Actual": 0, "Target": 1, "MinSet": 2, "MaxSet": 3}, value=_v.attribute_type, else_=4)
_ORDER = (_v.component, _v.component_instance, _v.evse_id, _v.connector_id, _v.variable, _v.variable_instance,
          _ATTRIBUTE_ORDER)
WRITABLE = ("ReadWrite", "WriteOnly")


class VariableAttribute(ReadModel):
    """Where an attribute sits in the device model: component, variable and attribute type."""

    component: str
    component_instance: str | None
    evse_id: int | None
    connector_id: int | None
    variable: str
    variable_instance: str | None
    attribute_type: str = Field(description="Actual | Target | MinSet | MaxSet")


class DeviceVariable(VariableAttribute):
    value: str | None = Field(description="null for a WriteOnly attribute, whose value is never kept")
    mutability: str | None = Field(description="ReadOnly | WriteOnly | ReadWrite, as last reported")
    persistent: bool | None
    constant: bool | None
    data_type: str | None
    unit: str | None
    min_limit: float | None
    max_limit: float | None
    values_list: str | None
    source: str = Field(description="what last wrote the row: report (NotifyReport), get (GetVariables), set (SetVariables)")
    status: str | None = Field(description="the charge point's last answer to GetVariables / SetVariables on it")
    updated_at: datetime

    @property
    def writable(self) -> bool:
        return self.mutability in WRITABLE


class DeviceReport(ReadModel):
    request_id: int
    kind: str | None = Field(description="FullInventory | ConfigurationInventory | SummaryInventory | Custom; "
                             "null for a report the charge point sent unasked")
    criteria: dict[str, Any] | None
    status: str | None = Field(description="the answer to GetBaseReport / GetReport (null: not answered yet)")
    requested_at: datetime | None
    parts: int = Field(description="NotifyReport parts received")
    variables: int = Field(description="reportData entries received")
    last_seq_no: int | None
    generated_at: datetime | None
    completed_at: datetime | None
    complete: bool = Field(description="the last part (tbc false) arrived")
    updated_at: datetime
    state: str = Field(
        "requested", description="complete; receiving (parts coming); requested (none yet); refused (the station "
        "answered other than Accepted: none will come); timed out (asked, and no part for device_report_timeout "
        "seconds: failed)")


COMPLETE, RECEIVING, REQUESTED, REFUSED, TIMED_OUT = "complete", "receiving", "requested", "refused", "timed out"


def report_state(row: Any, timeout_s: float, at: datetime) -> str:
    """Where a report stands. One asked for and never (or no longer) answered by NotifyReport
    times out `timeout_s` after the request or its last part: a station that lost the request
    (it rebooted, its queue overflowed) never says so, and the operator must see it failed."""
    if row.completed_at is not None:
        return COMPLETE
    if row.status is not None and row.status != "Accepted":
        return REFUSED
    if row.requested_at is not None and (at - row.updated_at).total_seconds() > timeout_s:
        return TIMED_OUT
    return RECEIVING if row.parts else REQUESTED


@dataclass(slots=True, frozen=True)
class VariableFilter:
    component: str | None = None
    variable: str | None = None
    evse_id: int | None = None
    mutability: str | None = None
    search: str | None = None  # part of a component's or variable's name or instance, or of a value, any case

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        if self.component:
            query = query.where(_v.component == self.component)
        if self.variable:
            query = query.where(_v.variable == self.variable)
        if self.evse_id is not None:
            query = query.where(_v.evse_id == self.evse_id)
        if self.mutability:
            query = query.where(_v.mutability == self.mutability)
        if self.search:
            pattern = f"%{escape_like(self.search.lower())}%"
            searched = (_v.component, _v.component_instance, _v.variable, _v.variable_instance, _v.value)
            query = query.where(sa.or_(*(sa.func.lower(col).like(pattern, escape="\\") for col in searched)))
        return query


def _variable(row: Any) -> DeviceVariable:
    m = dict(row._mapping)
    # The key's '' and 0 mean "none" (see tables.device_variables).
    for name in ("component_instance", "variable_instance"):
        m[name] = m[name] or None
    for name in ("evse_id", "connector_id"):
        m[name] = m[name] or None
    return DeviceVariable.model_validate(m)


class DeviceModelViews:
    def __init__(self, store: Store, report_timeout: float = 900.0) -> None:
        """`report_timeout`: seconds without a NotifyReport part after which a report asked for
        is timed out (Settings.device_report_timeout)."""
        self._store = store
        self._report_timeout = report_timeout

    def _report(self, row: Any) -> DeviceReport:
        m = dict(row._mapping)
        m["complete"] = m["completed_at"] is not None
        m["state"] = report_state(row, self._report_timeout, now())
        return DeviceReport.model_validate(m)

    async def variables(
        self, identity: str, where: VariableFilter = VariableFilter(), *, limit: int = 50, offset: int = 0
    ) -> Page[DeviceVariable]:
        query = where.apply(sa.select(t.device_variables).where(_v.charge_point_id == identity))
        return await fetch_page(self._store, query, _ORDER, limit, offset, _variable)

    async def components(self, identity: str) -> list[str]:
        """The components' names, for a filter to choose from."""
        rows = await self._store.query_all(
            sa.select(_v.component).where(_v.charge_point_id == identity).distinct().order_by(_v.component)
        )
        return [row.component for row in rows]

    async def reports(self, identity: str, *, limit: int = 50, offset: int = 0) -> Page[DeviceReport]:
        query = sa.select(t.device_reports).where(_r.charge_point_id == identity)
        return await fetch_page(self._store, query, (_r.request_id.desc(),), limit, offset, self._report)

    async def report(self, identity: str, request_id: int) -> DeviceReport:
        row = await self._store.query_one(
            sa.select(t.device_reports).where(_r.charge_point_id == identity, _r.request_id == request_id)
        )
        if row is None:
            raise NotFound(f"no report {request_id} of {identity}")
        return self._report(row)
