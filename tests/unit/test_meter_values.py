from datetime import UTC, datetime

import orjson

from voltline.services.transactions import meter_values as mv
from voltline.services.transactions.meter_values import latest, normalize


def test_defaults_of_ocpp_are_applied() -> None:
    [sample] = normalize([{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "12.5"}]}])
    assert (sample.measurand, sample.unit, sample.context, sample.location, sample.format) == (
        "Energy.Active.Import.Register", "Wh", "Sample.Periodic", "Outlet", "Raw",
    )
    assert sample.value == 12.5 and sample.raw_unit is None
    assert sample.timestamp == datetime(2026, 1, 1, tzinfo=UTC)


def test_kilo_units_are_normalized_and_raw_kept() -> None:
    samples = normalize([{"timestamp": "2026-01-01T01:00:00+01:00", "sampledValue": [
        {"value": "1.5", "unit": "kWh"}, {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import"},
        {"value": "2", "unit": "kvarh", "measurand": "Energy.Reactive.Import.Register"},
        {"value": "30", "unit": "Celcius", "measurand": "Temperature"},
    ]}])
    assert [(s.value, s.unit, s.raw_value, s.raw_unit) for s in samples] == [
        (1500.0, "Wh", "1.5", "kWh"), (7200.0, "W", "7.2", "kW"), (2000.0, "varh", "2", "kvarh"), (30.0, "Celsius", "30", "Celcius"),
    ]
    assert samples[0].timestamp == datetime(2026, 1, 1, tzinfo=UTC)


def test_signed_and_non_numeric_values_are_kept_verbatim() -> None:
    samples = normalize([{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [
        {"value": "AP;abc==", "format": "SignedData", "unit": "kWh"}, {"value": "n/a"},
    ]}])
    assert [(s.value, s.raw_value, s.format) for s in samples] == [(None, "AP;abc==", "SignedData"), (None, "n/a", "Raw")]


def test_latest_takes_the_newest_total_value() -> None:
    samples = normalize([
        {"timestamp": "2026-01-01T00:10:00Z", "sampledValue": [{"value": "2000"}, {"value": "900", "phase": "L1"}]},
        {"timestamp": "2026-01-01T00:05:00Z", "sampledValue": [{"value": "1000"}]},
    ])
    assert latest(samples, "Energy.Active.Import.Register") == 2000.0
    assert latest(samples, "Energy.Active.Import.Register", "L1") == 900.0
    assert latest(samples, "Power.Active.Import") is None


def test_one_reading_per_meter_value_entry_in_the_table_s_order() -> None:
    from voltline.services.transactions.meter_values import READING_COLUMNS, encode, readings
    from voltline.store import tables as t

    samples = normalize([
        {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [
            {"value": "3.5", "unit": "kW", "measurand": "Power.Active.Import", "phase": "L1"},
            {"value": "12"}]},
        {"timestamp": "2026-01-01T00:01:00Z", "sampledValue": [{"value": "13"}]},
    ])
    encoded = encode(samples)
    ids = {reading.shapes: 10 + i for i, reading in enumerate(encoded)}
    rows = readings(encoded, ids, "CP-1", 2, 7)
    assert list(READING_COLUMNS) == [c.name for c in t.meter_readings.columns if c.name != "id"]
    assert [row[:5] for row in rows] == [("CP-1", 2, 7, samples[0].timestamp, 10), ("CP-1", 2, 7, samples[2].timestamp, 11)]
    # The values alone, each the number as sent (its value that × the shape's multiplier and factor) ...
    assert [row[5] for row in rows] == ["[3.5,12]", "[13]"]
    # ... and the rest in the shapes, in the order of meter_values.SHAPE_FIELDS.
    assert [dict(zip(mv.SHAPE_FIELDS, shape, strict=True)) for shape in encoded[0].shapes] == [
        {"unit": "W", "raw_unit": "kW", "measurand": "Power.Active.Import", "phase": "L1", "context": "Sample.Periodic",
         "location": "Outlet", "format": "Raw", "multiplier": 1.0, "factor": 1000.0},
        {"unit": "Wh", "raw_unit": None, "measurand": "Energy.Active.Import.Register", "phase": None,
         "context": "Sample.Periodic", "location": "Outlet", "format": "Raw", "multiplier": 1.0, "factor": 1.0},
    ]
    assert mv.values(encoded[0].shapes, rows[0][5]) == [
        (3500.0, "Power.Active.Import", "L1"), (12.0, "Energy.Active.Import.Register", None)]
    # the view's columns are the sampled value's fields after the reading's, and the signed value (migration 0015)
    assert [c.name for c in t.meter_values.columns][-len(t.SAMPLE_FIELDS) - 1:] == [*t.SAMPLE_FIELDS, t.SIGNED_FIELD]


def test_an_entry_larger_than_a_reading_s_places_is_split_in_order() -> None:
    import orjson

    from voltline.services.transactions.meter_values import encode
    from voltline.store.tables import SAMPLES_PER_READING

    count = SAMPLES_PER_READING + 5
    samples = normalize([{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": str(n)} for n in range(count)]}])
    encoded = encode(samples)
    assert [len(reading.shapes) for reading in encoded] == [SAMPLES_PER_READING, 5]
    assert [value for reading in encoded for value in orjson.loads(reading.samples)] == list(range(count))


def test_201_sampled_values_have_their_multiplier_applied_and_their_signed_value_kept() -> None:
    signed = {"signedMeterData": "b2NtZg==", "signingMethod": "ECDSA", "encodingMethod": "OCMF", "publicKey": "cHVi"}
    [energy, power] = mv.normalize([{"timestamp": "2026-11-01T10:00:00Z", "sampledValue": [
        {"value": 12.5, "unitOfMeasure": {"unit": "kWh"}, "signedMeterValue": signed},
        {"value": 7, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W", "multiplier": 3}},
    ]}])
    assert (energy.value, energy.unit, energy.raw_value, energy.raw_unit) == (12500.0, "Wh", "12.5", "kWh")
    assert energy.signed == signed and energy.fields()[-1] == signed and len(energy.fields()) == 10
    assert (power.value, power.unit, power.raw_value, power.raw_unit) == (7000.0, "W", "7", "W*10^3")
    assert len(power.fields()) == 9 and power.format == "Raw" and power.context == "Sample.Periodic"
    # Stored: the energy's value beside its signed value; the power as its number, × 10^3 in its shape.
    [reading] = mv.encode([energy, power])
    assert reading.samples == '[["12.5",12500.0,' + orjson.dumps(signed).decode() + '],7]'
    assert reading.shapes[1][7:] == (1000.0, 1.0)
    assert mv.values(reading.shapes, reading.samples) == [
        (12500.0, "Energy.Active.Import.Register", None), (7000.0, "Power.Active.Import", None)]


def test_16_sampled_values_are_stored_as_before() -> None:
    [sample] = mv.normalize([{"timestamp": "2026-11-01T10:00:00Z", "sampledValue": [{"value": "1.5", "unit": "kWh"}]}])
    assert sample.fields() == (1500.0, "Wh", "1.5", "kWh", mv.ENERGY_REGISTER, None, "Sample.Periodic", "Outlet", "Raw")


def test_latest_of_several_measurands_agrees_with_latest_of_each() -> None:
    samples = normalize([
        {"timestamp": "2026-01-01T00:01:00Z", "sampledValue": [
            {"value": "100"}, {"value": "7", "measurand": "Power.Active.Import", "unit": "W"},
            {"value": "9", "measurand": "Power.Active.Import", "unit": "W", "phase": "L1"},
            {"value": "40", "measurand": "SoC", "unit": "Percent"},
        ]},
        {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "300"}]},  # older, sent later
        {"timestamp": "2026-01-01T00:01:00Z", "sampledValue": [{"value": "150"}]},  # as new: the later wins
        {"timestamp": "2026-01-01T00:02:00Z", "sampledValue": [
            {"value": "n/a", "measurand": "SoC", "format": "SignedData"},  # no value: not the newest
        ]},
    ])
    measurands = ("Energy.Active.Import.Register", "Power.Active.Import", "SoC", "Voltage")
    assert mv.latest_of(samples, measurands) == {m: latest(samples, m) for m in measurands if latest(samples, m) is not None}
    assert mv.latest_of(samples, measurands) == {"Energy.Active.Import.Register": 150.0, "Power.Active.Import": 7.0, "SoC": 40.0}
