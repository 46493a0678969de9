"""A session's energy from its register readings, step by step, with bad steps flagged.

A step that goes backwards (the meter was reset or replaced) or jumps further than any charger
can deliver in the time (a misread register) counts 0 Wh and marks the session flagged; the
next step starts from the new reading. The live rollups and the rebuild use this one rule, fed
the readings in the order they were stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voltline.services.reports.hours import HOUR, floor_hour, spread

MAX_POWER_W = 1_000_000.0  # faster than 1 MW is not charging but a jump of the register
JUMP_SLACK_WH = 1000.0  # rounding and clock skew between two readings


@dataclass(slots=True)
class SessionMeter:
    charge_point_id: str
    connector_id: int
    id_tag: str
    started_at: datetime
    last_wh: float
    last_at: datetime
    # The connector's EVSE as the rollups key it (adding.evse_key): ROLLUP_NO_EVSE on 1.6.
    evse_id: int = 0
    energy_wh: float = 0.0
    flagged: bool = False
    # The hour the last reading fell in: most steps stay inside it and need no cutting.
    hour: datetime | None = None
    hour_end: datetime | None = None
    # The rollup entry of that hour in the sums being gathered (recorder.Sums), and those sums.
    entry: list[Any] | None = field(default=None, repr=False)
    entry_of: object = field(default=None, repr=False)

    def hour_of(self, at: datetime) -> datetime:
        if self.hour is None or not (self.hour <= at < self.hour_end):  # type: ignore[operator]
            self.hour = floor_hour(at)
            self.hour_end = self.hour + HOUR
            self.entry = None
        return self.hour

    def step(self, value: float, at: datetime) -> list[tuple[datetime, float]]:
        """The energy from the last reading to this one, per hour it was delivered in."""
        if at < self.last_at:
            return []  # an older reading delivered late: the span it belongs to is counted already
        delta = value - self.last_wh
        hours = (at - self.last_at).total_seconds() / 3600
        self.last_wh, previous, self.last_at = value, self.last_at, at
        if delta < 0 or delta > MAX_POWER_W * hours + JUMP_SLACK_WH:
            self.flagged = True
            return []
        self.energy_wh += delta
        hour = self.hour
        if hour is not None and hour <= previous and at < self.hour_end:  # type: ignore[operator]
            return [(hour, delta)]
        return spread(delta, previous, at)
