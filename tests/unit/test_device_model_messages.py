"""The device model's 2.0.1 messages: each domain request becomes a payload the official schema
accepts and reads back as the same request; answers read attribute by attribute."""

from __future__ import annotations

import pytest

from voltline.ocpp import commands as c
from voltline.ocpp.schemas import OCPP201, validators
from voltline.ocpp.v201 import outbound

EVSE_POWER = c.VariableAddress(c.Component("EVSE", None, 1, 2), c.Variable("Power"), "MaxSet")
HEARTBEAT = c.VariableAddress(c.Component("OCPPCommCtrlr"), c.Variable("HeartbeatInterval", "main"))

REQUESTS = [
    c.RequestBaseReport(7, "FullInventory"),
    c.RequestReport(8, (c.ReportedComponentVariable(c.Component("EVSE", "a", 1), c.Variable("Power")),
                        c.ReportedComponentVariable(c.Component("SecurityCtrlr"))), ("Problem",)),
    c.RequestReport(9),
    c.ReadVariables((EVSE_POWER, HEARTBEAT)),
    c.ChangeVariables((c.VariableChange(HEARTBEAT, "120"),)),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_a_request_goes_out_valid_and_reads_back_the_same(request_: c.Request[c.Answer]) -> None:
    action, payload = outbound.encode(request_)
    validators(OCPP201).validate_request(action, payload)
    assert outbound.read_request(action, payload) == request_


def test_answers_are_read_attribute_by_attribute() -> None:
    read = outbound.decode_answer("GetVariables", {"getVariableResult": [
        {"attributeStatus": "Accepted", "attributeValue": "22000", "attributeType": "MaxSet",
         "component": {"name": "EVSE", "evse": {"id": 1, "connectorId": 2}}, "variable": {"name": "Power"}},
        {"attributeStatus": "UnknownVariable", "component": {"name": "OCPPCommCtrlr"},
         "variable": {"name": "HeartbeatInterval", "instance": "main"}, "attributeStatusInfo": {"reasonCode": "NoSuch"}},
    ]})
    assert read == c.VariablesRead(None, (c.VariableRead(EVSE_POWER, "Accepted", "22000"),
                                          c.VariableRead(HEARTBEAT, "UnknownVariable", None, "NoSuch")))
    changed = outbound.decode_answer("SetVariables", {"setVariableResult": [
        {"attributeStatus": "RebootRequired", "component": {"name": "OCPPCommCtrlr"},
         "variable": {"name": "HeartbeatInterval", "instance": "main"}}]})
    assert changed == c.VariablesChanged(None, (c.VariableSet(HEARTBEAT, "RebootRequired"),))
    assert outbound.triggered("GetBaseReport", {}) == ("NotifyReport", 600.0)
    assert outbound.triggered("Reset", {}) is None
