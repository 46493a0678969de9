"""The simulated station's configuration keys (OCPP 1.6 §9 plus the security extension).

Values are kept as the strings OCPP transports; typed accessors read them. A change is validated the
way a real station would (type, range, allowed measurands, list length) and listeners hear about
accepted changes so they take effect at once (e.g. a new HeartbeatInterval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# What the simulated meter can actually sample; a station rejects measurands it has no sensor for.
SAMPLEABLE_MEASURANDS = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Power.Offered",
    "Current.Import",
    "Current.Offered",
    "Voltage",
    "SoC",
    "Frequency",
    "Temperature",
)
DEFAULT_SAMPLED_DATA = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"
FEATURE_PROFILES = "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"


@dataclass(slots=True)
class Key:
    name: str
    value: str
    readonly: bool = False
    kind: str = "str"  # int | bool | csl | str
    minimum: int = 0
    maximum: int | None = None
    max_items_key: str | None = None
    choices: tuple[str, ...] = ()
    write_only: bool = False  # secrets (AuthorizationKey) are never read back


def _b(value: bool) -> str:
    return "true" if value else "false"


class Configuration:
    def __init__(
        self,
        *,
        connectors: int,
        heartbeat_interval: int = 300,
        meter_interval: int = 60,
        max_local_list: int = 1000,
    ) -> None:
        csl_max = 10
        keys = [
            Key("AllowOfflineTxForUnknownId", _b(False), kind="bool"),
            Key("AuthorizationCacheEnabled", _b(True), kind="bool"),
            Key("AuthorizeRemoteTxRequests", _b(False), kind="bool"),
            Key("BlinkRepeat", "3", kind="int"),
            Key("ClockAlignedDataInterval", "0", kind="int"),
            Key("ConnectionTimeOut", "60", kind="int"),
            Key("ConnectorPhaseRotation", ",".join(f"{i}.RST" for i in range(connectors + 1)), kind="str"),
            Key("ConnectorPhaseRotationMaxLength", str(connectors + 1), readonly=True, kind="int"),
            Key("GetConfigurationMaxKeys", "100", readonly=True, kind="int"),
            Key("HeartbeatInterval", str(heartbeat_interval), kind="int", minimum=1),
            Key("LightIntensity", "100", kind="int", maximum=100),
            Key("LocalAuthorizeOffline", _b(True), kind="bool"),
            Key("LocalPreAuthorize", _b(False), kind="bool"),
            Key("MaxEnergyOnInvalidId", "0", kind="int"),
            Key(
                "MeterValuesAlignedData",
                "Energy.Active.Import.Register",
                kind="csl",
                max_items_key="MeterValuesAlignedDataMaxLength",
                choices=SAMPLEABLE_MEASURANDS,
            ),
            Key("MeterValuesAlignedDataMaxLength", str(csl_max), readonly=True, kind="int"),
            Key(
                "MeterValuesSampledData",
                DEFAULT_SAMPLED_DATA,
                kind="csl",
                max_items_key="MeterValuesSampledDataMaxLength",
                choices=SAMPLEABLE_MEASURANDS,
            ),
            Key("MeterValuesSampledDataMaxLength", str(csl_max), readonly=True, kind="int"),
            Key("MeterValueSampleInterval", str(meter_interval), kind="int"),
            Key("MinimumStatusDuration", "0", kind="int"),
            Key("NumberOfConnectors", str(connectors), readonly=True, kind="int"),
            Key("ResetRetries", "1", kind="int"),
            Key("StopTransactionOnEVSideDisconnect", _b(True), kind="bool"),
            Key("StopTransactionOnInvalidId", _b(True), kind="bool"),
            Key(
                "StopTxnAlignedData",
                "",
                kind="csl",
                max_items_key="StopTxnAlignedDataMaxLength",
                choices=SAMPLEABLE_MEASURANDS,
            ),
            Key("StopTxnAlignedDataMaxLength", str(csl_max), readonly=True, kind="int"),
            Key(
                "StopTxnSampledData",
                "Energy.Active.Import.Register",
                kind="csl",
                max_items_key="StopTxnSampledDataMaxLength",
                choices=SAMPLEABLE_MEASURANDS,
            ),
            Key("StopTxnSampledDataMaxLength", str(csl_max), readonly=True, kind="int"),
            Key("SupportedFeatureProfiles", FEATURE_PROFILES, readonly=True, kind="csl"),
            Key("SupportedFeatureProfilesMaxLength", "6", readonly=True, kind="int"),
            Key("TransactionMessageAttempts", "3", kind="int", minimum=1),
            Key("TransactionMessageRetryInterval", "10", kind="int"),
            Key("UnlockConnectorOnEVSideDisconnect", _b(True), kind="bool"),
            Key("WebSocketPingInterval", "0", kind="int"),
            # Local Auth List Management profile
            Key("LocalAuthListEnabled", _b(True), kind="bool"),
            Key("LocalAuthListMaxLength", str(max_local_list), readonly=True, kind="int"),
            Key("SendLocalListMaxLength", str(max_local_list), readonly=True, kind="int"),
            # Reservation profile
            Key("ReserveConnectorZeroSupported", _b(False), readonly=True, kind="bool"),
            # Smart Charging profile
            Key("ChargeProfileMaxStackLevel", "10", readonly=True, kind="int"),
            Key("ChargingScheduleAllowedChargingRateUnit", "Current,Power", readonly=True, kind="csl"),
            Key("ChargingScheduleMaxPeriods", "24", readonly=True, kind="int"),
            Key("ConnectorSwitch3to1PhaseSupported", _b(False), readonly=True, kind="bool"),
            Key("MaxChargingProfilesInstalled", "20", readonly=True, kind="int"),
            # Security extension (Improved security for OCPP 1.6-J)
            Key("AdditionalRootCertificateCheck", _b(False), readonly=True, kind="bool"),
            Key("AuthorizationKey", "", kind="str", write_only=True),
            Key("CertificateSignedMaxChainSize", "10000", readonly=True, kind="int"),
            Key("CertificateStoreMaxLength", "10", readonly=True, kind="int"),
            Key("CpoName", "", kind="str"),
            Key("SecurityProfile", "0", kind="int", maximum=3),
        ]
        self._keys = {key.name: key for key in keys}
        self._listeners: list[Callable[[str, str], None]] = []

    # -- reading ---------------------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self._keys

    def get(self, name: str) -> str:
        return self._keys[name].value

    def get_int(self, name: str) -> int:
        return int(self._keys[name].value)

    def get_bool(self, name: str) -> bool:
        return self._keys[name].value == "true"

    def get_list(self, name: str) -> list[str]:
        return [item.strip() for item in self._keys[name].value.split(",") if item.strip()]

    def describe(self, names: list[str] | None) -> tuple[list[dict[str, object]], list[str]]:
        """The GetConfiguration answer: (configurationKey, unknownKey)."""
        wanted = list(self._keys) if not names else names
        known: list[dict[str, object]] = []
        unknown: list[str] = []
        for name in wanted:
            key = self._keys.get(name)
            if key is None:
                unknown.append(name)
                continue
            entry: dict[str, object] = {"key": key.name, "readonly": key.readonly}
            if not key.write_only:
                entry["value"] = key.value
            known.append(entry)
        return known, unknown

    # -- writing ---------------------------------------------------------------------------

    def on_change(self, listener: Callable[[str, str], None]) -> None:
        self._listeners.append(listener)

    def change(self, name: str, value: str) -> str:
        """Apply a ChangeConfiguration; returns its OCPP status."""
        key = self._keys.get(name)
        if key is None:
            return "NotSupported"
        if key.readonly:
            return "Rejected"
        normalized = self._normalize(key, value)
        if normalized is None:
            return "Rejected"
        key.value = normalized
        for listener in self._listeners:
            listener(name, normalized)
        return "Accepted"

    def set(self, name: str, value: str) -> None:
        """Set a value from the station itself (read-only keys included), without validation."""
        self._keys[name].value = value

    def _normalize(self, key: Key, value: str) -> str | None:
        text = value.strip()
        if key.kind == "bool":
            lowered = text.lower()
            return lowered if lowered in ("true", "false") else None
        if key.kind == "int":
            try:
                number = int(text)
            except ValueError:
                return None
            if number < key.minimum or (key.maximum is not None and number > key.maximum):
                return None
            return str(number)
        if key.kind == "csl":
            items = [item.strip() for item in text.split(",") if item.strip()]
            if key.choices and any(item not in key.choices for item in items):
                return None
            if key.max_items_key and len(items) > self.get_int(key.max_items_key):
                return None
            return ",".join(items)
        return value
