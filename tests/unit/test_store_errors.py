"""Which failures open the store's circuit (the database is away) and which are the write's own."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from voltline.store.breaker import Breaker, is_unavailability
from voltline.store.errors import DatabaseUnavailable


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (DatabaseUnavailable("refused"), True),
        (ConnectionRefusedError(), True),
        (_PgError("08006"), True),  # connection failure
        (_PgError("57P01"), True),  # admin shutdown
        (_PgError("55000"), True),  # the database does not accept connections
        (_PgError("23505"), False),  # unique violation: the write's own fault
        (_PgError("22P02"), False),  # invalid text
        (sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), True),
        (sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL constraint failed")), False),
        (ValueError("bad"), False),
    ],
)
def test_unavailability_is_told_from_a_bad_write(error: Exception, away: bool) -> None:
    assert is_unavailability(error) is away


def test_the_breaker_pauses_longer_after_each_failed_probe_up_to_its_longest() -> None:
    breaker = Breaker(first=0.05, longest=0.5)
    pauses = []
    at = 0.0
    for _ in range(6):
        breaker.trip(at)
        pauses.append(round(breaker.open_until - at, 3))
        at = breaker.open_until
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    breaker.reset()
    assert breaker.open_until == 0 and breaker.pause == 0.05
