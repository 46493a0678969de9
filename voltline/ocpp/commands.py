"""What the Central System asks of a charge point, and what it answers, in no version's spelling.

The services speak these; each OCPP version's outbound translators (`v16/outbound.py`, ...) turn
a request into its own message and the charge point's answer back into a result. A request names
the type of its result, so a send is typed end to end. Statuses keep OCPP's words (Accepted,
Rejected, Scheduled...), which 1.6 and 2.0.1 share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from voltline.ocpp.errors import ProtocolFailure


class Inexpressible(ProtocolFailure, ValueError):
    """A request the charge point's OCPP version has no message for, or no field it needs."""


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer with nothing but its status (None: the message has no status, as UpdateFirmware)."""

    status: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


@dataclass(frozen=True, slots=True)
class ConfigurationValue:
    key: str
    value: str | None
    readonly: bool


@dataclass(frozen=True, slots=True)
class ConfigurationRead(Answer):
    keys: tuple[ConfigurationValue, ...] = ()
    unknown_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalListVersionRead(Answer):
    version: int | None = None


@dataclass(frozen=True, slots=True)
class DiagnosticsUpload(Answer):
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class CertificateHash:
    """A certificate as OCSP names it (RFC 6960 CertID): hashes of its issuer's name and key, and
    its serial number in hex."""

    hash_algorithm: str  # SHA256 | SHA384 | SHA512
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str


@dataclass(frozen=True, slots=True)
class StartAnswer(Answer):
    """A remote start's answer; 2.0.1 names the transaction when the station had started it
    already (an EV plugged in and authorized before the request came)."""

    ocpp_transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class InstalledCertificateIds(Answer):
    certificates: tuple[CertificateHash, ...] = ()


@dataclass(frozen=True, slots=True)
class TransactionStatusRead(Answer):
    """What a charging station says of a transaction (2.0.1 GetTransactionStatus): whether it is
    still going on (None: not asked about one) and whether it still holds messages to deliver
    (of that transaction, or any)."""

    ongoing: bool | None = None
    messages_in_queue: bool = False


R = TypeVar("R", bound=Answer, covariant=True)


@dataclass(frozen=True, slots=True)
class Reply(Generic[R]):
    """A charge point's answer: the result, and the exchange as it went over the wire (kept in a
    charge point's history and returned verbatim by the generic command endpoint)."""

    result: R
    action: str  # the message's name in the connection's version
    request: Mapping[str, Any]
    answer: Mapping[str, Any]


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request(Generic[R]):
    """A request to a charge point whose answer reads as an `R`."""


