"""Transactions: filtered lists, the detail with its meter values, a CSV export, and closing a
session its charge point no longer has."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from voltline.api.auth import require_token
from voltline.api.deps import After, IntPath, IntQuery, Limit, Offset, ServicesDep, TextQuery, TimeQuery, Timeout, page_out
from voltline.api.openapi import answers, calls_charge_point, conflict, invalid, unknown
from voltline.api.schemas import (
    PRINTABLE, Page, TransactionCloseIn, TransactionDetailOut, TransactionOut, TransactionStatusOut,
)
from voltline.services.security.api_tokens import ApiToken
from voltline.services.transactions.csv_export import csv_lines, lines
from voltline.services.transactions.views import EXPORT_RATE, TransactionFilter

router = APIRouter(prefix="/transactions", tags=["transactions"])


async def _filters(
    charge_point_id: TextQuery = None,
    connector_id: IntQuery = None,
    id_tag: TextQuery = None,
    active: Annotated[bool | None, Query(description="true: still charging; false: stopped")] = None,
    started_from: Annotated[TimeQuery, Query(description="started at or after")] = None,
    started_to: Annotated[TimeQuery, Query(description="started before")] = None,
    ocpp_transaction_id: Annotated[
        str | None,
        Query(max_length=36, pattern=PRINTABLE, description="the transactionId as on the wire (on OCPP 1.6: the id)"),
    ] = None,
) -> TransactionFilter:
    return TransactionFilter(
        charge_point_id, connector_id, id_tag, active, started_from, started_to, ocpp_transaction_id
    )


Filters = Annotated[TransactionFilter, Depends(_filters)]


@router.get("", summary="List transactions, newest first")
async def list_transactions(
    services: ServicesDep, filters: Filters, limit: Limit = 50, offset: Offset = 0, after: After = None
) -> Page[TransactionOut]:
    page = await services.views.transactions.transactions(filters, limit=limit, offset=offset, after=after)
    return Page[TransactionOut].model_validate(page_out(page))


@router.get(
    "/export.csv",
    summary="Export transactions as CSV",
    response_class=StreamingResponse,
    description=f"Streamed at {EXPORT_RATE:,} transactions a second at most, so that an export of a big network"
    " leaves the charge points their share of the server.",
    responses={200: {"content": {"text/csv": {}}, "description": "one line per transaction, oldest first"}},
)
async def export_transactions(services: ServicesDep, filters: Filters) -> StreamingResponse:
    # The same writer as the dashboard's export: the same columns, words and times.
    return StreamingResponse(
        csv_lines(services.views.transactions.stream(filters, lines)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
    )


@router.get(
    "/{transaction_id}",
    summary="A transaction with its meter values, energy, duration and stop reason",
    responses=answers(unknown("transaction")),
)
async def get_transaction(transaction_id: IntPath, services: ServicesDep) -> TransactionDetailOut:
    views = services.views.transactions
    transaction = await views.transaction(transaction_id)
    samples = await views.samples(transaction_id)
    missing = await views.missing_seq_nos(transaction_id)
    return TransactionDetailOut.model_validate(
        {**transaction.model_dump(), "meter_values": samples, "missing_seq_nos": missing}
    )


@router.get(
    "/{transaction_id}/status",
    summary="Ask the charging station whether the transaction is over (OCPP 2.0.1 GetTransactionStatus)",
    description=(
        "Sends GetTransactionStatus with the transaction's `ocpp_transaction_id`. `closed` is true only when "
        "the station says it is not going on and holds no message of it: an Ended still in its queue is not "
        "a closed transaction. 400 for a transaction of an OCPP 1.6 charge point (1.6 has no such message)."
    ),
    responses=calls_charge_point(unknown("transaction"), invalid("the transaction is of an OCPP 1.6 charge point")),
)
async def transaction_status(
    transaction_id: IntPath, services: ServicesDep, timeout: Timeout = None
) -> TransactionStatusOut:
    status = await services.transaction_status.ask(transaction_id, timeout)
    return TransactionStatusOut.model_validate(status)


@router.post(
    "/{transaction_id}/close",
    summary="End a session without its charge point",
    description=(
        "For a session the charge point no longer has (it is gone, or answers Rejected to a remote stop): "
        "recorded as stopped by Voltline (stop_reason `Other`, `stop_note` naming the API token and the reason), "
        "the id tag free again. A StopTransaction the charge point delivers later replaces these values."
    ),
    responses=answers(
        unknown("transaction"),
        conflict("the transaction has stopped already"),
        invalid("meter_stop below meter_start, or stopped_at before the start or in the future"),
    ),
)
async def close_transaction(
    transaction_id: IntPath,
    services: ServicesDep,
    token: Annotated[ApiToken, Depends(require_token)],
    body: TransactionCloseIn | None = None,
) -> TransactionDetailOut:
    body = body or TransactionCloseIn()
    await services.transactions.close(
        transaction_id,
        closed_by=f"{token.name} (API token)",
        meter_stop=body.meter_stop,
        reason=body.reason,
        stopped_at=body.stopped_at,
    )
    return await get_transaction(transaction_id, services)

