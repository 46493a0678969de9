"""What provisioning refuses: an unknown charge point, a second one of the same identity, a row
that could not be written (so that nothing is answered Accepted)."""

from __future__ import annotations

from voltline.services.errors import Conflict, NotFound, Unavailable


class UnknownChargePoint(NotFound, LookupError):
    def __init__(self, identity: str) -> None:
        super().__init__(f"no charge point {identity}")
        self.identity = identity


class ChargePointExists(Conflict, ValueError):
    def __init__(self, identity: str) -> None:
        super().__init__(f"charge point {identity} exists", code="charge_point_exists")
        self.identity = identity


class NotStored(Unavailable, RuntimeError):
    """A charge point's row could not be found or written: nothing may be answered Accepted."""

    default_code = "not_stored"
