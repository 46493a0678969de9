"""TransactionEvent and MeterValues of a 2.0.1 charge point, and GetTransactionStatus (block E).

The transaction rules (ordering by seqNo, repeats, offline events, energy, authorization, remote
start and reservation links) are the services'; this module reads the 2.0.1 fields and writes
the 2.0.1 answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from voltline.ocpp import commands as c
from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.context import Context
from voltline.ocpp.v201.tokens import IdTokenVerdict, id_token_info, read_id_token

# 2.0.1 tells an unknown token apart from an invalid one (IdTokenInfo status Unknown); a verdict
# on a token the system has no record of (no type registered) is that.
UNKNOWN, INVALID = "Unknown", "Invalid"


class TokenVerdict(IdTokenVerdict, Protocol):
    @property
    def token_type(self) -> str | None: ...


class EventApplied(Protocol):
    @property
    def id_tag_info(self) -> TokenVerdict | None: ...


class Transactions(Protocol):
    async def transaction_event(
        self, identity: str, *, event_type: str, timestamp: datetime, trigger_reason: str, seq_no: int,
        ocpp_transaction_id: str, offline: bool = False, charging_state: str | None = None,
        stopped_reason: str | None = None, id_token: str | None = None, token_type: str | None = None,
        evse_id: int | None = None, connector_id: int | None = None, meter_value: list[dict[str, Any]] = ...,
        remote_start_id: int | None = None, reservation_id: int | None = None,
    ) -> EventApplied: ...

    async def meter_values(
        self, identity: str, connector_id: int, transaction_id: int | None, meter_value: list[dict[str, Any]]
    ) -> None: ...


class _StatusOf:
    """A verdict as 2.0.1 says it: Unknown for a token without a record."""

    __slots__ = ("_verdict",)

    def __init__(self, verdict: TokenVerdict) -> None:
        self._verdict = verdict

    @property
    def status(self) -> str:
        status = self._verdict.status
        return UNKNOWN if status == INVALID and self._verdict.token_type is None else status

    @property
    def expiry_date(self) -> datetime | None:
        return self._verdict.expiry_date

    @property
    def parent_id_tag(self) -> str | None:
        return self._verdict.parent_id_tag


async def transaction_event(ctx: Context, p: Payload) -> Payload:
    info = p["transactionInfo"]
    evse = p.get("evse") or {}
    token, token_type = read_id_token(p["idToken"]) if "idToken" in p else (None, None)
    applied = await ctx.services.transactions.transaction_event(
        ctx.identity,
        event_type=p["eventType"],
        timestamp=timestamps.parse(p["timestamp"]),
        trigger_reason=p["triggerReason"],
        seq_no=p["seqNo"],
        ocpp_transaction_id=info["transactionId"],
        offline=p.get("offline", False),
        charging_state=info.get("chargingState"),
        stopped_reason=info.get("stoppedReason"),
        id_token=token,
        token_type=token_type,
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        meter_value=p.get("meterValue") or [],
        remote_start_id=info.get("remoteStartId"),
        reservation_id=p.get("reservationId"),
    )
    # idTokenInfo whenever the event named a token (E01.FR.xx); no totalCost nor chargingPriority:
    # Voltline computes neither, and claims nothing it does not.
    verdict = applied.id_tag_info
    return {"idTokenInfo": id_token_info(_StatusOf(verdict))} if verdict is not None else {}


async def meter_values(ctx: Context, p: Payload) -> Payload:
    # 2.0.1 sends a transaction's readings in its TransactionEvents; MeterValues carries the
    # others (EVSE 0: the main meter), linked to no transaction. An EVSE is stored where 1.6's
    # connector number goes (1.6 connector N is EVSE N).
    await ctx.services.transactions.meter_values(ctx.identity, p["evseId"], None, p["meterValue"])
    return {}


def _transaction_status(request: c.ReadTransactionStatus) -> Payload:
    return {} if request.ocpp_transaction_id is None else {"transactionId": request.ocpp_transaction_id}


def _transaction_status_read(answer: Mapping[str, Any]) -> c.TransactionStatusRead:
    return c.TransactionStatusRead(None, answer.get("ongoingIndicator"), bool(answer["messagesInQueue"]))


def _read_transaction_status(p: Payload) -> c.Request[Any]:
    return c.ReadTransactionStatus(p.get("transactionId"))


HANDLERS: dict[str, Handler201] = {"TransactionEvent": transaction_event, "MeterValues": meter_values}
ENCODERS: Encoders = {c.ReadTransactionStatus: ("GetTransactionStatus", _transaction_status)}
READERS: Readers = {"GetTransactionStatus": _read_transaction_status}
ANSWERS: Answers = {"GetTransactionStatus": _transaction_status_read}
