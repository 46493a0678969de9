"""Request and response bodies of the REST API: snake_case, UTC timestamps, energy in Wh, power in W."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AliasGenerator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from voltline.ocpp import commands
from voltline.ocpp import identity as identity_rule
from voltline.services.authorization.tokens import DEFAULT_TOKEN_TYPE, TOKEN_TYPES

T = TypeVar("T")

INT32_MAX = 2**31 - 1
# No control characters (a NUL cannot be stored in PostgreSQL text, the others never mean well).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the timestamp is out of range") from None


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
Identity = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/]+$")]
# A new charge point's identity follows OCPP's rule (voltline.ocpp.identity); `Identity` still
# names the charge points registered before the rule, whatever their ids.
NewIdentity = Annotated[
    str, StringConstraints(min_length=1, max_length=identity_rule.MAX_LENGTH, pattern=identity_rule.PATTERN)
]
IdTagStr = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=PRINTABLE)]
Int32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
ConnectorId = Annotated[int, Field(ge=0, le=INT32_MAX)]


Description = Annotated[str, StringConstraints(max_length=255, pattern=PRINTABLE)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=PRINTABLE)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    items: list[T]
    total: int = Field(description="how many match, on every page")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        None, description="where the lists that page by cursor go on: pass it as `after` (null at the end)"
    )


# -- charge points --------------------------------------------------------------------------------

RegistrationStatus = Literal["Accepted", "Pending", "Rejected"]


class ConnectorOut(Out):
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    status_at: datetime | None
    transaction_id: int | None = Field(None, description="the active transaction on this connector")
    energy_wh: float | None = Field(None, description="the meter register of the active transaction, Wh")
    power_w: float | None = Field(None, description="the latest reported power, W")
    soc: float | None = Field(None, description="the vehicle's state of charge, %")
    evse_id: int | None = Field(None, description="the EVSE the connector belongs to (OCPP 2.0.1); null on 1.6")


class ChargePointOut(Out):
    id: str
    description: str | None
    connected: bool
    registration_status: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    charge_box_serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    ocpp_version: str | None
    has_password: bool
    security_profile: int = Field(description="OCPP security profile 0-3: what its connections must prove")
    ping_interval: float | None
    lenient_actions: list[str]
    last_heartbeat_at: datetime | None
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    remote_address: str | None
    firmware_status: str | None
    firmware_status_at: datetime | None
    diagnostics_status: str | None
    diagnostics_status_at: datetime | None
    local_list_version: int | None
    created_at: datetime
    updated_at: datetime
    connectors: list[ConnectorOut]
    log_status: str | None = Field(None, description="the latest LogStatusNotification")
    log_status_at: datetime | None = None
    heartbeat_interval: int | None = Field(None, description="seconds: the interval its last boot was answered with")


SecurityProfile = Annotated[int, Field(ge=0, le=3)]
OcppAction = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]


class ChargePointIn(Model):
    id: NewIdentity = Field(description="the identity the charge point connects with: A-Z a-z 0-9 - . _ ~, at most 48")
    password: Password | None = Field(None, description="HTTP Basic password the charge point must present")
    description: Description | None = None
    registration_status: RegistrationStatus = "Accepted"
    security_profile: SecurityProfile | None = Field(
        None, description="0 none, 1 HTTP Basic, 2 TLS + Basic, 3 TLS client certificate; default: the server's setting"
    )
    ping_interval: float | None = Field(None, ge=0, le=86_400, description="seconds; 0 switches pings off")
    lenient_actions: list[OcppAction] = Field(
        default_factory=list, max_length=64, description="actions whose schema violations are logged, not refused"
    )


class ChargePointPatch(Model):
    password: Password | None = Field(None, description="null removes the password")
    description: Description | None = None
    registration_status: RegistrationStatus | None = None
    security_profile: SecurityProfile | None = None
    ping_interval: float | None = Field(None, ge=0, le=86_400)
    lenient_actions: list[OcppAction] | None = Field(None, max_length=64)


class ConfigurationKeyOut(Out):
    key: str
    value: str | None
    readonly: bool
    updated_at: datetime


class LocalListEntryOut(Out):
    id_tag: str
    status: str
    expiry_date: datetime | None
    parent_id_tag: str | None


class LocalListOut(Out):
    charge_point_id: str
    version: int | None
    entries: list[LocalListEntryOut]


class ChargePointEventOut(Out):
    id: int
    charge_point_id: str
    kind: str = Field(description="firmware, diagnostics, log, signed_firmware, security")
    status: str | None
    request_id: int | None
    timestamp: datetime
    detail: Any


# -- id tags --------------------------------------------------------------------------------------

IdTagStatus = Literal["Accepted", "Blocked", "Expired", "Invalid"]


MaxActiveTransactions = Annotated[
    int,
    Field(
        ge=0,
        le=INT32_MAX,
        description="how many transactions the tag may have active at once (more: ConcurrentTx); 0 = no limit",
    ),
]


TokenType = Literal[TOKEN_TYPES]  # type: ignore[valid-type]
"""OCPP 2.0.1's IdTokenEnumType, as voltline.services.authorization.tokens lists it."""


