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


async def csv_lines(transactions: AsyncIterable[TransactionView]) -> AsyncIterator[str]:
    """The header, then one line per transaction (CRLF, as RFC 4180 says), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    async for tx in transactions:
        writer.writerow(row(tx))
        if buffer.tell() > CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
