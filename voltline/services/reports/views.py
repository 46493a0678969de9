"""What the reports answer: plain data, the same for the API (JSON, CSV) and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

INTERVALS = ("hour", "day", "week", "month")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATUS_CLASSES = ("charging", "occupied", "available", "unavailable", "faulted", "unknown")


@dataclass(slots=True, frozen=True)
class ReportFilter:
    """[start, end) in UTC; `tz` decides day boundaries and hours of day. Empty tuples: no filter."""

    start: datetime
    end: datetime
    tz: ZoneInfo
    charge_point_ids: tuple[str, ...] = ()
    id_tags: tuple[str, ...] = ()
    parent_id_tag: str | None = None
    ocpp_version: str | None = None


@dataclass(slots=True)
class EnergyPeriod:
    period_start: datetime
    energy_wh: float


@dataclass(slots=True)
class EnergyReport:
    interval: str
    total_energy_wh: float
    flagged_transactions: int
    items: list[EnergyPeriod]


@dataclass(slots=True)
class ChargePointEnergy:
    charge_point_id: str
    energy_wh: float
    sessions: int


@dataclass(slots=True)
class EnergyByChargePoint:
    total_energy_wh: float
    items: list[ChargePointEnergy]


@dataclass(slots=True)
class IdTagEnergy:
    id_tag: str
    parent_id_tag: str | None
    energy_wh: float
    sessions: int


@dataclass(slots=True)
class ParentIdTagEnergy:
    parent_id_tag: str | None
    energy_wh: float
    sessions: int
    id_tags: int


@dataclass(slots=True)
class EnergyByIdTag:
    group: str
    total_energy_wh: float
    items: list[IdTagEnergy] | list[ParentIdTagEnergy]


@dataclass(slots=True)
class Summary:
    total: float
    mean: float


@dataclass(slots=True)
class IdleSummary:
    total: float
    mean: float
    sessions: int


@dataclass(slots=True)
class Bucket:
    lower: int
    upper: int | None
    count: int


@dataclass(slots=True)
class HourCount:
    hour: int
    count: int


@dataclass(slots=True)
class DayCount:
    day: int
    name: str
    count: int


@dataclass(slots=True)
class SessionsReport:
    count: int
    flagged: int
    duration_s: Summary
    energy_wh: Summary
    idle_s: IdleSummary
    energy_distribution: list[Bucket]
    duration_distribution: list[Bucket]
    by_hour_of_day: list[HourCount]
    by_day_of_week: list[DayCount]


@dataclass(slots=True)
class Utilisation:
    charge_point_id: str
    connector_id: int | None
    seconds: dict[str, float]
    shares: dict[str, float]
    evse_id: int | None = None  # the connector's EVSE on 2.0.1 (null on 1.6, as for connectors)


@dataclass(slots=True)
class UtilisationReport:
    group: str
    totals: dict[str, float]
    items: list[Utilisation]


@dataclass(slots=True)
class Reliability:
    charge_point_id: str
    connected_s: float
    offline_s: float
    connected_share: float
    reconnects: int
    faults: int
    faults_by_error_code: dict[str, int]
    failed_starts: dict[str, int]
    fault_rate_per_day: float
    reconnect_rate_per_day: float
    baseline_fault_rate_per_day: float | None
    baseline_reconnect_rate_per_day: float | None
    flagged: bool
    flag_reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReliabilityReport:
    baseline_days: int
    items: list[Reliability]


@dataclass(slots=True)
class PeakPeriod:
    period_start: datetime
    peak_power_w: float


@dataclass(slots=True)
class ChargePointPeak:
    charge_point_id: str
    peak_power_w: float
    peak_at: datetime


@dataclass(slots=True)
class PeakPowerReport:
    interval: str
    network_peak_w: float
    network_peak_at: datetime | None
    items: list[PeakPeriod]
    by_charge_point: list[ChargePointPeak]
