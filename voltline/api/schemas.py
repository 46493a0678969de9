"""Request and response bodies of the REST API: snake_case, UTC timestamps, energy in Wh, power in W."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from voltline.ocpp import commands
from voltline.ocpp import identity as identity_rule
from voltline.services.authorization.tokens import DEFAULT_TOKEN_TYPE, ID_TOKEN_LENGTH, TOKEN_TYPES
from voltline.services.authorization.views import IdTag
from voltline.services.configuration.views import ConfigurationKey
from voltline.services.firmware.views import ChargePointEvent, CustomerInformation
from voltline.services.local_list.views import LocalList, LocalListEntry
from voltline.services.remote_control.views import RemoteStart
from voltline.services.message_log.views import MessageView
from voltline.services.provisioning.views import ChargePointView, ConnectorView
from voltline.services.reservations.views import Reservation
from voltline.services.security.installed_certificates import InstalledCertificate
from voltline.services.smart_charging.views import ChargingProfile
from voltline.services.transactions.views import MeterValueView, SampleView, TransactionView

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
# Up to 2.0.1's idToken (36); what a 1.6 charge point is sent is held to its 20 (v16/outbound).
IdTagStr = Annotated[str, StringConstraints(min_length=1, max_length=ID_TOKEN_LENGTH, pattern=PRINTABLE)]
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


class ConnectorOut(ConnectorView):
    pass


class ChargePointOut(ChargePointView):
    connectors: list[ConnectorOut]  # the same fields, under the API's name for them


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


class ConfigurationKeyOut(ConfigurationKey):
    pass


class LocalListEntryOut(LocalListEntry):
    pass


class LocalListOut(LocalList):
    entries: list[LocalListEntryOut]  # the same fields, under the API's name for them


class ChargePointEventOut(ChargePointEvent):
    pass


class CustomerInformationOut(CustomerInformation):
    pass


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


class IdTagOut(IdTag):
    pass


# -- transactions and meter values ----------------------------------------------------------------


class TransactionOut(TransactionView):
    pass


class TransactionCloseIn(Model):
    """Ending a session without its charge point: what is known of how it ended."""

    meter_stop: Int32 | None = Field(
        None, description="Wh; default: the last Energy.Active.Import.Register reading, else meter_start"
    )
    reason: Annotated[str, StringConstraints(max_length=160, pattern=PRINTABLE)] | None = Field(
        None, description="why, in the operator's words (kept in stop_note)"
    )
    stopped_at: UtcDateTime | None = Field(None, description="default: now")


class SampleOut(SampleView):
    pass


class TransactionDetailOut(TransactionOut):
    meter_values: list[SampleOut]
    missing_seq_nos: list[int] = Field(
        default_factory=list,
        description="OCPP 2.0.1: the seqNos of its TransactionEvents not received (yet) below the highest received",
    )


class TransactionStatusOut(Out):
    """What the charging station says of a transaction (OCPP 2.0.1 GetTransactionStatus)."""

    transaction_id: int
    ocpp_transaction_id: str
    charge_point_id: str
    ongoing_indicator: bool | None = Field(description="the station's ongoingIndicator: still going on")
    messages_in_queue: bool = Field(description="the station's messagesInQueue: it holds messages of it to deliver")
    stopped: bool = Field(description="as stored: its Ended has been received (or Voltline closed it)")
    closed: bool = Field(
        description="not going on and nothing of it queued at the station: what is stored is final. "
        "An Ended still queued at the station is not a closed transaction, even if stored as stopped"
    )


class MeterValueOut(MeterValueView):
    pass


class MessageOut(MessageView):
    pass


# -- smart charging -------------------------------------------------------------------------------


class _Ocpp(Model):
    """A profile's parts in snake_case, read into the domain's profile (`to_domain`); the charge
    point's version writes it on the wire."""


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


class ChargingProfileOut(ChargingProfile):
    pass


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


class ReservationOut(Reservation):
    pass


class ReservationResult(Out):
    status: str = Field(description="the charge point's answer")
    reservation: ReservationOut


# -- commands -------------------------------------------------------------------------------------


class RemoteStartIn(Model):
    id_tag: IdTagStr
    connector_id: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = Field(
        None, description="omitted: a free connector is picked, or the charge point picks one; "
        "on OCPP 2.0.1 connector N is EVSE N unless evse_id is given"
    )
    evse_id: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = Field(
        None, description="OCPP 2.0.1: the EVSE to start on"
    )
    charging_profile: ChargingProfileSpec | None = Field(None, description="a TxProfile for the session")
    check_tag: bool = Field(True, description="refuse (400) when the id tag is not Accepted right now")
    wait: bool = Field(False, description="answer once the transaction has started (or wait_timeout ran out)")
    wait_timeout: float = Field(30.0, gt=0, le=300)


class RemoteStartOut(RemoteStart):
    pass


class RemoteStartResult(Out):
    status: str = Field(description="the charge point's answer: Accepted or Rejected")
    transaction_id: int | None = Field(description="set once the charge point started the transaction")
    remote_start: RemoteStartOut


class RemoteStopIn(Model):
    transaction_id: Int32


class ResetIn(Model):
    type: Literal["Hard", "Soft", "Immediate", "OnIdle"] = Field(
        "Soft", description="1.6: Hard or Soft; 2.0.1: Immediate or OnIdle (each version takes the "
        "other's words as its nearest: Hard is Immediate, Soft is OnIdle)"
    )
    evse_id: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = Field(None, description="OCPP 2.0.1: reset this EVSE only")


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


class InstalledCertificateOut(InstalledCertificate):
    pass
