"""The station's device model (OCPP 2.0.1 part B): components, their variables and each variable's
Actual attribute, with mutability, data type, unit and limits.

A variable either keeps its own value, is computed when read (AvailabilityState, DateTime), or
is backed by one of the station's settings (`config_key`), which the station's parts shared with
1.6 read: so a SetVariables of OCPPCommCtrlr.HeartbeatInterval goes through the same validation
and listeners as a 1.6 ChangeConfiguration of HeartbeatInterval, and takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from voltline.simulator.config import Configuration

Payload = dict[str, Any]
ACTUAL = "Actual"
LISTS = ("OptionList", "SequenceList", "MemberList")


@dataclass(slots=True)
class Variable:
    component: str
    name: str
    data_type: str  # string, decimal, integer, dateTime, boolean, OptionList, SequenceList, MemberList
    value: str = ""
    mutability: str = "ReadOnly"
    unit: str | None = None
    component_instance: str | None = None
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    values_list: tuple[str, ...] = ()
    min_limit: float | None = None
    max_limit: float | None = None
    config_key: str | None = None  # backed by the station's setting of this name
    read: Callable[[], str] | None = field(default=None, repr=False)  # a live value
    constant: bool = False

    def component_ref(self) -> Payload:
        ref: Payload = {"name": self.component}
        if self.component_instance is not None:
            ref["instance"] = self.component_instance
        if self.evse_id is not None:
            ref["evse"] = {"id": self.evse_id}
            if self.connector_id is not None:
                ref["evse"]["connectorId"] = self.connector_id
        return ref

    def variable_ref(self) -> Payload:
        ref: Payload = {"name": self.name}
        if self.instance is not None:
            ref["instance"] = self.instance
        return ref

    def matches_component(self, component: Payload) -> bool:
        evse = component.get("evse") or {}
        return (
            component["name"] == self.component
            and component.get("instance") == self.component_instance
            and evse.get("id") == self.evse_id
            and evse.get("connectorId") == self.connector_id
        )

    def matches_variable(self, variable: Payload) -> bool:
        return variable["name"] == self.name and variable.get("instance") == self.instance


class DeviceModel:
    def __init__(self, config: Configuration, variables: Iterable[Variable] = ()) -> None:
        self.config = config
        self.variables: list[Variable] = list(variables)
        self._listeners: list[Callable[[Variable], None]] = []

    def add(self, variable: Variable) -> Variable:
        self.variables.append(variable)
        return variable

    def on_change(self, listener: Callable[[Variable], None]) -> None:
        self._listeners.append(listener)

    # -- lookup ------------------------------------------------------------------------------

    def find(self, component: Payload, variable: Payload) -> tuple[Variable | None, str]:
        """The variable, or None with GetVariables' / SetVariables' reason it is unknown."""
        of_component = [v for v in self.variables if v.matches_component(component)]
        if not of_component:
            return None, "UnknownComponent"
        found = next((v for v in of_component if v.matches_variable(variable)), None)
        return found, "Accepted" if found else "UnknownVariable"

    def variable(self, component: str, name: str, instance: str | None = None) -> Variable:
        """A variable of a station-wide component, by name (for the station's own use)."""
        return next(
            v
            for v in self.variables
            if v.component == component and v.name == name and v.instance == instance and v.evse_id is None
        )

    def value(self, variable: Variable) -> str:
        if variable.read is not None:
            return variable.read()
        if variable.config_key is not None:
            return self.config.get(variable.config_key)
        return variable.value

    def members(self, component: str, name: str) -> list[str]:
        text = self.value(self.variable(component, name))
        return [item.strip() for item in text.split(",") if item.strip()]

    # -- GetVariables / SetVariables -------------------------------------------------------

    def get(self, request: Payload) -> Payload:
        """One getVariableResult for one getVariableData."""
        attribute = request.get("attributeType", ACTUAL)
        result: Payload = {
            "attributeType": attribute,
            "component": request["component"],
            "variable": request["variable"],
        }
        variable, status = self.find(request["component"], request["variable"])
        if variable is not None and attribute != ACTUAL:
            status = "NotSupportedAttributeType"
        elif variable is not None and variable.mutability == "WriteOnly":
            status = "Rejected"
        result["attributeStatus"] = status
        if status == "Accepted":
            assert variable is not None
            result["attributeValue"] = self.value(variable)[:2500]
        return result

    def set(self, request: Payload) -> Payload:
        """Apply one setVariableData; its setVariableResult."""
        attribute = request.get("attributeType", ACTUAL)
        variable, status = self.find(request["component"], request["variable"])
        if variable is not None:
            if attribute != ACTUAL:
                status = "NotSupportedAttributeType"
            elif variable.mutability == "ReadOnly":
                status = "Rejected"
            else:
                status = self._write(variable, request["attributeValue"])
        return {
            "attributeType": attribute,
            "attributeStatus": status,
            "component": request["component"],
            "variable": request["variable"],
        }

    def _write(self, variable: Variable, text: str) -> str:
        normalized = self._normalize(variable, text)
        if normalized is None:
            return "Rejected"
        if variable.config_key is not None:
            # The setting validates again (its own range) and tells its listeners.
            status = self.config.change(variable.config_key, normalized)
            if status != "Accepted":
                return "Rejected"
        else:
            variable.value = normalized
        for listener in self._listeners:
            listener(variable)
        return "Accepted"

    def _normalize(self, variable: Variable, text: str) -> str | None:
        value = text.strip()
        if variable.data_type == "integer":
            try:
                number: float = int(value)
            except ValueError:
                return None
        elif variable.data_type == "decimal":
            try:
                number = float(value)
            except ValueError:
                return None
        elif variable.data_type == "boolean":
            lowered = value.lower()
            return lowered if lowered in ("true", "false") else None
        elif variable.data_type in LISTS:
            items = [item.strip() for item in value.split(",") if item.strip()]
            if variable.data_type == "OptionList" and len(items) != 1:
                return None
            if variable.values_list and any(item not in variable.values_list for item in items):
                return None
            return ",".join(items)
        else:
            return value if variable.max_limit is None or len(value) <= variable.max_limit else None
        if variable.min_limit is not None and number < variable.min_limit:
            return None
        if variable.max_limit is not None and number > variable.max_limit:
            return None
        return value

    # -- reports ---------------------------------------------------------------------------

    def report_entry(self, variable: Variable) -> Payload:
        """One reportData of a NotifyReport."""
        attribute: Payload = {"type": ACTUAL, "mutability": variable.mutability, "persistent": True}
        if variable.constant:
            attribute["constant"] = True
        if variable.mutability != "WriteOnly":
            attribute["value"] = self.value(variable)[:2500]
        characteristics: Payload = {"dataType": variable.data_type, "supportsMonitoring": False}
        if variable.unit is not None:
            characteristics["unit"] = variable.unit
        if variable.min_limit is not None:
            characteristics["minLimit"] = variable.min_limit
        if variable.max_limit is not None:
            characteristics["maxLimit"] = variable.max_limit
        if variable.values_list:
            characteristics["valuesList"] = ",".join(variable.values_list)[:1000]
        return {
            "component": variable.component_ref(),
            "variable": variable.variable_ref(),
            "variableAttribute": [attribute],
            "variableCharacteristics": characteristics,
        }

    def base_report(self, report_base: str) -> list[Variable] | None:
        """The variables of a GetBaseReport, or None for a report base not supported."""
        if report_base == "FullInventory":
            return list(self.variables)
        if report_base == "ConfigurationInventory":
            return [v for v in self.variables if v.mutability != "ReadOnly"]
        if report_base == "SummaryInventory":
            return [v for v in self.variables if v.name in ("AvailabilityState", "Problem")]
        return None

    def select(self, component_variables: list[Payload] | None, criteria: list[str] | None) -> list[Variable]:
        """The variables of a GetReport: those named (a component alone names all its variables)
        whose component meets every criterion given."""
        chosen = self.variables
        if component_variables:
            chosen = [
                v
                for v in chosen
                if any(
                    self._component_named(v, cv["component"])
                    and ("variable" not in cv or v.matches_variable(cv["variable"]))
                    for cv in component_variables
                )
            ]
        if criteria:
            chosen = [v for v in chosen if all(self._meets(v, criterion) for criterion in criteria)]
        return chosen

    @staticmethod
    def _component_named(variable: Variable, component: Payload) -> bool:
        if component["name"] != variable.component or component.get("instance") != variable.component_instance:
            return False
        evse = component.get("evse")
        if evse is None:
            return True  # a component named without an EVSE: every one of that name
        return evse["id"] == variable.evse_id and evse.get("connectorId", variable.connector_id) == variable.connector_id

    def _meets(self, variable: Variable, criterion: str) -> bool:
        """Whether `variable`'s component meets a componentCriteria: its variable of the
        criterion's name (Active, Available, Enabled, Problem) is true."""
        return any(
            other.name == criterion
            and other.component == variable.component
            and other.component_instance == variable.component_instance
            and other.evse_id == variable.evse_id
            and other.connector_id == variable.connector_id
            and self.value(other) == "true"
            for other in self.variables
        )