class IdTagIn(Model):
    id_tag: IdTagStr
    status: IdTagStatus = "Accepted"
    expiry_date: UtcDateTime | None = None
    parent_id_tag: IdTagStr | None = None
    description: Description | None = None
    max_active_transactions: MaxActiveTransactions = 1
    token_type: TokenType = Field(DEFAULT_TOKEN_TYPE, description="the kind of token (OCPP 2.0.1 IdTokenEnumType)")


class IdTagPatch(Model):
    status: IdTagStatus | None = None
    expiry_date: UtcDateTime | None = None
    parent_id_tag: IdTagStr | None = None
    description: Description | None = None
    max_active_transactions: MaxActiveTransactions | None = None
    token_type: TokenType | None = None


class IdTagOut(Out):
    id_tag: str
    status: str
    expiry_date: datetime | None
    parent_id_tag: str | None
    description: str | None
    max_active_transactions: int
    created_at: datetime
    updated_at: datetime
    token_type: str = Field(description="the kind of token (OCPP 2.0.1 IdTokenEnumType)")


# -- transactions and meter values ----------------------------------------------------------------


class TransactionOut(Out):
    id: int = Field(description="the OCPP transactionId")
    charge_point_id: str
    connector_id: int
    id_tag: str
    id_tag_status: str
    reservation_id: int | None
    meter_start: int = Field(description="Wh")
    meter_stop: int | None = Field(description="Wh")
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: float = Field(description="meter_stop − meter_start; while active, the latest register − meter_start")
    duration_s: int
    stop_reason: str | None
    stop_id_tag: str | None
    status: Literal["Active", "Stopped"]
    stop_note: str | None = Field(
        None, description="set when Voltline closed the transaction itself (its StopTransaction never came), saying why"
    )
    ocpp_transaction_id: str | None = Field(None, description="the transactionId as on the wire; on OCPP 1.6 str(id)")
    evse_id: int | None = Field(None, description="the EVSE (OCPP 2.0.1); null on 1.6")
    id_token_type: str | None = Field(None, description="the type of the id token that started it (IdTokenEnumType)")
    remote_start_id: int | None = Field(None, description="the remote start that led to it, if one did")


class TransactionCloseIn(Model):
    """Ending a session without its charge point: what is known of how it ended."""

    meter_stop: Int32 | None = Field(
        None, description="Wh; default: the last Energy.Active.Import.Register reading, else meter_start"
    )
    reason: Annotated[str, StringConstraints(max_length=160, pattern=PRINTABLE)] | None = Field(
        None, description="why, in the operator's words (kept in stop_note)"
    )
    stopped_at: UtcDateTime | None = Field(None, description="default: now")


class SignedMeterValueOut(Out):
    signed_meter_data: str = Field(description="exactly as the charge point sent it")
    signing_method: str | None = Field(None, description="OCPP 2.0.1; null on 1.6 (the data names its own)")
    encoding_method: str | None = None
    public_key: str | None = None