@dataclass(frozen=True, slots=True)
class IdTagInfo:
    status: str
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    start_period: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    rate_unit: str  # A | W
    periods: tuple[SchedulePeriod, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None


@dataclass(frozen=True, slots=True)
class ChargingProfileSpec:
    """A charging profile as the Central System asks a charge point to install it."""

    charging_profile_id: int
    stack_level: int
    purpose: str  # ChargePointMaxProfile | TxDefaultProfile | TxProfile
    kind: str  # Absolute | Recurring | Relative
    schedule: ChargingSchedule
    recurrency_kind: str | None = None
    transaction_id: int | None = None  # Voltline's
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    ocpp_transaction_id: str | None = None  # the transaction as on the wire, which 2.0.1 names it by


@dataclass(frozen=True, slots=True)
class StartCharging(Request[StartAnswer]):
    id_tag: str
    connector_id: int | None = None  # 1.6; on 2.0.1 the EVSE of that number (connector N is EVSE N)
    charging_profile: ChargingProfileSpec | None = None
    evse_id: int | None = None  # 2.0.1: the EVSE to start on; None: connector_id's, or the station picks
    id_token_type: str | None = None  # 2.0.1's IdTokenEnumType of the id tag (None: Central)
    remote_start_id: int | None = None  # 2.0.1's remoteStartId: the remote start's own id


@dataclass(frozen=True, slots=True)
class StopCharging(Request[Answer]):
    transaction_id: int  # Voltline's
    ocpp_transaction_id: str | None = None  # as on the wire: what 2.0.1 names it by (None: str(id))


@dataclass(frozen=True, slots=True)
class Reset(Request[Answer]):
    # 1.6 says Hard / Soft, 2.0.1 Immediate / OnIdle; each version reads the other's words as
    # the nearest of its own (Hard ~ Immediate, Soft ~ OnIdle: the gentle one).
    kind: Literal["Hard", "Soft", "Immediate", "OnIdle"] = "Soft"
    evse_id: int | None = None  # 2.0.1: reset this EVSE only


@dataclass(frozen=True, slots=True)
class UnlockConnector(Request[Answer]):
    connector_id: int
    evse_id: int | None = None  # 2.0.1: connector_id of this EVSE; None: 1.6's numbering (EVSE N, connector 1)


@dataclass(frozen=True, slots=True)
class ChangeAvailability(Request[Answer]):
    connector_id: int  # 0: the whole charge point (or, with evse_id, the whole EVSE)
    availability: Literal["Operative", "Inoperative"]
    evse_id: int | None = None  # 2.0.1: this EVSE; None: 1.6's numbering (connector N is EVSE N)


@dataclass(frozen=True, slots=True)
class TriggerMessage(Request[Answer]):
    message: str  # what the charge point is asked to send, in OCPP's words (StatusNotification...)
    connector_id: int | None = None
    evse_id: int | None = None  # 2.0.1: about this EVSE (connector_id: of it); None: 1.6's numbering


@dataclass(frozen=True, slots=True)
class ReserveConnector(Request[Answer]):
    reservation_id: int
    connector_id: int  # 0: any connector
    id_tag: str
    expiry_date: datetime
    parent_id_tag: str | None = None
    id_token_type: str | None = None  # 2.0.1's IdTokenEnumType (None: Central)


@dataclass(frozen=True, slots=True)
class CancelReservation(Request[Answer]):
    reservation_id: int


@dataclass(frozen=True, slots=True)
class LocalListChange:
    id_tag: str
    info: IdTagInfo | None  # None: the id tag leaves the list (Differential)
    token_type: str | None = None  # 2.0.1's IdTokenEnumType (None: Central)


@dataclass(frozen=True, slots=True)
class SendLocalList(Request[Answer]):
    version: int
    update_type: Literal["Full", "Differential"]
    entries: tuple[LocalListChange, ...] = ()


@dataclass(frozen=True, slots=True)
class GetLocalListVersion(Request[LocalListVersionRead]):
    pass


@dataclass(frozen=True, slots=True)
class InstallChargingProfile(Request[Answer]):
    connector_id: int
    profile: ChargingProfileSpec


@dataclass(frozen=True, slots=True)
class ClearChargingProfiles(Request[Answer]):
    """Every condition given must hold for a profile to go; `profile_id` alone names one."""

    profile_id: int | None = None
    connector_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


@dataclass(frozen=True, slots=True)
class ReadConfiguration(Request[ConfigurationRead]):
    keys: tuple[str, ...] = ()  # none: the whole configuration


@dataclass(frozen=True, slots=True)
class ChangeConfiguration(Request[Answer]):
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class UpdateFirmware(Request[Answer]):
    location: str
    retrieve_date: datetime
    retries: int | None = None
    retry_interval: int | None = None
    request_id: int | None = None  # 2.0.1 numbers every update (its status notifications name it)


@dataclass(frozen=True, slots=True)
class UploadDiagnostics(Request[DiagnosticsUpload]):
    location: str
    start_time: datetime | None = None
    stop_time: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(frozen=True, slots=True)
class UploadLog(Request[Answer]):
    request_id: int
    log_type: str  # DiagnosticsLog | SecurityLog
    location: str
    oldest: datetime | None = None
    latest: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(frozen=True, slots=True)
class InstallSignedFirmware(Request[Answer]):
    request_id: int
    location: str
    retrieve_date: datetime
    signing_certificate: str
    signature: str
    install_date: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


# -- security (the 1.6 security extension; 2.0.1 has them in its core) ------------------------


@dataclass(frozen=True, slots=True)
class CertificateSigned(Request[Answer]):
    """A certificate Voltline's CA signed for the charge point, delivered with its chain (PEM)."""

    certificate_chain: str


@dataclass(frozen=True, slots=True)
class InstallCertificate(Request[Answer]):
    certificate_type: str  # CentralSystemRootCertificate | ManufacturerRootCertificate
    certificate: str  # PEM


@dataclass(frozen=True, slots=True)
class GetInstalledCertificateIds(Request[InstalledCertificateIds]):
    certificate_type: str


@dataclass(frozen=True, slots=True)
class DeleteCertificate(Request[Answer]):
    certificate: CertificateHash


@dataclass(frozen=True, slots=True)
class ExtendedTriggerMessage(Request[Answer]):
    """TriggerMessage with the security extension's messages (SignChargePointCertificate...)."""

    message: str
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReadTransactionStatus(Request[TransactionStatusRead]):
    """Ask about a transaction (its id as on the wire), or None: whether any messages are queued."""

    ocpp_transaction_id: str | None = None


# -- the device model (2.0.1: components, variables and their attributes) --------------------


@dataclass(frozen=True, slots=True)
class Component:
    """A part of a charging station as its device model names it (OCPP 2.0.1 Part 1 §4): the
    station itself, an EVSE, a connector, or a controller inside one."""

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None  # only with evse_id


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    instance: str | None = None


@dataclass(frozen=True, slots=True)
class VariableAddress:
    """One attribute of one variable of one component: what GetVariables reads and SetVariables writes."""

    component: Component
    variable: Variable
    attribute_type: str = "Actual"  # Actual | Target | MinSet | MaxSet


@dataclass(frozen=True, slots=True)
class ReportedAttribute:
    type: str = "Actual"
    value: str | None = None
    mutability: str = "ReadWrite"  # ReadOnly | WriteOnly | ReadWrite
    persistent: bool = False
    constant: bool = False


@dataclass(frozen=True, slots=True)
class VariableCharacteristics:
    data_type: str  # string | decimal | integer | dateTime | boolean | OptionList | SequenceList | MemberList
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None
    supports_monitoring: bool = False


@dataclass(frozen=True, slots=True)
class ReportedVariable:
    """One entry of a NotifyReport: a variable with its attributes and what kind of values it takes."""

    component: Component
    variable: Variable
    attributes: tuple[ReportedAttribute, ...]
    characteristics: VariableCharacteristics | None = None


@dataclass(frozen=True, slots=True)
class VariableRead:
    address: VariableAddress
    status: str  # Accepted | Rejected | UnknownComponent | UnknownVariable | NotSupportedAttributeType
    value: str | None = None
    reason: str | None = None  # attributeStatusInfo.reasonCode


@dataclass(frozen=True, slots=True)
class VariablesRead(Answer):
    results: tuple[VariableRead, ...] = ()


@dataclass(frozen=True, slots=True)
class VariableSet:
    address: VariableAddress
    status: str  # Accepted | Rejected | UnknownComponent | UnknownVariable | NotSupportedAttributeType | RebootRequired
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class VariablesChanged(Answer):
    results: tuple[VariableSet, ...] = ()


@dataclass(frozen=True, slots=True)
class VariableChange:
    address: VariableAddress
    value: str


@dataclass(frozen=True, slots=True)
class ReadVariables(Request[VariablesRead]):
    variables: tuple[VariableAddress, ...]


@dataclass(frozen=True, slots=True)
class ChangeVariables(Request[VariablesChanged]):
    changes: tuple[VariableChange, ...]


@dataclass(frozen=True, slots=True)
class RequestBaseReport(Request[Answer]):
    """GetBaseReport: the station reports a predefined part of its device model in NotifyReports
    carrying `request_id`."""

    request_id: int
    report_base: str  # ConfigurationInventory | FullInventory | SummaryInventory


@dataclass(frozen=True, slots=True)
class ReportedComponentVariable:
    component: Component
    variable: Variable | None = None  # None: every variable of the component


@dataclass(frozen=True, slots=True)
class RequestReport(Request[Answer]):
    """GetReport: the station reports what matches the filters (none: everything) in NotifyReports."""

    request_id: int
    component_variables: tuple[ReportedComponentVariable, ...] = ()
    component_criteria: tuple[str, ...] = ()  # Active | Available | Enabled | Problem
