"""Meter values: OCPP's defaults applied and units normalized (kWh → Wh, kW → W), raw data kept.

Both versions' sampled values: 1.6's (a string value, `unit`, `format`) and 2.0.1's (a number,
`unitOfMeasure` {unit, multiplier}, `signedMeterValue` beside the value). The defaults are the
same in both (1.6 §7.45, 2.0.1 SampledValueType and UnitOfMeasureType)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
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
READING_COLUMNS = ("charge_point_id", "connector_id", "transaction_id", "timestamp", "shape_set_id", "samples")

Shape = tuple[Any, ...]
"""What a sampled value says about itself, as a row of `meter_shapes` has it: unit, raw_unit,
measurand, phase, context, location, format, multiplier, factor (SHAPE_FIELDS)."""

SHAPE_FIELDS = ("unit", "raw_unit", "measurand", "phase", "context", "location", "format", "multiplier", "factor")

# A value stored as its own text, unquoted: a plain decimal (no exponent, no leading zeros, no
# negative zero) of at most 15 characters, so SQLite and PostgreSQL read it back as the same
# double as Python's float() and give back its text exactly as sent.
_PLAIN = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_PLAIN_LENGTH = 15

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


_shapes: dict[tuple[Any, ...], Shape] = {}  # by (unit, raw_unit, measurand, phase, context, location, format)


def _shape(fields: tuple[Any, ...]) -> Shape:
    """The shape of a sampled value of these fields (unit, raw_unit, measurand, phase, context,
    location, format), with the multiplier and factor `normalize` applied to its value (1.0 each
    when none: a value whose number does not give it back is stored itself)."""
    shape = _shapes.get(fields)
    if shape is not None:
        return shape
    unit, raw_unit = fields[0], fields[1]
    multiplier, factor, base = 1.0, 1.0, raw_unit or DEFAULT_UNIT
    if raw_unit is not None and "*10^" in raw_unit:
        base, _, exponent = raw_unit.rpartition("*10^")
        try:
            multiplier = 10.0 ** int(exponent)
        except (ValueError, OverflowError):
            multiplier, base = 1.0, raw_unit
    normalized = _NORMALIZE.get(base)
    if normalized is not None and normalized[0] == unit:
        factor = normalized[1]
    shape = (*fields, multiplier, factor)
    if len(_shapes) < 4096:  # charge points may send any unit text (2.0.1): the memory stays bounded
        _shapes[fields] = shape
    return shape


def _stored(sample: SampledValue, shape: Shape) -> str:
    """A sampled value as it stands in a reading's `samples` (the `meter_values` view reads it back):
    - its raw text unquoted, a number, when value = that number × multiplier × factor;
    - a string, its raw text, when it has no value;
    - otherwise [raw text, value] (and the signedMeterValue third, as received)."""
    raw, value = sample.raw_value, sample.value
    if sample.signed is None:
        if value is None:
            return orjson.dumps(raw).decode()
        if len(raw) <= _PLAIN_LENGTH:
            # The common case first: digits alone, no leading zero (its value is float(raw) unless scaled).
            plain = raw.isdigit() and (raw[0] != "0" or len(raw) == 1)
            if plain or (_PLAIN.fullmatch(raw) is not None and not (value == 0.0 and raw[0] == "-")):
                multiplier, factor = shape[7], shape[8]
                if (multiplier == 1.0 and factor == 1.0 and value == float(raw)) or float(raw) * multiplier * factor == value:
                    return raw
        return orjson.dumps([raw, value]).decode()
    return orjson.dumps([raw, value, sample.signed]).decode()


@dataclass(slots=True)
class Reading:
    """One meterValue entry, encoded: its sampled values' shapes and their values."""

    timestamp: datetime
    shapes: tuple[Shape, ...]
    samples: str  # a JSON array, one element a sampled value (see _stored)


@lru_cache(maxsize=4096)
def definition(shapes: tuple[Shape, ...]) -> str:
    """A set of shapes as the key of its `meter_shape_sets` row."""
    return orjson.dumps(shapes).decode()


def encode(samples: list[SampledValue]) -> list[Reading]:
    """One Reading per meterValue entry (whose samples `normalize` gave one shared timestamp
    object), and one per SAMPLES_PER_READING samples of an entry larger than that (the view's ids
    leave that many places a reading)."""
    encoded: list[Reading] = []
    start = 0
    for end in range(1, len(samples) + 1):
        if (
            end == len(samples)
            or samples[end].timestamp is not samples[start].timestamp
            or end - start == SAMPLES_PER_READING
        ):
            entry = samples[start:end]
            shapes = tuple([_shape((s.unit, s.raw_unit, s.measurand, s.phase, s.context, s.location, s.format))
                            for s in entry])
            stored = ",".join([_stored(s, shape) for s, shape in zip(entry, shapes)])
            encoded.append(Reading(entry[0].timestamp, shapes, f"[{stored}]"))
            start = end
    return encoded


def readings(
    encoded: list[Reading], set_ids: Mapping[tuple[Shape, ...], int], charge_point_id: str, connector_id: int,
    transaction_id: int | None,
) -> list[tuple[Any, ...]]:
    """meter_readings rows (tuples in READING_COLUMNS order) of `encoded`, whose shape sets'
    ids `set_ids` has (shapes.ShapeSets)."""
    return [
        (charge_point_id, connector_id, transaction_id, r.timestamp, set_ids[r.shapes], r.samples) for r in encoded
    ]


def values(shapes: tuple[Shape, ...], samples: str) -> list[tuple[float | None, str, str | None]]:
    """A reading's sampled values as (value, measurand, phase), as the `meter_values` view shows
    them, read in Python (the rebuild of the reports)."""
    decoded: list[tuple[float | None, str, str | None]] = []
    for shape, stored in zip(shapes, orjson.loads(samples)):
        if type(stored) is list:
            value = stored[1]
        elif type(stored) is str:
            value = None
        else:
            value = float(stored) * shape[7] * shape[8]
        decoded.append((value, shape[2], shape[3]))
    return decoded


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


def latest_of(samples: list[SampledValue], measurands: tuple[str, ...]) -> dict[str, float]:
    """`latest(samples, m)` of each of `measurands` that has one (totals only), in one pass: a
    meter value's live reading wants three of them."""
    found: dict[str, SampledValue] = {}
    for sample in samples:
        measurand = sample.measurand
        if measurand in measurands and sample.phase is None and sample.value is not None:
            newest = found.get(measurand)
            if newest is None or sample.timestamp >= newest.timestamp:
                found[measurand] = sample
    return {measurand: sample.value for measurand, sample in found.items()}  # type: ignore[misc]
