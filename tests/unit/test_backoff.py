"""FailureBackoff: a few free failures, then a doubling wait; bounded memory."""

from __future__ import annotations

from voltline.services.security.backoff import FailureBackoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_grows_with_each_failure_after_the_free_ones_and_a_success_clears_it() -> None:
    clock = Clock()
    backoff = FailureBackoff(threshold=3, base=1.0, cap=8.0, clock=clock)
    for _ in range(2):
        backoff.failed("CP-1")
        assert backoff.retry_after("CP-1") == 0
    waits = []
    for _ in range(6):
        backoff.failed("CP-1")
        waits.append(backoff.retry_after("CP-1"))
        clock.now += waits[-1]
        assert backoff.retry_after("CP-1") == 0  # one more attempt once the wait is over
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.retry_after("CP-2") == 0  # keys are apart
    backoff.succeeded("CP-1")
    backoff.failed("CP-1")
    assert backoff.retry_after("CP-1") == 0


def test_attempts_in_flight_count_until_they_settle() -> None:
    backoff = FailureBackoff(threshold=3, clock=Clock())
    for _ in range(3):
        assert backoff.retry_after("CP-1") == 0
        backoff.begin("CP-1")
    assert backoff.retry_after("CP-1") > 0
    for _ in range(3):
        backoff.abandoned("CP-1")
    assert backoff.retry_after("CP-1") == 0 and len(backoff) == 0


def test_memory_is_bounded_by_count_and_by_age() -> None:
    clock = Clock()
    backoff = FailureBackoff(threshold=1, cap=10.0, max_keys=100, forget_after=60.0, clock=clock)
    for i in range(1000):
        backoff.failed(f"10.0.0.{i}")
    assert len(backoff) == 100
    assert backoff.retry_after("10.0.0.999") > 0 and backoff.retry_after("10.0.0.0") == 0
    clock.now += 61
    backoff.failed("10.0.1.1")
    assert len(backoff) == 1
