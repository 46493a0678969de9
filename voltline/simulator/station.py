"""One simulated OCPP 1.6J charge point: its connection life cycle, boot, heartbeat, sessions.

The station behaves like firmware on real hardware: it boots until the central system accepts it,
keeps its own state (meter registers, transactions, configuration, lists, profiles) across lost
connections, queues transaction messages while offline and reports every connector change.

Its parts are in `parts/` (connection, transactions, energy, reservations, reboot); what the
central system may ask of it lives in `handlers.py`, firmware and log uploads in
`maintenance.py`. This module puts them together: the handlers build on the parts, and the
charge point binds them, so that no module imports one that imports it back.
"""

from __future__ import annotations

from voltline.simulator.handlers import HANDLERS
from voltline.simulator.parts import DEFAULT_MAX_POWER_W, SimulatorError, Station

__all__ = ["DEFAULT_MAX_POWER_W", "SimulatedChargePoint", "SimulatorError"]


class SimulatedChargePoint(Station):
    handlers = HANDLERS
    ocpp_version = "1.6"
