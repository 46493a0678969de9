"""Transactions as CSV: one writer for the REST API's export and the dashboard's, so a file from
either has the same columns, the same status words (Active / Stopped) and ISO-8601 UTC times."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from voltline.services.transactions.views import TransactionView

COLUMNS = (
    "id", "charge_point_id", "connector_id", "id_tag", "status", "started_at", "stopped_at",
    "meter_start", "meter_stop", "energy_wh", "duration_s", "stop_reason",
)
CHUNK = 64 * 1024  # bytes written out at a time: a large export streams, it is never held whole


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def row(tx: TransactionView) -> list[object]:
    return [
        tx.id, tx.charge_point_id, tx.connector_id, tx.id_tag, tx.status, iso_utc(tx.started_at),
        iso_utc(tx.stopped_at), tx.meter_start, "" if tx.meter_stop is None else tx.meter_stop, tx.energy_wh,
        tx.duration_s, tx.stop_reason or "",
    ]


def lines(transactions: list[TransactionView]) -> str:
    """One CSV line per transaction (CRLF, as RFC 4180 says): a chunk of the file."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([row(tx) for tx in transactions])
    return buffer.getvalue()


async def csv_lines(chunks: AsyncIterable[str]) -> AsyncIterator[str]:
    """The header, then the chunks of `lines` (made where the read ran, see
    TransactionViews.stream), sent on in pieces of about CHUNK bytes."""
    pending = [",".join(COLUMNS) + "\r\n"]
    size = len(pending[0])
    async for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size > CHUNK:
            yield "".join(pending)
            pending, size = [], 0
    yield "".join(pending)
