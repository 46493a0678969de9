"""Reservations held on a connector until used, cancelled or expired."""

from __future__ import annotations

from voltline.simulator.connector import Reservation
from voltline.simulator.parts.base import StationBase


class ReservationsPart(StationBase):
    """ReserveNow and CancelReservation, and a reservation's expiry."""

    # -- reservations ----------------------------------------------------------------------

    def reserve(self, reservation: Reservation) -> None:
        for other in self.connectors.values():
            if other.reservation is not None and other.reservation.reservation_id == reservation.reservation_id:
                other.reservation = None
                self.refresh(other)
        connector = self.connector(reservation.connector_id)
        connector.reservation = reservation
        self.refresh(connector)

        async def expire() -> None:
            await self.clock.sleep((reservation.expires_at - self.clock.now()).total_seconds())
            if connector.reservation is reservation:
                connector.reservation = None
                self.refresh(connector)

        self._spawn(expire())

    def cancel_reservation(self, reservation_id: int) -> bool:
        for connector in self.connectors.values():
            if connector.reservation is not None and connector.reservation.reservation_id == reservation_id:
                connector.reservation = None
                self.refresh(connector)
                return True
        return False
