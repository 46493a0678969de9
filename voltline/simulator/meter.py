"""Sampled meter values of one connector, in the shape of OCPP 1.6 MeterValues.

The electrical figures follow from the power actually flowing: current per phase is P / (V · phases)
with a slightly noisy grid voltage, so what a central system plots is physically coherent.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from voltline.simulator.clock import iso
from voltline.simulator.smart_charging import NOMINAL_VOLTAGE, PHASES

PHASE_NAMES = ("L1", "L2", "L3")


def sample(
    measurands: list[str],
    *,
    at: datetime,
    context: str,
    register_wh: float,
    power_w: float,
    offered_w: float,
    soc: float | None,
    rng: random.Random,
    per_phase: bool = True,
) -> dict[str, Any]:
    """One MeterValue: a timestamp and a sampledValue per measurand (and, with `per_phase`, per
    phase where it has one; without, the mean over the phases, as a meter set to report
    register and phase-less values does)."""
    voltages = [NOMINAL_VOLTAGE + rng.uniform(-2.5, 2.5) for _ in range(PHASES)]
    values: list[dict[str, Any]] = []

    def add(
        measurand: str, value: str, unit: str | None, *, phase: str | None = None, location: str = "Outlet"
    ) -> None:
        entry: dict[str, Any] = {
            "value": value,
            "context": context,
            "format": "Raw",
            "measurand": measurand,
            "location": location,
        }
        if phase is not None:
            entry["phase"] = phase
        if unit is not None:
            entry["unit"] = unit
        values.append(entry)

    for measurand in measurands:
        if measurand == "Energy.Active.Import.Register":
            add(measurand, str(int(register_wh)), "Wh")
        elif measurand == "Power.Active.Import":
            add(measurand, f"{power_w:.1f}", "W")
        elif measurand == "Power.Offered":
            add(measurand, f"{offered_w:.1f}", "W")
        elif measurand == "Current.Import" and not per_phase:
            add(measurand, f"{power_w / (sum(voltages) / PHASES * PHASES):.2f}", "A")
        elif measurand == "Voltage" and not per_phase:
            add(measurand, f"{sum(voltages) / PHASES:.1f}", "V")
        elif measurand == "Current.Import":
            for phase, volts in zip(PHASE_NAMES, voltages, strict=True):
                add(measurand, f"{power_w / (volts * PHASES):.2f}", "A", phase=phase)
        elif measurand == "Current.Offered":
            add(measurand, f"{offered_w / (NOMINAL_VOLTAGE * PHASES):.2f}", "A")
        elif measurand == "Voltage":
            for phase, volts in zip(PHASE_NAMES, voltages, strict=True):
                add(measurand, f"{volts:.1f}", "V", phase=phase)
        elif measurand == "SoC":
            if soc is not None:
                add(measurand, f"{soc:.0f}", "Percent", location="EV")
        elif measurand == "Frequency":
            add(measurand, f"{50 + rng.uniform(-0.05, 0.05):.2f}", None)
        elif measurand == "Temperature":
            # Power electronics warm up with the load they carry.
            add(measurand, f"{25 + power_w / 1000 + rng.uniform(-0.5, 0.5):.1f}", "Celsius", location="Body")
    return {"timestamp": iso(at), "sampledValue": values}
