"""What a charge point may send before its registration is Accepted, whatever its OCPP version.

Until the Central System accepts a boot, OCPP lets a charge point send only a BootNotification
and what the Central System itself asked for with a trigger (1.6 §4.2, 2.0.1 B02/B03). A
connection's handler context derives from `RegistrationGate` and keeps the allowances here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True, eq=False)
class Allowance:
    """A message a charge point that is not Accepted may send because we asked for it."""

    action: str
    until: float | None = None  # None: once; else as often as it comes until then (monotonic)


@dataclass(slots=True)
class RegistrationGate:
    """One connected charge point's registration, as its handlers see it."""

    identity: str
    # The last verdict on this charge point's registration: until Accepted, OCPP allows it only
    # to boot, and to send what we asked for with TriggerMessage.
    registration_status: str = "Accepted"
    # Created on first use: most charge points are never asked to send anything.
    triggered: list[Allowance] | None = None

    @property
    def accepted(self) -> bool:
        return self.registration_status == "Accepted"

    def allow(self, action: str, within: float | None = None) -> Allowance:
        """Let `action` through while not Accepted: once, or for `within` seconds as often as it
        comes (a trigger for no connector in particular brings one message per connector, and
        how many that are only the charge point knows)."""
        allowance = Allowance(action, None if within is None else time.monotonic() + within)
        if self.triggered is None:
            self.triggered = []
        self.triggered.append(allowance)
        return allowance

    def withdraw(self, allowance: Allowance) -> None:
        if self.triggered and allowance in self.triggered:
            self.triggered.remove(allowance)

    def take(self, action: str) -> bool:
        """Whether `action` is allowed, using up an allowance for one message."""
        if not self.triggered:
            return False
        at = time.monotonic()
        for allowance in list(self.triggered):
            if allowance.until is not None and at > allowance.until:
                self.triggered.remove(allowance)
            elif allowance.action == action:
                if allowance.until is None:
                    self.triggered.remove(allowance)
                return True
        return False
