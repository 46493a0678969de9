"""Meter readings stored as their values and a shape set (migration 0022): every kind of sampled
value reads back through the API exactly as OCPP's defaults and the unit normalization made it,
paged, filtered and in the session's energy, while a reading keeps only its values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tests.commands.support import T0, online
from voltline.services.transactions import meter_values as mv
from voltline.store import tables as t

PERIODIC = [
    {"timestamp": "2026-11-01T10:01:00Z", "sampledValue": [
        {"value": "1000123", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7360", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "32.0", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        {"value": "230.10", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
    ]},
]
ODD = [
    {"timestamp": "2026-11-01T10:02:00Z", "sampledValue": [
        {"value": "1000.150", "unit": "kWh"},  # normalized to Wh: the number × 1000
        {"value": "n/a", "unit": "kWh"},  # Raw, not a number
        {"value": "signed:abc,\"q\"", "format": "SignedData", "context": "Transaction.End", "phase": "L1"},
        {"value": "-0", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "1e3", "measurand": "Power.Active.Import", "unit": "W", "location": "Cable"},
        {"value": "1.001", "measurand": "Power.Active.Import", "unit": "kW"},  # 1.001 × 1000 = 1000.9999999999999
        {"value": "12345678.9012345", "measurand": "Power.Active.Import", "unit": "W"},  # more digits than kept as a number
    ]},
    {"timestamp": "2026-11-01T10:03:00Z", "sampledValue": [{"value": "1000200"}]},
]
FIELDS = ("value", "unit", "raw_value", "raw_unit", "measurand", "phase", "context", "location", "format")


def _expected(meter_value: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a stored sampled value always read back as: the normalized fields, in order."""
    return [(s.timestamp, *(getattr(s, name) for name in FIELDS)) for s in mv.normalize(meter_value)]


def _read(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(datetime.fromisoformat(i["timestamp"].replace("Z", "+00:00")), *(i[name] for name in FIELDS)) for i in items]


async def test_every_kind_of_sampled_value_reads_back_as_normalized_from_the_values_alone(
    server, api, connect  # type: ignore[no-untyped-def]
) -> None:
    cp = await online(api, connect, "CP-S")
    await api.post("/api/v1/id-tags", json={"id_tag": "T-S"})
    tx = (await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "T-S", "meterStart": 1_000_000,
                                           "timestamp": T0}))["transactionId"]
    for meter_value in (PERIODIC, ODD):
        await cp.ok("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": meter_value})
    await cp.ok("MeterValues", {"connectorId": 1, "meterValue": PERIODIC})  # outside the session
    expected = _expected(PERIODIC) + _expected(ODD) + _expected(PERIODIC)
    # The raw value 1.001 kW is not 1001 W in floating point: the value as normalize made it, not as it looks.
    assert 1000.9999999999999 in [e[1] for e in expected]

    every = (await api.get("/api/v1/meter-values", params={"charge_point_id": "CP-S", "limit": 100})).json()
    assert every["total"] == len(expected) == 16
    assert sorted(_read(every["items"]), key=lambda e: e[0]) == sorted(expected, key=lambda e: e[0])
    # Paged by cursor, three at a time: the same rows in the same order.
    paged, after = [], None
    while True:
        page = (await api.get("/api/v1/meter-values", params={
            "charge_point_id": "CP-S", "limit": 3, **({"after": after} if after else {})})).json()
        paged += page["items"]
        after = page.get("next_cursor")
        if not after:
            break
    assert paged == every["items"]
    offset = (await api.get("/api/v1/meter-values", params={"charge_point_id": "CP-S", "limit": 5, "offset": 5})).json()
    assert offset["items"] == every["items"][5:10]
    power = (await api.get("/api/v1/meter-values", params={
        "transaction_id": tx, "measurand": "Power.Active.Import", "from": "2026-11-01T10:02:00Z",
        "to": "2026-11-01T10:03:00Z"})).json()
    assert [(p["value"], p["raw_value"], p["unit"], p["location"]) for p in power["items"]] == [
        (-0.0, "-0", "W", "Outlet"), (1000.0, "1e3", "W", "Cable"), (1000.9999999999999, "1.001", "W", "Outlet"),
        (12345678.9012345, "12345678.9012345", "W", "Outlet")]
    signed = [i for i in every["items"] if i["format"] == "SignedData"]
    assert signed[0]["signed_meter_value"] == {"signed_meter_data": 'signed:abc,"q"', "signing_method": None,
                                               "encoding_method": None, "public_key": None}

    # The session's energy is its newest register reading: 1,000,200 Wh, 200 Wh past its start.
    detail = (await api.get(f"/api/v1/transactions/{tx}")).json()
    assert detail["energy_wh"] == 200
    assert _read(detail["meter_values"]) == _expected(PERIODIC) + _expected(ODD)

    # Each reading keeps its values only; what they are is in its shape set, stored once.
    r = t.meter_readings.c
    stored = await server.store.fetch_all(sa.select(r.shape_set_id, r.samples).order_by(r.id))
    assert [row.samples for row in stored] == [
        "[1000123,7360,32.0,230.10]",
        '[1000.150,"n/a","signed:abc,\\"q\\"",["-0",-0.0],["1e3",1000.0],1.001,'
        '["12345678.9012345",12345678.9012345]]',
        "[1000200]",
        "[1000123,7360,32.0,230.10]",
    ]
    assert stored[0].shape_set_id == stored[3].shape_set_id
    assert await server.store.fetch_one(sa.select(sa.func.count()).select_from(t.meter_shape_sets)) == (3,)
