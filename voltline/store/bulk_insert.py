"""Row inserts at the driver level: a multi-row INSERT on SQLite, a binary COPY on PostgreSQL.

The message log and meter values are the bulk of all rows, and SQLAlchemy's per-row parameter
processing would cost more than the database itself."""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


class InsertPlan:
    """How to insert a table's rows at the driver level: a multi-row INSERT (SQLite), or the
    records for a binary COPY (PostgreSQL)."""

    # SQLite allows 32,766 parameters per statement.
    MAX_PARAMETERS = 32_000
    MAX_ROWS = 500

    def __init__(self, table: sa.Table, dialect: sa.Dialect) -> None:
        from voltline.store.tables import UTCDateTime

        self.columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        quote = dialect.identifier_preparer.quote
        self._head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) VALUES "
        self._sql: dict[int, str] = {}
        self.chunk = min(self.MAX_ROWS, self.MAX_PARAMETERS // len(self.columns))
        self.defaults = {
            c.name: c.default.arg for c in table.columns if c.default is not None and not callable(c.default.arg)
        }
        timestamps = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
        self.timestamp_positions = [i for i, name in enumerate(self.columns) if name in timestamps]
        self._pick = operator.itemgetter(*self.columns)

    def _statement(self, count: int) -> str:
        sql = self._sql.get(count)
        if sql is None:
            one = "(" + ", ".join(["?"] * len(self.columns)) + ")"
            sql = self._sql[count] = self._head + ", ".join(one for _ in range(count))
        return sql

    def _values(self, row: Any) -> tuple[Any, ...]:
        """A row given as a dict, or as a tuple already in `columns` order (the hot path's form)."""
        if type(row) is tuple:
            return row
        try:
            return self._pick(row)  # type: ignore[no-any-return]  # C speed when the row names every column
        except KeyError:
            return tuple(row.get(name, self.defaults.get(name)) for name in self.columns)

    def records(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        """The rows as tuples in `columns` order, timestamps as they are (COPY encodes them)."""
        values = self._values
        return [row if type(row) is tuple else values(row) for row in rows]

    def statements(self, rows: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
        """SQLite: multi-row INSERTs of at most `chunk` rows, timestamps as SQLAlchemy's text."""
        values_of, positions = self._values, self.timestamp_positions
        flat: list[Any] = []
        # Rows written together mostly share their timestamps (the readings of charge points
        # that sent the same second's, log frames of one millisecond, a 2.0.1 event's time and
        # its meter value's): convert each distinct one once. By value, not by object: a
        # batch's rows come from many frames, each parsed apart; and a row's timestamps (an
        # event's own and its receipt) alternate, so the last one converted is seldom the next.
        texts: dict[datetime, str] = {}
        for row in rows:
            values = list(values_of(row))
            for i in positions:
                stamp = values[i]
                if stamp is None:
                    continue
                text = texts.get(stamp)
                if text is None:
                    text = texts[stamp] = sqlite_timestamp(stamp)
                values[i] = text
            flat.extend(values)
        width, chunk = len(self.columns), self.chunk
        result = []
        for start in range(0, len(rows), chunk):
            count = min(chunk, len(rows) - start)
            result.append((self._statement(count), tuple(flat[start * width : (start + count) * width])))
        return result


def sqlite_timestamp(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for a UTC instant: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value.tzinfo is not UTC and value.utcoffset():  # naive values are UTC already
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]
