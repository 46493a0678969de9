"""What provisioning refuses: an unknown charge point, a second one of the same identity, a row
that could not be written (so that nothing is answered Accepted)."""

from __future__ import annotations


class UnknownChargePoint(LookupError):
    pass


class ChargePointExists(ValueError):
    pass


class NotStored(RuntimeError):
    """A charge point's row could not be found or written: nothing may be answered Accepted."""
