"""Meter values: OCPP's defaults applied and units normalized (kWh → Wh, kW → W), raw data kept.

Both versions' sampled values: 1.6's (a string value, `unit`, `format`) and 2.0.1's (a number,
`unitOfMeasure` {unit, multiplier}, `signedMeterValue` beside the value). The defaults are the
same in both (1.6 §7.45, 2.0.1 SampledValueType and UnitOfMeasureType)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from voltline.services.clock import parse_timestamp
from voltline.store.tables import SAMPLES_PER_READING

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"

# OCPP 1.6 §7.45 SampledValue defaults.
DEFAULT_MEASURAND = ENERGY_REGISTER
DEFAULT_UNIT = "Wh"
DEFAULT_CONTEXT = "Sample.Periodic"
DEFAULT_LOCATION = "Outlet"
DEFAULT_FORMAT = "Raw"

# unit → (normalized unit, factor)
_NORMALIZE = {
    "kWh": ("Wh", 1000.0),
    "kW": ("W", 1000.0),
    "kvarh": ("varh", 1000.0),
    "kvar": ("var", 1000.0),
    "kVA": ("VA", 1000.0),
    "Celcius": ("Celsius", 1.0),  # the 1.6 schema's misspelling, accepted and corrected
}


# The meter_readings columns that `readings` fills, in the table's order.
READING_COLUMNS = ("charge_point_id", "connector_id", "transaction_id", "timestamp", "sampled_values")


@dataclass(slots=True)
class SampledValue:
    timestamp: datetime
    raw_value: str
    value: float | None
    unit: str | None
    raw_unit: str | None
    measurand: str
    phase: str | None
    context: str
    location: str
    format: str
    # 2.0.1's signedMeterValue {signedMeterData, signingMethod, encodingMethod, publicKey}, verbatim.
    signed: dict[str, Any] | None = None

    def fields(self) -> tuple[Any, ...]:
        """The sampled value as stored in a reading, in the order of tables.SAMPLE_FIELDS (and
        the signed value tenth, only when there is one)."""
        stored = (
            self.value, self.unit, self.raw_value, self.raw_unit, self.measurand, self.phase, self.context,
            self.location, self.format,
        )
        return stored if self.signed is None else (*stored, self.signed)


def readings(
    samples: list[SampledValue], charge_point_id: str, connector_id: int, transaction_id: int | None
) -> list[tuple[Any, ...]]:
    """meter_readings rows (tuples in READING_COLUMNS order): one per meterValue entry (whose
    samples `normalize` gave one shared timestamp object), and one per SAMPLES_PER_READING
    samples of an entry larger than that (the view's ids leave that many places a reading)."""
    rows: list[tuple[Any, ...]] = []
    start = 0
    for end in range(1, len(samples) + 1):
        if (
            end == len(samples)
            or samples[end].timestamp is not samples[start].timestamp
            or end - start == SAMPLES_PER_READING
        ):
            entry = orjson.dumps([sample.fields() for sample in samples[start:end]]).decode()
            rows.append((charge_point_id, connector_id, transaction_id, samples[start].timestamp, entry))
            start = end
    return rows


def normalize(meter_value: list[dict[str, Any]]) -> list[SampledValue]:
    """OCPP `meterValue` (a list of {timestamp, sampledValue[]}) as flat, normalized samples."""
    samples: list[SampledValue] = []
    for entry in meter_value:
        timestamp = parse_timestamp(entry["timestamp"])
        for sampled in entry["sampledValue"]:
            raw_value = sampled["value"]
            measure = sampled.get("unitOfMeasure")
            multiplier = 0
            if measure is None:
                fmt = sampled.get("format", DEFAULT_FORMAT)
                raw_unit = sampled.get("unit")
            else:  # 2.0.1: the value is value × 10^multiplier of the unit
                fmt = DEFAULT_FORMAT
                raw_unit = measure.get("unit")
                multiplier = measure.get("multiplier", 0)
            if not isinstance(raw_value, str):  # 2.0.1 sends a number: its text as sent
                raw_value = str(raw_value)
            measurand = sampled.get("measurand", DEFAULT_MEASURAND)
            unit = raw_unit or DEFAULT_UNIT
            value: float | None = None
            if fmt == "Raw":
                try:
                    value = float(raw_value)
                except ValueError:
                    value = None
                if value is not None and multiplier:
                    value *= 10.0**multiplier
                    # What was sent stays readable: the multiplier goes with the raw unit.
                    raw_unit = f"{unit}*10^{multiplier}"
                if value is not None and unit in _NORMALIZE:
                    unit, factor = _NORMALIZE[unit]
                    value *= factor
            samples.append(
                SampledValue(
                    timestamp=timestamp,
                    raw_value=raw_value,
                    value=value,
                    unit=unit,
                    raw_unit=raw_unit,
                    measurand=measurand,
                    phase=sampled.get("phase"),
                    context=sampled.get("context", DEFAULT_CONTEXT),
                    location=sampled.get("location", DEFAULT_LOCATION),
                    format=fmt,
                    signed=sampled.get("signedMeterValue"),
                )
            )
    return samples


def latest(samples: list[SampledValue], measurand: str, phase: str | None = None) -> float | None:
    """The newest normalized value of a measurand (total, not per phase, unless asked)."""
    found: SampledValue | None = None
    for sample in samples:
        if sample.measurand == measurand and sample.phase == phase and sample.value is not None:
            if found is None or sample.timestamp >= found.timestamp:
                found = sample
    return found.value if found else None
