"""What the store refuses, in words the OCPP layer (InternalError) and the API (503) translate."""

from __future__ import annotations


class StoreError(Exception):
    """The store could not take or answer this request now; trying again later may work."""

    code = "store_error"


class StoreBusy(StoreError):
    """A write lane holds as many rows or bytes as it may: the write is refused at once rather
    than queued, so that memory stays bounded while the database is slow."""

    code = "store_busy"


class DatabaseUnavailable(StoreError):
    """The database cannot be reached (or is locked by another process): writes fail at once for
    a short while, until a probe finds it back."""

    code = "database_unavailable"


class QueryTimeout(StoreError):
    """An operator's read ran past the statement time limit and was stopped."""

    code = "query_timeout"
