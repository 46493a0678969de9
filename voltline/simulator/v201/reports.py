"""The device model as the CSMS reads and writes it: GetVariables, SetVariables, GetBaseReport and
GetReport (answered, then the report sent as NotifyReport in parts of ItemsPerMessage entries),
and SetNetworkProfile."""

from __future__ import annotations

from typing import Any

from voltline.ocpp.rpc import OcppError
from voltline.simulator.clock import iso
from voltline.simulator.handlers import after_answer
from voltline.simulator.v201.device_model import Variable
from voltline.simulator.v201.schemas import OCCURRENCE_CONSTRAINT_VIOLATION
from voltline.simulator.v201.transactions import TransactionEventsPart as Station

Payload = dict[str, Any]


def _items_per_message(cp: Station, message: str) -> int:
    return int(cp.device_model.value(cp.device_model.variable("DeviceDataCtrlr", "ItemsPerMessage", message)))


def _within_limit(cp: Station, message: str, items: list[Any]) -> None:
    limit = _items_per_message(cp, message)
    if len(items) > limit:
        raise OcppError(OCCURRENCE_CONSTRAINT_VIOLATION, f"{len(items)} items, ItemsPerMessage{message} is {limit}")


async def get_variables(cp: Station, payload: Payload) -> Payload:
    _within_limit(cp, "GetVariables", payload["getVariableData"])
    return {"getVariableResult": [cp.device_model.get(item) for item in payload["getVariableData"]]}


async def set_variables(cp: Station, payload: Payload) -> Payload:
    _within_limit(cp, "SetVariables", payload["setVariableData"])
    return {"setVariableResult": [cp.device_model.set(item) for item in payload["setVariableData"]]}


def send_report(cp: Station, request_id: int, variables: list[Variable]) -> None:
    """NotifyReport in parts numbered from seqNo 0, `tbc` on all but the last; the values are those
    of the moment the report was asked for."""
    entries = [cp.device_model.report_entry(v) for v in variables]
    size = _items_per_message(cp, "GetReport")
    parts = [entries[i : i + size] for i in range(0, len(entries), size)]
    generated_at = iso(cp.clock.now())
    for seq_no, part in enumerate(parts):
        cp.send_requested(
            "NotifyReport",
            {
                "requestId": request_id,
                "generatedAt": generated_at,
                "seqNo": seq_no,
                "tbc": seq_no < len(parts) - 1,
                "reportData": part,
            },
        )


def _report(cp: Station, request_id: int, variables: list[Variable] | None) -> Payload:
    if variables is None:
        return {"status": "NotSupported"}
    if not variables:
        return {"status": "EmptyResultSet"}
    after_answer(cp, lambda: send_report(cp, request_id, variables))
    return {"status": "Accepted"}


async def get_base_report(cp: Station, payload: Payload) -> Payload:
    return _report(cp, payload["requestId"], cp.device_model.base_report(payload["reportBase"]))


async def get_report(cp: Station, payload: Payload) -> Payload:
    wanted = payload.get("componentVariable")
    if wanted:
        _within_limit(cp, "GetReport", wanted)
    variables = cp.device_model.select(wanted, payload.get("componentCriteria"))
    return _report(cp, payload["requestId"], variables)


async def set_network_profile(cp: Station, payload: Payload) -> Payload:
    data = payload["connectionData"]
    # A profile less secure than the connection's own would be a downgrade (OCPP 2.0.1 B09.FR.04).
    if data["securityProfile"] < cp.config.get_int("SecurityProfile") or data["ocppVersion"] != "OCPP20":
        return {"status": "Rejected"}
    cp.network_profiles[payload["configurationSlot"]] = data
    return {"status": "Accepted"}


HANDLERS = {
    "GetBaseReport": get_base_report,
    "GetReport": get_report,
    "GetVariables": get_variables,
    "SetNetworkProfile": set_network_profile,
    "SetVariables": set_variables,
}
