"""The components and variables a simulated 2.0.1 station reports: the standard controllers a
CSMS configures (OCPP 2.0.1 part 2, appendix 3) and one component per EVSE and per connector."""

from __future__ import annotations

from collections.abc import Sized
from typing import Protocol

from voltline.simulator.clock import Clock, iso
from voltline.simulator.config import Configuration
from voltline.simulator.connector import Connector
from voltline.simulator.v201.device_model import DeviceModel, Variable
from voltline.simulator.v201.records import Plug

RW, RO = "ReadWrite", "ReadOnly"
# The measurands the simulated meter samples that 2.0.1 knows (it has no Temperature).
MEASURANDS = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Power.Offered",
    "Current.Import",
    "Current.Offered",
    "Voltage",
    "SoC",
    "Frequency",
)
TX_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "DataSigned", "PowerPathClosed", "EnergyTransfer")
ITEMS_PER_MESSAGE = 20


class InventoriedStation(Protocol):
    identity: str
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    max_power_w: float
    clock: Clock
    config: Configuration
    station: Connector
    connectors: dict[int, Connector]
    plugs: dict[int, dict[int, Plug]]
    certificates: Sized

    def station_state(self) -> str: ...

    def evse_state(self, evse: Connector) -> str: ...


def build(station: InventoriedStation, *, items_per_message: int = ITEMS_PER_MESSAGE) -> DeviceModel:
    model = DeviceModel(station.config)
    add = model.add

    def setting(component: str, name: str, key: str, data_type: str, *, unit: str | None = None,
                instance: str | None = None, values: tuple[str, ...] = (), minimum: float | None = None) -> None:
        add(Variable(component, name, data_type, mutability=RW, unit=unit, instance=instance, config_key=key,
                     values_list=values, min_limit=minimum))

    def fixed(component: str, name: str, data_type: str, value: str, *, unit: str | None = None,
              instance: str | None = None) -> None:
        add(Variable(component, name, data_type, value=value, unit=unit, instance=instance, constant=True))

    # The station itself.
    fixed("ChargingStation", "Model", "string", station.model)
    fixed("ChargingStation", "VendorName", "string", station.vendor)
    fixed("ChargingStation", "SerialNumber", "string", station.serial_number)
    add(Variable("ChargingStation", "FirmwareVersion", "string", read=lambda: station.firmware_version))
    add(Variable("ChargingStation", "AvailabilityState", "OptionList", read=station.station_state,
                 values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")))
    add(Variable("ChargingStation", "Available", "boolean", read=lambda: _bool(station.station.operative)))
    add(Variable("ChargingStation", "Problem", "boolean",
                 read=lambda: _bool(any(e.fault for e in station.connectors.values()))))
    fixed("ChargingStation", "SupplyPhases", "integer", "3")

    # Communication, sampling, transactions, authorization.
    setting("OCPPCommCtrlr", "HeartbeatInterval", "HeartbeatInterval", "integer", unit="s", minimum=1)
    setting("OCPPCommCtrlr", "WebSocketPingInterval", "WebSocketPingInterval", "integer", unit="s", minimum=0)
    setting("OCPPCommCtrlr", "MessageAttempts", "TransactionMessageAttempts", "integer",
            instance="TransactionEvent", minimum=1)
    setting("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionMessageRetryInterval", "integer",
            unit="s", instance="TransactionEvent", minimum=0)
    setting("OCPPCommCtrlr", "ResetRetries", "ResetRetries", "integer", minimum=0)
    setting("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", "UnlockConnectorOnEVSideDisconnect", "boolean")
    add(Variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "SequenceList", value="0", mutability=RW))
    fixed("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "integer", "3")
    fixed("OCPPCommCtrlr", "OfflineThreshold", "integer", "60", unit="s")
    fixed("OCPPCommCtrlr", "MessageTimeout", "integer", "30", unit="s", instance="Default")
    fixed("OCPPCommCtrlr", "FileTransferProtocols", "MemberList", "HTTPS")

    setting("SampledDataCtrlr", "TxUpdatedInterval", "MeterValueSampleInterval", "integer", unit="s", minimum=0)
    setting("SampledDataCtrlr", "TxUpdatedMeasurands", "MeterValuesSampledData", "MemberList", values=MEASURANDS)
    setting("SampledDataCtrlr", "TxEndedMeasurands", "StopTxnSampledData", "MemberList", values=MEASURANDS)
    add(Variable("SampledDataCtrlr", "TxStartedMeasurands", "MemberList", value="Energy.Active.Import.Register",
                 mutability=RW, values_list=MEASURANDS))
    fixed("SampledDataCtrlr", "Enabled", "boolean", "true")
    fixed("SampledDataCtrlr", "RegisterValuesWithoutPhases", "boolean", "true")

    add(Variable("TxCtrlr", "TxStartPoint", "MemberList", value="PowerPathClosed", mutability=RW, values_list=TX_POINTS))
    add(Variable("TxCtrlr", "TxStopPoint", "MemberList", value="EVConnected,Authorized", mutability=RW,
                 values_list=TX_POINTS))
    setting("TxCtrlr", "StopTxOnEVSideDisconnect", "StopTransactionOnEVSideDisconnect", "boolean")
    setting("TxCtrlr", "StopTxOnInvalidId", "StopTransactionOnInvalidId", "boolean")
    setting("TxCtrlr", "MaxEnergyOnInvalidId", "MaxEnergyOnInvalidId", "integer", unit="Wh", minimum=0)
    fixed("TxCtrlr", "EVConnectionTimeOut", "integer", "60", unit="s")

    fixed("AuthCtrlr", "Enabled", "boolean", "true")
    setting("AuthCtrlr", "AuthorizeRemoteStart", "AuthorizeRemoteTxRequests", "boolean")
    setting("AuthCtrlr", "LocalAuthorizeOffline", "LocalAuthorizeOffline", "boolean")
    setting("AuthCtrlr", "LocalPreAuthorize", "LocalPreAuthorize", "boolean")
    setting("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "AllowOfflineTxForUnknownId", "boolean")
    setting("AuthCacheCtrlr", "Enabled", "AuthorizationCacheEnabled", "boolean")

    fixed("DeviceDataCtrlr", "ItemsPerMessage", "integer", str(items_per_message), instance="GetReport")
    fixed("DeviceDataCtrlr", "ItemsPerMessage", "integer", str(items_per_message), instance="GetVariables")
    fixed("DeviceDataCtrlr", "ItemsPerMessage", "integer", str(items_per_message), instance="SetVariables")
    fixed("DeviceDataCtrlr", "BytesPerMessage", "integer", "65000", instance="GetReport")

    add(Variable("SecurityCtrlr", "SecurityProfile", "integer", config_key="SecurityProfile"))
    setting("SecurityCtrlr", "OrganizationName", "CpoName", "string")
    add(Variable("SecurityCtrlr", "CertificateEntries", "integer", read=lambda: str(len(station.certificates))))
    fixed("SecurityCtrlr", "Identity", "string", station.identity)

    add(Variable("ClockCtrlr", "DateTime", "dateTime", read=lambda: iso(station.clock.now())))
    fixed("ClockCtrlr", "TimeSource", "SequenceList", "Heartbeat")

    # EVSEs and their connectors.
    for evse_id, evse in station.connectors.items():
        add(Variable("EVSE", "AvailabilityState", "OptionList", evse_id=evse_id,
                     read=lambda e=evse: station.evse_state(e)))
        add(Variable("EVSE", "Available", "boolean", evse_id=evse_id, read=lambda e=evse: _bool(e.operative)))
        add(Variable("EVSE", "Power", "decimal", evse_id=evse_id, unit="W", value="0", max_limit=station.max_power_w,
                     read=lambda e=evse: f"{e.power_w:.1f}"))
        add(Variable("EVSE", "SupplyPhases", "integer", evse_id=evse_id, value="3", constant=True))
        for connector_id, plug in station.plugs[evse_id].items():
            add(Variable("Connector", "AvailabilityState", "OptionList", evse_id=evse_id, connector_id=connector_id,
                         read=lambda p=plug: p.status))
            add(Variable("Connector", "Available", "boolean", evse_id=evse_id, connector_id=connector_id,
                         read=lambda p=plug: _bool(p.operative)))
            add(Variable("Connector", "ConnectorType", "string", evse_id=evse_id, connector_id=connector_id,
                         value="cType2", constant=True))
    return model


def _bool(value: bool) -> str:
    return "true" if value else "false"
