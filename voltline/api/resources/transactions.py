"""Transactions: filtered lists, the detail with its meter values, and a CSV export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from voltline.api.deps import After, IntPath, IntQuery, Limit, Offset, ServicesDep, TextQuery, TimeQuery, page_out
from voltline.api.openapi import answers, unknown
from voltline.api.schemas import Page, SampleOut, TransactionDetailOut, TransactionOut
from voltline.services.transaction_csv import csv_lines

router = APIRouter(prefix="/transactions", tags=["transactions"])


async def _filters(
    charge_point_id: TextQuery = None,
    connector_id: IntQuery = None,
    id_tag: TextQuery = None,
    active: Annotated[bool | None, Query(description="true: still charging; false: stopped")] = None,
    started_from: Annotated[TimeQuery, Query(description="started at or after")] = None,
    started_to: Annotated[TimeQuery, Query(description="started before")] = None,
) -> dict[str, Any]:
    return {
        "charge_point_id": charge_point_id,
        "connector_id": connector_id,
        "id_tag": id_tag,
        "active": active,
        "started_from": started_from,
        "started_to": started_to,
    }


Filters = Annotated[dict[str, Any], Depends(_filters)]


@router.get("", summary="List transactions, newest first")
async def list_transactions(
    services: ServicesDep, filters: Filters, limit: Limit = 50, offset: Offset = 0, after: After = None
) -> Page[TransactionOut]:
    page = await services.queries.transactions(**filters, limit=limit, offset=offset, after=after)
    return Page[TransactionOut].model_validate(page_out(page))


@router.get(
    "/export.csv",
    summary="Export transactions as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one line per transaction, oldest first"}},
)
async def export_transactions(services: ServicesDep, filters: Filters) -> StreamingResponse:
    # The same writer as the dashboard's export: the same columns, words and times.
    return StreamingResponse(
        csv_lines(services.queries.stream_transactions(**filters)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
    )


@router.get(
    "/{transaction_id}",
    summary="A transaction with its meter values, energy, duration and stop reason",
    responses=answers(unknown("transaction")),
)
async def get_transaction(transaction_id: IntPath, services: ServicesDep) -> TransactionDetailOut:
    transaction, samples = await services.queries.transaction(transaction_id)
    return TransactionDetailOut.model_validate(
        {**TransactionOut.model_validate(transaction).model_dump(), "meter_values": [SampleOut.model_validate(s) for s in samples]}
    )

