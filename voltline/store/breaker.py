"""Whether the database is away, and the circuit breaker that fails writes at once while it is."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from voltline.store.errors import DatabaseUnavailable


class Breaker:
    """The circuit breaker of the writes: after a failure that says the database is away (not a
    bad write), new writes fail at once until `open_until`; the first batch after it is the
    probe. The pause doubles with each failed probe, up to `longest`, so that the database is
    tried a few times a second at most and found again within `longest` of its return."""

    def __init__(self, first: float = 0.05, longest: float = 0.5) -> None:
        self.first, self.longest = first, longest
        self.pause = first
        self.open_until = 0.0  # 0 while closed
        self.opened = 0  # times the circuit opened

    def trip(self, at: float) -> None:
        if at < self.open_until:
            return  # already open: the other batches that were committing failed the same way
        if not self.open_until:
            self.opened += 1
        self.open_until = at + self.pause
        self.pause = min(self.pause * 2, self.longest)

    def reset(self) -> None:
        self.open_until, self.pause = 0.0, self.first


def is_unavailability(error: BaseException) -> bool:
    """Whether `error` says the database is away (connection lost, refused, shutting down, locked
    by another process) rather than that the write itself is bad (a constraint, a type)."""
    if isinstance(error, DatabaseUnavailable | OSError | TimeoutError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig or error
        cause = error.__cause__
        if cause is not None and getattr(cause, "sqlstate", None):
            error = cause
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        # 08: connection exception; 57P: shut down, crashed, cannot connect now; 53300: too many
        # connections; 55000 is how a database that refuses connections says so.
        return sqlstate.startswith(("08", "57P")) or sqlstate in ("53300", "55000")
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        return "locked" in text or "unable to open" in text or "disk I/O" in text
    # asyncpg's own, raised outside SQLAlchemy (the driver's transaction): "connection is closed",
    # or a connection left in a broken state by a backend killed under it.
    return type(error).__module__.startswith("asyncpg") and type(error).__name__ in _ASYNCPG_CONNECTION_ERRORS


_ASYNCPG_CONNECTION_ERRORS = frozenset(("InterfaceError", "ConnectionDoesNotExistError", "InternalClientError"))
