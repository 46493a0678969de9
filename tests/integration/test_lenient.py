"""Lenient actions: a payload that breaks the schema is served, whatever field is missing or of
the wrong type, and is never answered InternalError."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from voltline.ocpp.v16.inbound import HANDLERS
from voltline.store import tables as t

T0 = "2026-11-01T10:00:00Z"
OCCURENCE = "OccurenceConstraintViolation"
TYPE = "TypeConstraintViolation"

# What each action answers with an empty payload: served where every field it reads has a
# default, else the code a strict validation gives a missing field.
EMPTY = {
    "BootNotification": None,
    "Heartbeat": None,
    "StatusNotification": OCCURENCE,
    "Authorize": OCCURENCE,
    "StartTransaction": OCCURENCE,
    "StopTransaction": OCCURENCE,
    "MeterValues": OCCURENCE,
    "DataTransfer": None,
    "DiagnosticsStatusNotification": OCCURENCE,
    "FirmwareStatusNotification": OCCURENCE,
    "SecurityEventNotification": OCCURENCE,
    "SignedFirmwareStatusNotification": OCCURENCE,
    "LogStatusNotification": OCCURENCE,
    "SignCertificate": None,
}

# Every field each action knows, each of a type it cannot have.
MISTYPED = {
    "BootNotification": ["chargePointVendor", "chargePointModel", "chargePointSerialNumber", "chargeBoxSerialNumber",
                         "firmwareVersion", "iccid", "imsi", "meterType", "meterSerialNumber"],
    "Heartbeat": [],
    "StatusNotification": ["connectorId", "errorCode", "info", "status", "timestamp", "vendorId", "vendorErrorCode"],
    "Authorize": ["idTag"],
    "StartTransaction": ["connectorId", "idTag", "meterStart", "reservationId", "timestamp"],
    "StopTransaction": ["idTag", "meterStop", "timestamp", "transactionId", "reason", "transactionData"],
    "MeterValues": ["connectorId", "transactionId", "meterValue"],
    "DataTransfer": ["vendorId", "messageId", "data"],
    "DiagnosticsStatusNotification": ["status"],
    "FirmwareStatusNotification": ["status"],
    "SecurityEventNotification": ["type", "timestamp", "techInfo"],
    "SignedFirmwareStatusNotification": ["status", "requestId"],
    "LogStatusNotification": ["status", "requestId"],
    "SignCertificate": ["csr"],
}


def test_the_tables_cover_every_action() -> None:
    assert set(EMPTY) == set(MISTYPED) == set(HANDLERS)


@pytest.fixture
async def lax(server, connect):  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-LAX", lenient_actions=list(HANDLERS))
    client = await connect("CP-LAX")
    assert (await client.boot())["status"] == "Accepted"
    return client


async def test_a_lenient_boot_without_a_model_is_accepted_and_stored(server, connect) -> None:  # type: ignore[no-untyped-def]
    await server.services.charge_points.register("CP-NOMODEL", lenient_actions=["BootNotification"])
    client = await connect("CP-NOMODEL")
    answer = await client.call("BootNotification", {"chargePointVendor": "ACME", "firmwareVersion": 2})
    assert answer[0] == 3 and answer[2]["status"] == "Accepted", answer
    row = await server.store.fetch_one(sa.select(t.charge_points).where(t.charge_points.c.id == "CP-NOMODEL"))
    assert (row.vendor, row.model, row.firmware_version) == ("ACME", "", "2")
    assert row.last_boot_at is not None


async def test_every_lenient_action_with_every_field_missing_is_answered(lax) -> None:  # type: ignore[no-untyped-def]
    for action, code in EMPTY.items():
        answer = await lax.call(action, {})
        if code is None:
            assert answer[0] == 3, (action, answer)
        else:
            assert answer[0] == 4 and answer[2] == code, (action, answer)


@pytest.mark.parametrize("wrong", [{"an": "object"}, ["a", "list"], True, "x" * 300], ids=["object", "array", "boolean", "long"])
async def test_every_lenient_action_with_every_field_mistyped_is_answered(lax, wrong) -> None:  # type: ignore[no-untyped-def]
    for action, fields in MISTYPED.items():
        answer = await lax.call(action, dict.fromkeys(fields, wrong))
        assert answer[0] == 3 or answer[2] in (OCCURENCE, TYPE), (action, answer)


async def test_a_lenient_transaction_with_numbers_as_strings_and_no_times_is_stored(server, lax) -> None:  # type: ignore[no-untyped-def]
    started = await lax.ok("StartTransaction", {"connectorId": "1", "idTag": 4711, "meterStart": "100", "timestamp": "soon"})
    tx = started["transactionId"]
    values = await lax.ok("MeterValues", {"connectorId": 1.0, "transactionId": str(tx), "meterValue": [
        {"sampledValue": [{"value": 150}]},  # no timestamp: the time of arrival
        "not an entry",
        {"timestamp": T0, "sampledValue": [{"unit": "Wh"}]},  # no value: nothing to keep
    ]})
    assert values == {}
    stopped = await lax.call("StopTransaction", {"transactionId": str(tx), "meterStop": 250.0})
    assert stopped[0] == 3, stopped
    row = await server.store.fetch_one(sa.select(t.transactions).where(t.transactions.c.id == tx))
    assert (row.connector_id, row.id_tag, row.meter_start, row.meter_stop) == (1, "4711", 100, 250)
    assert row.started_at is not None and row.stopped_at is not None and row.stop_reason == "Local"
    samples = await server.store.fetch_all(sa.select(t.meter_values.c.value).where(t.meter_values.c.transaction_id == tx))
    assert [s.value for s in samples] == [150.0]


async def test_a_stop_without_its_transaction_is_refused_with_the_schemas_code(lax) -> None:  # type: ignore[no-untyped-def]
    answer = await lax.call("StopTransaction", {"meterStop": 10, "timestamp": T0})
    assert answer[0] == 4 and answer[2] == OCCURENCE
    answer = await lax.call("StopTransaction", {"transactionId": "seven", "meterStop": 10, "timestamp": T0})
    assert answer[0] == 4 and answer[2] == TYPE
