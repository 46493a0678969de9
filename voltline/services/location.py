"""Where on a charge point: an EVSE and one of its connectors, for every OCPP version.

OCPP 2.0.1 has EVSEs 1..n with connectors 1..m each; 1.6 has connectors 1..n, and 0 for the
charge point as a whole. As the OCA's migration guidance has it, a 1.6 connector N is EVSE N with
one connector, and 1.6's connector 0 is the charge point as a whole (EVSE 0). The store and the
API keep the numbers as the charge point sent them (DESIGN §5: `connector_id` as on the wire,
`evse_id` null on 1.6); this module is the one place that maps between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

WHOLE_CHARGE_POINT = 0


@dataclass(frozen=True, slots=True, order=True)
class ConnectorRef:
    """A connector in the domain's terms. EVSE 0 with connector 0 is the charge point as a whole."""

    evse_id: int
    connector_id: int

    def __post_init__(self) -> None:
        if self.evse_id < 0 or self.connector_id < 0:
            raise ValueError(f"no such location: EVSE {self.evse_id}, connector {self.connector_id}")
        if (self.evse_id == WHOLE_CHARGE_POINT) != (self.connector_id == WHOLE_CHARGE_POINT):
            raise ValueError("EVSE 0 stands for the whole charge point, with connector 0 only")

    @property
    def whole_charge_point(self) -> bool:
        return self.evse_id == WHOLE_CHARGE_POINT

    # -- OCPP 1.6 numbering --------------------------------------------------------------------

    @classmethod
    def from_ocpp16(cls, connector_id: int) -> ConnectorRef:
        """1.6's connector N: EVSE N, its one connector; 0: the whole charge point."""
        if connector_id == WHOLE_CHARGE_POINT:
            return cls(WHOLE_CHARGE_POINT, WHOLE_CHARGE_POINT)
        return cls(connector_id, 1)

    def to_ocpp16(self) -> int:
        """The 1.6 connectorId; a connector beyond an EVSE's first has none (1.6 cannot name it)."""
        if self.connector_id > 1:
            raise ValueError(f"OCPP 1.6 cannot name connector {self.connector_id} of EVSE {self.evse_id}")
        return self.evse_id

    # -- as stored (and shown by the API) -----------------------------------------------------

    @classmethod
    def from_stored(cls, evse_id: int | None, connector_id: int) -> ConnectorRef:
        """A row's `evse_id` and `connector_id`: no EVSE means numbered as 1.6 numbers them."""
        if evse_id is None:
            return cls.from_ocpp16(connector_id)
        return cls(evse_id, connector_id)

    def stored(self, ocpp_version: str | None) -> tuple[int | None, int]:
        """`(evse_id, connector_id)` as a row of a charge point of `ocpp_version` keeps them."""
        if ocpp_version in (None, "1.6"):
            return None, self.to_ocpp16()
        return self.evse_id, self.connector_id
