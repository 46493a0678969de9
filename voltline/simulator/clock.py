"""Simulated time: a wall clock that may run faster than real time.

Every duration inside the simulator (heartbeat and meter intervals, back-off, firmware steps,
reservation expiry, scenario times) is in simulated seconds, so one speed factor accelerates a whole
run consistently: at speed 100 a 20 kWh session at 11 kW lasts about 65 real seconds, and every
timestamp sent to the central system stays coherent with the energy it reports.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("the speed factor must be positive")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def elapsed(self) -> float:
        """Simulated seconds since the clock was made."""
        return (time.monotonic() - self._t0) * self.speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed())

    def real(self, seconds: float) -> float:
        """The real duration of `seconds` of simulated time."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real(seconds))

    async def wait(self, event: asyncio.Event, seconds: float | None) -> bool:
        """Wait for `event` at most `seconds` of simulated time; True when it was set."""
        if event.is_set():
            return True
        if seconds is None:
            await event.wait()
            return True
        try:
            async with asyncio.timeout(self.real(seconds)):
                await event.wait()
            return True
        except TimeoutError:
            return False


def iso(moment: datetime) -> str:
    """OCPP timestamps: UTC, ISO 8601 with a Z, millisecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    # A timestamp without an offset is read as UTC, which is what OCPP implies.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
