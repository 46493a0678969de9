"""A bounded rate for an operator's long read (the CSV export): one export of a big network must
not take a core from the charge points for as long as it runs.

The export's rows are made into CSV in the server's process (a read's thread, which still needs
the interpreter's lock): about 40 µs a transaction, so unpaced, 42,000 transactions took a
second of the server's CPU at once (bench scenario 7). Paced at `rate` rows a second, the
export waits between its chunks (holding no database connection meanwhile) so that it never
runs ahead of `rate`; a chunk late for other reasons is not made up for with a burst."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._rate = rate
        self._clock, self._sleep = clock, sleep
        self._due = clock()  # when the rows counted so far may be done, at the earliest

    async def done(self, rows: int) -> None:
        """`rows` more were sent: wait until they fit the rate."""
        now = self._clock()
        self._due += rows / self._rate
        if self._due <= now:
            self._due = now  # behind: go on at once, and count on from now (no burst to catch up)
        else:
            await self._sleep(self._due - now)
