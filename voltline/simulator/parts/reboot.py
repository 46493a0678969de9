"""Resets and reboots: transactions ended, the connection closed, the station booted afresh."""

from __future__ import annotations

import asyncio
import contextlib

from voltline.simulator.parts.base import StationBase

BOOT_SECONDS = 5.0  # how long a reboot takes


class RebootPart(StationBase):
    """Soft and hard resets, and the reboot between two connections."""

    # -- reboot ----------------------------------------------------------------------------

    async def reset(self, kind: str) -> None:
        """Soft or Hard reset: end transactions, drop the connection, boot again."""
        reason = "HardReset" if kind == "Hard" else "SoftReset"
        for connector in self.connectors.values():
            self._end(connector, reason)
        if self._online_now():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.call_timeout):
                    if kind != "Hard":
                        # A soft reset is graceful: the StopTransactions go out before the
                        # connection does (after a hard one they follow the reboot).
                        await self.outbox.delivered.wait()
                    await self.flush_in_flight()
        await self.request_reboot()

    async def flush_in_flight(self) -> None:
        """Let the call on the wire get its answer: hanging up in the middle of an exchange makes
        the central system wait for a reply that never comes."""
        await self.outbox.quiet.wait()

    async def request_reboot(self) -> None:
        self._reboot_requested = True
        link = self._link
        if link is not None:
            await link.close()

    async def _reboot(self) -> None:
        self._reboot_requested = False
        for connector in self.connectors.values():
            self._end(connector, "Reboot")
            connector.reservation = None
            connector.reported = None
        self.station.reported = None
        self.registration_status = None
        self._needs_boot = True
        self._notify()
        await self.clock.sleep(BOOT_SECONDS)
        self.refresh_all()
