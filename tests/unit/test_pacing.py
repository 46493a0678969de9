"""An export's pace: never ahead of its rate, and a late chunk is not made up for with a burst."""

from __future__ import annotations

from voltline.services.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def test_rows_sent_faster_than_the_rate_wait_for_it() -> None:
    clock = Clock()
    pace = Pacer(5000, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        clock.now += 0.05  # a chunk made in 50 ms
        await pace.done(1000)  # 1,000 rows are 0.2 s at 5,000 a second
    assert clock.slept == [0.15, 0.15, 0.15]
    assert round(clock.now, 6) == 100.6  # 3,000 rows in 0.6 s: the rate, not faster


async def test_a_late_chunk_goes_on_at_once_and_is_not_made_up_for() -> None:
    clock = Clock()
    pace = Pacer(5000, clock=clock, sleep=clock.sleep)
    clock.now += 1.0  # a chunk that took 1 s (a slow client, a busy database)
    await pace.done(1000)
    assert clock.slept == []
    clock.now += 0.05
    await pace.done(1000)  # the next one keeps to the rate from then on: no burst
    assert clock.slept == [0.15]
