from datetime import UTC, datetime

from voltline.services.meter_values import latest, normalize


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


def test_row_tuple_matches_the_table_and_the_dict_form() -> None:
    from voltline.services.meter_values import ROW_COLUMNS
    from voltline.store import tables as t

    [sample] = normalize([{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [
        {"value": "3.5", "unit": "kW", "measurand": "Power.Active.Import", "phase": "L1"}]}])
    columns = [c.name for c in t.meter_values.columns if c.name != "id"]
    as_dict = sample.row("CP-1", 2, 7)
    assert list(ROW_COLUMNS) == columns and list(as_dict) == columns
    assert sample.values("CP-1", 2, 7) == tuple(as_dict.values())