class SampleOut(Out):
    timestamp: datetime
    value: float | None = Field(description="normalized (Wh, W, …) when numeric; null for signed data")
    measurand: str
    unit: str | None
    phase: str | None
    context: str
    location: str
    format: str
    raw_value: str
    raw_unit: str | None
    signed_meter_value: SignedMeterValueOut | None = Field(None, description="signed meter data, verbatim")


class TransactionDetailOut(TransactionOut):
    meter_values: list[SampleOut]


class MeterValueOut(SampleOut):
    id: int
    charge_point_id: str
    connector_id: int
    transaction_id: int | None


class MessageOut(Out):
    id: int
    charge_point_id: str
    direction: Literal["in", "out"] = Field(description="in: from the charge point; out: to it")
    message_type: int = Field(description="2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unreadable")
    message_id: str | None
    action: str | None
    error_code: str | None
    payload: str = Field(description="the frame exactly as it crossed the wire")
    created_at: datetime


# -- smart charging -------------------------------------------------------------------------------


class _Ocpp(Model):
    """Written in snake_case here, sent in OCPP's camelCase."""

    model_config = ConfigDict(extra="forbid", alias_generator=AliasGenerator(serialization_alias=to_camel))

    def to_ocpp(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ChargingSchedulePeriodIn(_Ocpp):
    start_period: Int32 = Field(description="seconds from the start of the schedule")
    limit: float = Field(ge=0, le=1_000_000, description="A or W, per charging_rate_unit; one decimal")
    number_phases: int | None = Field(None, ge=1, le=3)


class ChargingScheduleIn(_Ocpp):
    duration: Int32 | None = None
    start_schedule: UtcDateTime | None = None
    charging_rate_unit: Literal["A", "W"]
    charging_schedule_period: list[ChargingSchedulePeriodIn] = Field(min_length=1, max_length=100)
    min_charging_rate: float | None = Field(None, ge=0, le=1_000_000)


class ChargingProfileSpec(_Ocpp):
    charging_profile_id: Int32
    stack_level: Int32
    charging_profile_purpose: Literal["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]
    charging_profile_kind: Literal["Absolute", "Recurring", "Relative"]
    recurrency_kind: Literal["Daily", "Weekly"] | None = None
    transaction_id: Int32 | None = None
    valid_from: UtcDateTime | None = None
    valid_to: UtcDateTime | None = None
    charging_schedule: ChargingScheduleIn

    def to_domain(self) -> commands.ChargingProfileSpec:
        s = self.charging_schedule
        schedule = commands.ChargingSchedule(
            s.charging_rate_unit,
            tuple(commands.SchedulePeriod(p.start_period, p.limit, p.number_phases) for p in s.charging_schedule_period),
            s.duration, s.start_schedule, s.min_charging_rate,
        )
        return commands.ChargingProfileSpec(
            self.charging_profile_id, self.stack_level, self.charging_profile_purpose, self.charging_profile_kind,
            schedule, self.recurrency_kind, self.transaction_id, self.valid_from, self.valid_to,
        )


class ChargingProfileIn(Model):
    charge_point_id: Identity
    connector_id: ConnectorId = Field(description="0: the whole charge point")
    charging_profile: ChargingProfileSpec


class ChargingProfileOut(Out):
    id: int = Field(description="Voltline's id of the stored profile")
    charge_point_id: str
    connector_id: int
    charging_profile_id: int = Field(description="the OCPP chargingProfileId")
    stack_level: int
    purpose: str
    kind: str
    recurrency_kind: str | None
    transaction_id: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    charging_schedule: dict[str, Any]
    status: str = Field(description="Active, Replaced or Cleared")
    created_at: datetime
    updated_at: datetime


class ChargingProfileResult(Out):
    status: str = Field(description="the charge point's answer")
    charging_profile: ChargingProfileOut | None


# -- reservations ---------------------------------------------------------------------------------


class ReservationIn(Model):
    charge_point_id: Identity
    connector_id: ConnectorId = Field(description="0: any connector")
    id_tag: IdTagStr
    expiry_date: UtcDateTime
    parent_id_tag: IdTagStr | None = None


class ReservationOut(Out):
    id: int = Field(description="the OCPP reservationId")
    charge_point_id: str
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry_date: datetime
    status: str = Field(description="Reserved, Used, Expired, Cancelled, or the charge point's refusal")
    transaction_id: int | None
    created_at: datetime
    updated_at: datetime


class ReservationResult(Out):
    status: str = Field(description="the charge point's answer")
    reservation: ReservationOut


# -- commands -------------------------------------------------------------------------------------


class RemoteStartIn(Model):
    id_tag: IdTagStr
    connector_id: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = Field(
        None, description="omitted: a free connector is picked, or the charge point picks one"
    )
    charging_profile: ChargingProfileSpec | None = Field(None, description="a TxProfile for the session")
    check_tag: bool = Field(True, description="refuse (400) when the id tag is not Accepted right now")
    wait: bool = Field(False, description="answer once the transaction has started (or wait_timeout ran out)")
    wait_timeout: float = Field(30.0, gt=0, le=300)


class RemoteStartOut(Out):
    id: int
    charge_point_id: str
    connector_id: int | None
    id_tag: str
    status: str = Field(description="Requested, Accepted, Started, Rejected or Failed")
    transaction_id: int | None
    requested_at: datetime


class RemoteStartResult(Out):
    status: str = Field(description="the charge point's answer: Accepted or Rejected")
    transaction_id: int | None = Field(description="set once the charge point started the transaction")
    remote_start: RemoteStartOut


class RemoteStopIn(Model):
    transaction_id: Int32


class ResetIn(Model):
    type: Literal["Hard", "Soft"] = "Soft"


class StatusOut(Out):
    status: str = Field(description="the charge point's answer")


class LocalListSyncIn(Model):
    update_type: Literal["Full", "Differential"] = "Full"


class LocalListSyncOut(Out):
    status: str = Field(description="the charge point's answer")
    list_version: int
    update_type: str
    entries: int = Field(description="how many entries were sent")


def snake_keys(value: Any) -> Any:
    """OCPP's camelCase keys, recursively, in the API's snake_case."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): snake_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


# -- certificates ---------------------------------------------------------------------------------

CertificateStateName = Literal["Valid", "Expired", "Revoked"]
Serial = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^(0[xX])?[0-9A-Fa-f:]+$")]


class IssuedCertificateOut(Out):
    serial: str = Field(description="the X.509 serial number, lower-case hex")
    charge_point_id: str
    subject: str = Field(description="RFC 4514, e.g. CN=CP-1")
    not_before: datetime
    not_after: datetime
    state: CertificateStateName
    delivery_status: str = Field(description="the charge point's answer to CertificateSigned: Pending, Accepted, "
                                 "Rejected, or Failed (not delivered)")
    issued_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    renewal_requested_at: datetime | None


class IssuedCertificateDetail(IssuedCertificateOut):
    pem: str


class RevokeIn(Model):
    reason: Description | None = None


class PasswordRotationIn(Model):
    password: str | None = Field(
        None, description="16 to 40 characters of letters, digits and *-_=:+|@.; left out, Voltline generates one"
    )


class PasswordRotationOut(Out):
    status: str = Field(description="the charge point's answer to ChangeConfiguration AuthorizationKey")
    switched: bool = Field(description="Voltline now expects the new password (only after Accepted)")
    password: str | None = Field(description="the generated password once switched to, shown this once; else null")


class SecurityProfileIn(Model):
    security_profile: Literal[1, 2, 3]


class SecurityProfileOut(Out):
    status: str = Field(description="the charge point's answer to ChangeConfiguration SecurityProfile")
    security_profile: int


class InstalledCertificateOut(Out):
    certificate_type: str
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str
    pem: str | None
    updated_at: datetime
