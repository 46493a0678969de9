"""The parts of a simulated charge point, each a class of its own over one shared state
(`base.StationBase`), assembled into `Station`.

Parts import `base` only, never each other, nor the CS→CP handlers (which build on `Station`)
nor `voltline.simulator.station` (which binds the handlers to it).
"""

from __future__ import annotations

from voltline.simulator.parts.base import DEFAULT_MAX_POWER_W, SimulatorError, StationBase
from voltline.simulator.parts.connection import ConnectionPart
from voltline.simulator.parts.energy import EnergyPart
from voltline.simulator.parts.reboot import RebootPart
from voltline.simulator.parts.reservations import ReservationsPart
from voltline.simulator.parts.transactions import TransactionsPart

__all__ = ["DEFAULT_MAX_POWER_W", "SimulatorError", "Station", "StationBase"]


class Station(ConnectionPart, TransactionsPart, EnergyPart, ReservationsPart, RebootPart):
    """Every part of a charge point, without the answers to the central system's requests."""
