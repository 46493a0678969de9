"""Charge points refused because nobody registered them: the last few, for an operator to register.

A charge point that is installed before it is registered knocks again and again; the operator
wants to see it once, with when and from where it last tried. So one entry per identity, the
newest at the end, at most `limit` identities: a scan of made-up identities cannot grow memory.
Kept in the memory of the node that refused it (it is a hint for an operator, not a record the
system relies on); recording costs a dictionary update, on the refusal path only.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from voltline.services.clock import now

NOT_REGISTERED = "not registered"
REGISTERED_REJECTED = "unknown; registered as Rejected by the boot policy"


@dataclass(slots=True)
class Refusal:
    identity: str
    reason: str
    address: str | None
    first_at: datetime
    last_at: datetime
    attempts: int = 1


class RefusalLog:
    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, Refusal] = OrderedDict()

    def record(self, identity: str, reason: str, address: str | None) -> None:
        at = now()
        entry = self._entries.get(identity)
        if entry is None:
            self._entries[identity] = Refusal(identity, reason, address, at, at)
            if len(self._entries) > self.limit:
                self._entries.popitem(last=False)
            return
        entry.reason, entry.address, entry.last_at = reason, address, at
        entry.attempts += 1
        self._entries.move_to_end(identity)

    def forget(self, identity: str) -> None:
        self._entries.pop(identity, None)

    def newest_first(self) -> list[Refusal]:
        return list(reversed(self._entries.values()))
