"""Driver actions and transactions: plugging in, presenting a card (authorized as OCPP 1.6 §3.5
orders the sources), starting and ending sessions, and the meter values a session sends."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost
from voltline.simulator import meter
from voltline.simulator.clock import iso
from voltline.simulator.connector import Connector
from voltline.simulator.local_auth import usable
from voltline.simulator.outbox import Payload
from voltline.simulator.parts.base import SimulatorError, StationBase
from voltline.simulator.parts.charging import charge
from voltline.simulator.session import ElectricVehicle, Transaction


class TransactionsPart(StationBase):
    """Sessions from plug-in to StopTransaction, and what the driver does."""

    async def stop_all_sessions(self, reason: str = "Local", timeout: float = 5.0) -> None:
        """End every running transaction and give the central system `timeout` real seconds to get
        the StopTransactions."""
        for connector in self.connectors.values():
            if connector.transaction is not None:
                self._end(connector, reason)
        if self._online_now():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.outbox.delivered.wait()

    # -- driver actions --------------------------------------------------------------------

    async def plug_in(
        self,
        connector_id: int = 1,
        id_tag: str | None = None,
        *,
        energy_kwh: float | None = None,
        battery_kwh: float = 60.0,
        soc: float | None = None,
        max_power_w: float = 11_000.0,
        unplug_when_full: bool = False,
    ) -> Transaction | None:
        """An EV is plugged in; with `id_tag` the driver also presents a card.

        Returns the started transaction, or None when none started (no tag yet, or not authorized)."""
        connector = self.connector(connector_id)
        if connector_id == 0:
            raise SimulatorError("connector 0 is the whole station, nothing plugs into it")
        if connector.ev is not None:
            raise SimulatorError(f"{self.identity} connector {connector_id} already has an EV plugged in")
        connector.ev = ElectricVehicle(
            battery_wh=battery_kwh * 1000.0,
            soc=self.rng.uniform(10.0, 50.0) if soc is None else soc,
            max_power_w=max_power_w,
            energy_wanted_wh=None if energy_kwh is None else energy_kwh * 1000.0,
            unplug_when_full=unplug_when_full,
        )
        connector.finished = False
        if connector.transaction is not None:
            # The transaction outlived the previous cable (StopTransactionOnEVSideDisconnect=false).
            connector.wake.set()
            self.refresh(connector)
            return connector.transaction
        self.refresh(connector)
        if id_tag is None:
            return None
        return await self.present_tag(connector_id, id_tag)

    async def present_tag(self, connector_id: int, id_tag: str) -> Transaction | None:
        """A driver holds a card to the reader: starts a session, or stops the running one when it
        is the same card (or one with the same parent)."""
        connector = self.connector(connector_id)
        running = connector.transaction
        if running is not None:
            if id_tag == running.id_tag:
                return self._end(connector, "Local", id_tag)
            info = await self.authorize(id_tag)
            parent = (running.id_tag_info or {}).get("parentIdTag")
            if parent is not None and info.get("parentIdTag") == parent:
                return self._end(connector, "Local", id_tag)
            return None
        info = await self.authorize(id_tag)
        if not usable(info, self.clock.now()):
            self._error(f"{id_tag} not authorized: {info.get('status')}")
            return None
        if not self.may_start(connector, id_tag, info.get("parentIdTag")):
            return None
        return self.begin(connector, id_tag, info)

    async def stop_charging(self, connector_id: int, reason: str = "Local") -> Transaction | None:
        """The driver (or the station) ends the running transaction; the cable stays plugged in."""
        connector = self.connector(connector_id)
        return self._end(connector, reason) if connector.transaction else None

    async def unplug(self, connector_id: int) -> None:
        connector = self.connector(connector_id)
        self._unplug(connector)

    async def fault(self, connector_id: int, error_code: str = "OtherError", info: str | None = None) -> None:
        """A hardware fault: the connector reports Faulted and a running transaction ends."""
        connector = self.connector(connector_id)
        if connector.transaction is not None:
            self._end(connector, "Other")
        connector.fault = (error_code, info)
        self.refresh(connector)

    async def clear_fault(self, connector_id: int) -> None:
        connector = self.connector(connector_id)
        connector.fault = None
        self.refresh(connector)

    # -- authorization ---------------------------------------------------------------------

    def local_info(self, id_tag: str) -> dict[str, Any] | None:
        """What the station knows about a tag without asking: the local list first, then the cache."""
        if self.config.get_bool("LocalAuthListEnabled"):
            info = self.local_list.lookup(id_tag)
            if info is not None:
                return info
        if self.config.get_bool("AuthorizationCacheEnabled"):
            return self.auth_cache.lookup(id_tag)
        return None

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        if self.config.get_bool("AuthorizationCacheEnabled") and self.local_list.lookup(id_tag) is None:
            self.auth_cache.remember(id_tag, info)

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        """The idTagInfo for a tag, the way OCPP 1.6 §3.5 orders the sources."""
        local = self.local_info(id_tag)
        now = self.clock.now()
        if local is not None and usable(local, now) and self.config.get_bool("LocalPreAuthorize"):
            return local
        if self._online_now():
            try:
                result = await self.call("Authorize", {"idTag": id_tag})
            except (CallTimeout, CallErrorReceived, ConnectionLost) as exc:
                self._error(f"Authorize: {exc}")
            else:
                info = result["idTagInfo"]
                self.remember(id_tag, info)
                return info
        if local is not None and self.config.get_bool("LocalAuthorizeOffline"):
            return local
        if local is None and self.config.get_bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return local or {"status": "Invalid"}

    # -- transactions ----------------------------------------------------------------------

    def may_start(self, connector: Connector, id_tag: str, parent_id_tag: str | None = None) -> bool:
        if connector.connector_id == 0 or connector.fault is not None or connector.transaction is not None:
            return False
        if not (connector.operative and self.station.operative):
            return False
        reservation = connector.reservation
        if reservation is not None:
            return id_tag == reservation.id_tag or (
                parent_id_tag is not None and parent_id_tag == reservation.parent_id_tag
            )
        return True

    def begin(
        self,
        connector: Connector,
        id_tag: str,
        id_tag_info: dict[str, Any] | None = None,
        charging_profile: dict[str, Any] | None = None,
    ) -> Transaction:
        """Start a transaction locally and queue its StartTransaction."""
        now = self.clock.now()
        if connector.ev is None:
            # A remote start for a connector without a car: the driver plugs in right away.
            connector.ev = ElectricVehicle(soc=self.rng.uniform(10.0, 50.0))
        reservation_id = None
        if connector.reservation is not None:
            reservation_id = connector.reservation.reservation_id
            connector.reservation = None
        connector.finished = False
        connector.last_update = now
        tx = Transaction(
            connector_id=connector.connector_id,
            id_tag=id_tag,
            meter_start=int(connector.register_wh),
            started_at=now,
            reservation_id=reservation_id,
            id_tag_info=id_tag_info,
        )
        tx._live_register = tx.meter_start
        tx.begin_sample = self._sample(connector, "Transaction.Begin", self.config.get_list("StopTxnSampledData"))
        connector.transaction = tx
        self.transactions.append(tx)
        if charging_profile is not None:
            self.profiles.install(
                connector.connector_id, charging_profile, transaction_running=True, transaction_id=None
            )
        payload: Payload = {
            "connectorId": connector.connector_id,
            "idTag": id_tag,
            "meterStart": tx.meter_start,
            "timestamp": iso(now),
        }
        if reservation_id is not None:
            payload["reservationId"] = reservation_id

        def started(result: Payload) -> None:
            tx.confirm(result["transactionId"], result["idTagInfo"])
            self.remember(id_tag, result["idTagInfo"])
            self._notify()
            if (
                result["idTagInfo"]["status"] != "Accepted"
                and connector.transaction is tx
                and self.config.get_bool("StopTransactionOnInvalidId")
            ):
                self._end(connector, "DeAuthorized")

        self.send_persistent("StartTransaction", lambda: payload, on_result=started)
        self._update_power(connector, now)
        self.refresh(connector)
        connector.task = self._spawn(self._charge(connector, tx), name=f"sim-{self.identity}-{connector.connector_id}")
        return tx

    def _end(
        self, connector: Connector, reason: str, id_tag: str | None = None, *, unplugged: bool = False
    ) -> Transaction | None:
        tx = connector.transaction
        if tx is None:
            return None
        now = self.clock.now()
        self.advance(connector, now)
        tx.meter_stop = int(connector.register_wh)
        tx.stopped_at = now
        tx.stop_reason = reason
        tx.stop_id_tag = id_tag
        tx.end_sample = self._sample(connector, "Transaction.End", self.config.get_list("StopTxnSampledData"))
        connector.transaction = None
        connector.power_w = connector.offered_w = 0.0
        if connector.task is not None and connector.task is not asyncio.current_task():
            connector.task.cancel()
        connector.task = None
        self.profiles.end_transaction(connector.connector_id)
        if unplugged:
            connector.ev = None
        connector.finished = connector.ev is not None
        if connector.scheduled_operative is not None:
            connector.operative, connector.scheduled_operative = connector.scheduled_operative, None
        if self.station.scheduled_operative is not None and not any(c.transaction for c in self.connectors.values()):
            self.station.operative, self.station.scheduled_operative = self.station.scheduled_operative, None
            self.refresh_all()

        def build() -> Payload | None:
            if tx.transaction_id is None:
                return None  # the central system never took the StartTransaction
            payload: Payload = {
                "transactionId": tx.transaction_id,
                "meterStop": tx.meter_stop,
                "timestamp": iso(now),
                "reason": reason,
            }
            if id_tag is not None:
                payload["idTag"] = id_tag
            data = [s for s in (tx.begin_sample, tx.end_sample) if s and s["sampledValue"]]
            if data:
                payload["transactionData"] = data
            return payload

        self.send_persistent("StopTransaction", build)
        self.refresh(connector)
        return tx

    def _unplug(self, connector: Connector) -> None:
        if connector.ev is None:
            return
        if connector.transaction is not None:
            if self.config.get_bool("StopTransactionOnEVSideDisconnect"):
                self._end(connector, "EVDisconnected", unplugged=True)
                return
            # The transaction stays open, suspended, until a cable comes back or it is stopped.
            self.advance(connector, self.clock.now())
            connector.ev = None
            self.refresh(connector)
            return
        connector.ev = None
        connector.finished = False
        self.refresh(connector)

    def _sample(self, connector: Connector, context: str, measurands: list[str]) -> dict[str, Any]:
        return meter.sample(
            measurands,
            at=self.clock.now(),
            context=context,
            register_wh=connector.register_wh,
            power_w=connector.power_w,
            offered_w=connector.offered_w,
            soc=connector.ev.soc if connector.ev is not None else None,
            rng=self.rng,
        )

    def meter_values_payload(self, connector: Connector, context: str) -> Payload:
        self.advance(connector, self.clock.now())
        value = self._sample(connector, context, self.config.get_list("MeterValuesSampledData"))
        payload: Payload = {"connectorId": connector.connector_id, "meterValue": [value]}
        tx = connector.transaction
        if tx is not None and tx.transaction_id is not None:
            payload["transactionId"] = tx.transaction_id
        return payload

    def _queue_meter_values(self, connector: Connector, tx: Transaction) -> None:
        value = self._sample(connector, "Sample.Periodic", self.config.get_list("MeterValuesSampledData"))
        if not value["sampledValue"]:
            return
        tx.meter_values.append(value)

        def build() -> Payload:
            payload: Payload = {"connectorId": connector.connector_id, "meterValue": [value]}
            if tx.transaction_id is not None:
                payload["transactionId"] = tx.transaction_id
            return payload

        self.send_persistent("MeterValues", build)

    async def _charge(self, connector: Connector, tx: Transaction) -> None:
        """The running transaction: energy flow, periodic MeterValues, status changes."""
        await charge(self, connector, tx, lambda: self._queue_meter_values(connector, tx))
