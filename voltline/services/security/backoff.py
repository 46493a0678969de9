"""Failed password attempts, counted per key (a charge point, a username, a remote address).

After `threshold` failures in a row a key is backed off: further attempts are refused at once,
without hashing, until the back-off has passed. It starts at `base` seconds and doubles with each
further failure up to `cap`; a success clears the key. Attempts still being verified count as
failures until they are settled, so a burst of concurrent guesses gets no more hashes than a
sequence of them would.

Memory is bounded: at most `max_keys` keys (the one whose last failure is oldest is forgotten
first) and a key is forgotten `forget_after` seconds after its last failure.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(slots=True)
class _Attempts:
    failures: int = 0
    in_flight: int = 0
    blocked_until: float = 0.0
    last_failure: float = 0.0


class FailureBackoff:
    def __init__(
        self,
        *,
        threshold: int = 5,
        base: float = 1.0,
        cap: float = 300.0,
        max_keys: int = 10_000,
        forget_after: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.base = base
        self.cap = cap
        self.max_keys = max_keys
        self.forget_after = max(forget_after, cap)
        self._clock = clock
        self._keys: OrderedDict[Hashable, _Attempts] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def retry_after(self, key: Hashable) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        attempts = self._keys.get(key)
        if attempts is None:
            return 0.0
        now = self._clock()
        if not attempts.in_flight and now - attempts.last_failure > self.forget_after:
            del self._keys[key]
            return 0.0
        if attempts.blocked_until > now:
            return attempts.blocked_until - now
        if attempts.in_flight and attempts.failures + attempts.in_flight >= self.threshold:
            return 1.0  # the attempts in flight settle within a hash's time
        return 0.0

    def begin(self, key: Hashable) -> None:
        """An attempt of `key` goes to be verified; `failed` or `succeeded` settles it."""
        attempts = self._keys.get(key)
        if attempts is None:
            attempts = self._keys[key] = _Attempts(last_failure=self._clock())
            self._trim()
        attempts.in_flight += 1

    def failed(self, key: Hashable) -> None:
        now = self._clock()
        attempts = self._keys.get(key)
        if attempts is None:
            attempts = self._keys[key] = _Attempts()
        elif attempts.in_flight:
            attempts.in_flight -= 1
        attempts.failures += 1
        attempts.last_failure = now
        if attempts.failures >= self.threshold:
            delay = min(self.cap, self.base * 2 ** (attempts.failures - self.threshold))
            attempts.blocked_until = max(attempts.blocked_until, now + delay)
        self._keys.move_to_end(key)
        self._trim()

    def succeeded(self, key: Hashable) -> None:
        self._keys.pop(key, None)

    def abandoned(self, key: Hashable) -> None:
        """An attempt that was never verified (the hasher was busy, the client went away)."""
        attempts = self._keys.get(key)
        if attempts is not None and attempts.in_flight:
            attempts.in_flight -= 1
            if not attempts.in_flight and not attempts.failures:
                del self._keys[key]

    def _trim(self) -> None:
        keys = self._keys
        now = self._clock()
        while keys:
            oldest_key, oldest = next(iter(keys.items()))
            if len(keys) > self.max_keys or (not oldest.in_flight and now - oldest.last_failure > self.forget_after):
                del keys[oldest_key]
            else:
                break
