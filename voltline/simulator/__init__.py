"""Charge point simulator: N simulated OCPP 1.6J charge points or 2.0.1 charging stations (or a
mixed fleet, `ocpp_version="mixed"`) against any central system.

Library use::

    async with Simulator("ws://127.0.0.1:9000/ocpp", count=2, connectors=2, speed=60) as sim:
        cp = sim["CP-1"]
        tx = await cp.plug_in(1, "TAG1", energy_kwh=20)
        await cp.wait_for_status(1, "Charging")

    async with Simulator(url, count=2, connectors=2, ocpp_version="2.0.1", connectors_per_evse=2) as sim:
        cs = sim["CP-1"]                       # a SimulatedChargingStation: EVSEs 1, 2
        tx = await cs.plug_in(1, "TAG1", connector_id=2)
        await cs.wait_for_connector_status(1, "Occupied", connector_id=2)
        tx.events                              # the TransactionEvents, seqNo 0, 1, ...

The command line (`voltline simulate`) lives in `voltline.simulator.cli`.
"""

from voltline.simulator.clock import Clock
from voltline.simulator.connector import Connector, Reservation
from voltline.simulator.scenario import Scenario, ScenarioError, Step
from voltline.simulator.session import ElectricVehicle, Transaction
from voltline.simulator.simulator import Simulator
from voltline.simulator.station import SimulatedChargePoint, SimulatorError
from voltline.simulator.tls import ClientTls
from voltline.simulator.v201.records import Plug, Transaction201
from voltline.simulator.v201.station import SimulatedChargingStation

__all__ = [
    "ClientTls",
    "Clock",
    "Connector",
    "ElectricVehicle",
    "Plug",
    "Reservation",
    "Scenario",
    "ScenarioError",
    "SimulatedChargePoint",
    "SimulatedChargingStation",
    "Simulator",
    "SimulatorError",
    "Step",
    "Transaction",
    "Transaction201",
]
