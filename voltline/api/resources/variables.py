"""The device model of a 2.0.1 charge point: its variables as last reported (NotifyReport), read
(GetVariables) or set (SetVariables); reading and setting them; the reports that fill it
(GetBaseReport / GetReport) and how far each has come."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field, StringConstraints

from voltline.api.errors import ApiError
from voltline.api.deps import ChargePointIdPath, IntPath, IntQuery, Limit, Offset, ServicesDep, TextQuery, Timeout, page_out
from voltline.api.openapi import NOT_OCPP, answers, calls_charge_point, invalid, unknown
from voltline.api.schemas import INT32_MAX, PRINTABLE, Model, Out, Page
from voltline.ocpp import commands as c
from voltline.services.device_model.service import REPORT_BASES
from voltline.services.device_model.views import DeviceReport, DeviceVariable, VariableAttribute, VariableFilter

router = APIRouter(prefix="/charge-points/{charge_point_id}", tags=["device model"])

UNKNOWN = answers(unknown("charge point"))

Name = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=PRINTABLE)]
AttributeType = Literal["Actual", "Target", "MinSet", "MaxSet"]
Mutability = Literal["ReadOnly", "WriteOnly", "ReadWrite"]
PositiveId = Annotated[int, Field(ge=1, le=INT32_MAX)]


class VariableOut(DeviceVariable):
    """One attribute of one variable of one component."""


class ReportOut(DeviceReport):
    """A report asked of the charge point, and its NotifyReport parts as they came."""


class VariableAddressIn(Model):
    component: Name
    component_instance: Name | None = None
    evse_id: PositiveId | None = None
    connector_id: PositiveId | None = Field(None, description="with evse_id only")
    variable: Name
    variable_instance: Name | None = None
    attribute_type: AttributeType = "Actual"

    def to_domain(self) -> c.VariableAddress:
        return c.VariableAddress(
            c.Component(self.component, self.component_instance, self.evse_id,
                        self.connector_id if self.evse_id is not None else None),
            c.Variable(self.variable, self.variable_instance),
            self.attribute_type,
        )


class VariableChangeIn(VariableAddressIn):
    value: Annotated[str, StringConstraints(max_length=1000)]


class GetVariablesIn(Model):
    variables: list[VariableAddressIn] = Field(min_length=1, max_length=500)


class SetVariablesIn(Model):
    variables: list[VariableChangeIn] = Field(min_length=1, max_length=500)


class VariableResultOut(VariableAttribute):
    attribute_status: str = Field(description="Accepted | Rejected | UnknownComponent | UnknownVariable | "
                                  "NotSupportedAttributeType (and RebootRequired for SetVariables)")
    value: str | None = Field(None, description="GetVariables: the value read")
    reason: str | None = Field(None, description="attributeStatusInfo.reasonCode, when the charge point gave one")


class VariableResultsOut(Out):
    results: list[VariableResultOut]


class ComponentVariableIn(Model):
    component: Name
    component_instance: Name | None = None
    evse_id: PositiveId | None = None
    connector_id: PositiveId | None = None
    variable: Name | None = Field(None, description="none: every variable of the component")
    variable_instance: Name | None = None

    def to_domain(self) -> c.ReportedComponentVariable:
        component = c.Component(self.component, self.component_instance, self.evse_id,
                                self.connector_id if self.evse_id is not None else None)
        variable = c.Variable(self.variable, self.variable_instance) if self.variable else None
        return c.ReportedComponentVariable(component, variable)


class ReportIn(Model):
    report_base: Literal["ConfigurationInventory", "FullInventory", "SummaryInventory"] | None = Field(
        None, description="a base report (GetBaseReport); without it, a GetReport with the filters below")
    component_variables: list[ComponentVariableIn] = Field(default_factory=list, max_length=100)
    component_criteria: list[Literal["Active", "Available", "Enabled", "Problem"]] = Field(default_factory=list, max_length=4)


class ReportRequestedOut(Out):
    status: str | None = Field(description="the charge point's answer: Accepted, Rejected, NotSupported, EmptyResultSet")
    request_id: int
    report: ReportOut


def _result(address: c.VariableAddress, status: str, value: str | None, reason: str | None) -> VariableResultOut:
    component, variable = address.component, address.variable
    return VariableResultOut(
        component=component.name, component_instance=component.instance, evse_id=component.evse_id,
        connector_id=component.connector_id, variable=variable.name, variable_instance=variable.instance,
        attribute_type=address.attribute_type, attribute_status=status, value=value, reason=reason,
    )


@router.get("/variables", summary="The device model as last reported or read (2.0.1)", responses=UNKNOWN)
async def variables(
    charge_point_id: ChargePointIdPath,
    services: ServicesDep,
    component: TextQuery = None,
    variable: TextQuery = None,
    evse_id: IntQuery = None,
    mutability: Mutability | None = None,
    q: Annotated[TextQuery, Query(description="part of a component's or variable's name or instance, or of a value, any case")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[VariableOut]:
    await services.views.charge_points.require_charge_point(charge_point_id)
    where = VariableFilter(component=component, variable=variable, evse_id=evse_id, mutability=mutability, search=q)
    page = await services.views.device_model.variables(charge_point_id, where, limit=limit, offset=offset)
    return Page[VariableOut].model_validate(page_out(page))


@router.post(
    "/variables/get",
    summary="Read variables from the charge point (GetVariables)",
    description="Each attribute's answer is kept: Accepted stores the value read, the others are kept as the answer.",
    responses=calls_charge_point(NOT_OCPP),
)
async def get_variables(
    charge_point_id: ChargePointIdPath, body: GetVariablesIn, services: ServicesDep, timeout: Timeout = None
) -> VariableResultsOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    reply = await services.device_model.read(charge_point_id, tuple(v.to_domain() for v in body.variables), timeout=timeout)
    return VariableResultsOut(results=[_result(r.address, r.status, r.value, r.reason) for r in reply.result.results])


@router.post(
    "/variables/set",
    summary="Set variables on the charge point (SetVariables)",
    description="Each attribute's answer is kept; Accepted and RebootRequired store the new value "
    "(never that of a WriteOnly attribute).",
    responses=calls_charge_point(NOT_OCPP),
)
async def set_variables(
    charge_point_id: ChargePointIdPath, body: SetVariablesIn, services: ServicesDep, timeout: Timeout = None
) -> VariableResultsOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    changes = tuple(c.VariableChange(v.to_domain(), v.value) for v in body.variables)
    reply = await services.device_model.change(charge_point_id, changes, timeout=timeout)
    return VariableResultsOut(results=[_result(r.address, r.status, None, r.reason) for r in reply.result.results])


@router.post(
    "/device-model-reports",
    summary="Ask the charge point for a report of its device model (GetBaseReport / GetReport)",
    description="The charge point answers, then sends the report in NotifyReport parts, which fill "
    "`GET …/variables`; the report's progress is at `GET …/device-model-reports/{request_id}`. Base reports: "
    + ", ".join(REPORT_BASES) + ".",
    responses=calls_charge_point(NOT_OCPP, invalid("report_base together with filters")),
)
async def request_report(
    charge_point_id: ChargePointIdPath, body: ReportIn, services: ServicesDep, timeout: Timeout = None
) -> ReportRequestedOut:
    await services.views.charge_points.require_charge_point(charge_point_id)
    device_model = services.device_model
    if body.report_base is not None:
        if body.component_variables or body.component_criteria:
            raise ApiError(400, "bad_request", "a base report takes no filters: give report_base or the filters")
        reply = await device_model.request_base_report(charge_point_id, body.report_base, timeout=timeout)
    else:
        reply = await device_model.request_report(
            charge_point_id, tuple(cv.to_domain() for cv in body.component_variables),
            tuple(body.component_criteria), timeout=timeout,
        )
    request_id = int(reply.request["requestId"])
    report = await services.views.device_model.report(charge_point_id, request_id)
    return ReportRequestedOut(status=reply.result.status, request_id=request_id, report=ReportOut.model_validate(report))


@router.get("/device-model-reports", summary="Reports asked of the charge point, newest first", responses=UNKNOWN)
async def reports(
    charge_point_id: ChargePointIdPath, services: ServicesDep, limit: Limit = 50, offset: Offset = 0
) -> Page[ReportOut]:
    await services.views.charge_points.require_charge_point(charge_point_id)
    page = await services.views.device_model.reports(charge_point_id, limit=limit, offset=offset)
    return Page[ReportOut].model_validate(page_out(page))


@router.get(
    "/device-model-reports/{request_id}", summary="One report and how far it has come",
    responses=answers(unknown("charge point or report")),
)
async def report(charge_point_id: ChargePointIdPath, request_id: IntPath, services: ServicesDep) -> ReportOut:
    return ReportOut.model_validate(await services.views.device_model.report(charge_point_id, request_id))
