"""The OCPP 2.0.1 charging station of the simulator (`SimulatedChargingStation`)."""
