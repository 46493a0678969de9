"""TransactionEvent and MeterValues of a 2.0.1 charge point, and GetTransactionStatus (block E).

The transaction rules (ordering by seqNo, repeats, offline events, energy, authorization, remote
start and reservation links) are the services'; this module reads the 2.0.1 fields and writes
the 2.0.1 answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.context import Context
from voltline.ocpp.v201.tokens import id_token_info, read_id_token

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
    return {"idTokenInfo": id_token_info(verdict)} if verdict is not None else {}


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
