"""Which TransactionEvent Updated events the index of open transactions applies in place, and
which it leaves to the exact path (services/transactions/open_events.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voltline.services.transactions import meter_values as mv
from voltline.services.transactions.open_events import MAX_MISSING, OpenTransaction, OpenTransactions

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
KEY = ("CS-1", "tx-1")


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def samples(wh: float, minutes: float, measurand: str = mv.ENERGY_REGISTER, phase: str | None = None) -> list[mv.SampledValue]:
    return [mv.SampledValue(later(minutes), str(wh), wh, "Wh", "Wh", measurand, phase, "Sample.Periodic", "Outlet", "Raw")]


def index(first_register_at: datetime | None = T0, highest: int = 0, missing: set[int] | None = None) -> OpenTransactions:
    known = OpenTransactions()
    known.learn(KEY, OpenTransaction(7, 1, 1, T0, first_register_at, "TAG", "Accepted", 1000, highest, missing or set()))
    return known


def test_a_new_seq_no_with_later_readings_is_applied_in_place_and_remembered() -> None:
    known = index()
    tx = known.updated_in_place(KEY, 1, later(1), 1, 1, samples(1100, 1))
    assert tx is not None and tx.transaction_id == 7
    assert known.updated_in_place(KEY, 1, later(1), 1, 1, samples(1100, 1)) is None  # a repeat: the exact path
    assert known.updated_in_place(KEY, 2, later(2), None, None, []) is not None


def test_gaps_are_remembered_and_filled() -> None:
    known = index()
    assert known.updated_in_place(KEY, 4, later(4), 1, None, []) is not None
    assert known.updated_in_place(KEY, 2, later(2), 1, None, []) is not None
    assert known.updated_in_place(KEY, 2, later(2), 1, None, []) is None
    tx = known.updated_in_place(KEY, 1, later(1), 1, None, [])
    assert tx is not None and tx.missing == {3} and tx.highest_seq_no == 4


def test_what_would_change_the_transaction_goes_to_the_exact_path() -> None:
    known = index()
    assert known.updated_in_place(("CS-1", "other"), 1, later(1), 1, 1, []) is None  # not known
    assert known.updated_in_place(KEY, 1, T0 - timedelta(seconds=1), 1, 1, []) is None  # before the start
    assert known.updated_in_place(KEY, 1, later(1), 2, 1, []) is None  # another EVSE
    assert known.updated_in_place(KEY, 1, later(1), 1, 2, []) is None  # another connector
    assert known.updated_in_place(KEY, 1, later(1), 1, 1, samples(900, -1)) is None  # before the first register
    # A reading of another measurand or a phase's register says nothing of the meter start.
    assert known.updated_in_place(KEY, 1, later(1), 1, 1, samples(5, -1, mv.POWER)) is not None
    assert known.updated_in_place(KEY, 2, later(2), 1, 1, samples(5, -1, phase="L1")) is not None


def test_the_first_register_of_a_transaction_goes_to_the_exact_path() -> None:
    known = index(first_register_at=None)
    assert known.updated_in_place(KEY, 1, later(1), 1, 1, samples(1000, 1)) is None
    assert known.updated_in_place(KEY, 1, later(1), 1, 1, samples(5, 1, mv.POWER)) is not None


def test_a_gap_too_wide_to_keep_leaves_the_transaction_to_the_exact_path() -> None:
    known = index()
    assert known.updated_in_place(KEY, MAX_MISSING + 2, later(1), 1, 1, []) is None
    assert KEY not in known
    assert known.updated_in_place(KEY, 1, later(1), 1, 1, []) is None


def test_forgetting_by_transaction_and_by_charge_point() -> None:
    known = index()
    known.forget_transaction(8)
    assert KEY in known
    known.forget_transaction(7)
    assert KEY not in known
    known = index()
    known.forget_charge_point("CS-2")
    assert KEY in known
    known.forget_charge_point("CS-1")
    assert len(known) == 0
