"""Transactions as a 2.0.1 station runs them: a transaction starts at the TxStartPoint (cable,
authorization, or both), every change is a TransactionEvent numbered from seqNo 0, and events
created while the station is offline are queued and later sent in order with `offline: true`
and the time they happened."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from typing import Any

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost
from voltline.simulator import meter
from voltline.simulator.clock import iso, parse_iso
from voltline.simulator.connector import Connector
from voltline.simulator.outbox import Outgoing, Payload
from voltline.simulator.parts.base import SimulatorError
from voltline.simulator.parts.charging import charge
from voltline.simulator.session import ElectricVehicle, Transaction
from voltline.simulator.v201.base import StationBase201
from voltline.simulator.v201.inventory import MEASURANDS
from voltline.simulator.v201.records import Transaction201

TOKEN_TYPE = "ISO14443"  # an RFID card
CABLE_POINTS = frozenset({"ParkingBayOccupancy", "EVConnected"})
AUTHORIZATION_POINTS = frozenset({"Authorized", "DataSigned"})
BOTH_POINTS = frozenset({"PowerPathClosed", "EnergyTransfer"})
# stoppedReason → the triggerReason of the Ended event, where the caller gives none.
TRIGGER_OF = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "EVDisconnected": "EVCommunicationLost",
    "ImmediateReset": "ResetCommand",
    "DeAuthorized": "Deauthorized",
    "EnergyLimitReached": "EnergyLimitReached",
}


def id_token(token: str, token_type: str = TOKEN_TYPE) -> Payload:
    return {"idToken": token, "type": token_type}


def usable(info: Payload, now: datetime) -> bool:
    """An idTokenInfo that lets its holder charge right now."""
    if info.get("status") != "Accepted":
        return False
    expiry = info.get("cacheExpiryDateTime")
    return expiry is None or parse_iso(expiry) > now


def meter_value201(value: dict[str, Any]) -> Payload | None:
    """A sampled MeterValue in 2.0.1's shape (numbers, unitOfMeasure), None when it has no value."""
    sampled = []
    for entry in value["sampledValue"]:
        if entry["measurand"] not in MEASURANDS:
            continue
        item: Payload = {
            "value": float(entry["value"]),
            "context": entry["context"],
            "measurand": entry["measurand"],
            "location": entry["location"],
        }
        if "phase" in entry:
            item["phase"] = entry["phase"]
        if "unit" in entry:
            item["unitOfMeasure"] = {"unit": entry["unit"]}
        sampled.append(item)
    return {"timestamp": value["timestamp"], "sampledValue": sampled} if sampled else None


def charging_state(evse: Connector, tx: Transaction201) -> str:
    if evse.ev is None:
        return "Idle"
    if not tx.authorized:
        return "EVConnected"
    if evse.power_w > 0:
        return "Charging"
    if evse.ev.satisfied or evse.offered_w > 0:
        return "SuspendedEV"
    return "SuspendedEVSE"


class TransactionEventsPart(StationBase201):
    """What the driver does, and the TransactionEvents it causes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An authorization given before the cable was plugged in, by EVSE: (idToken, idTokenInfo).
        self.authorizations: dict[int, tuple[Payload, Payload, int | None]] = {}

    # -- driver actions --------------------------------------------------------------------

    async def plug_in(
        self,
        evse_id: int = 1,
        id_token: str | None = None,
        *,
        connector_id: int = 1,
        token_type: str = TOKEN_TYPE,
        energy_kwh: float | None = None,
        battery_kwh: float = 60.0,
        soc: float | None = None,
        max_power_w: float = 11_000.0,
        unplug_when_full: bool = False,
        id_tag: str | None = None,
    ) -> Transaction201 | None:
        """An EV is plugged into a connector of an EVSE; with `id_token` the driver also presents a
        card. Returns the transaction, or None when none has started. (`id_tag`, 1.6's name for
        the card, lets one scenario drive stations of both versions.)"""
        id_token = id_token if id_token is not None else id_tag
        evse = self.evse(evse_id)
        plug = self.plug(evse_id, connector_id)
        if evse.ev is not None:
            raise SimulatorError(f"{self.identity} EVSE {evse_id} already has an EV plugged in")
        evse.ev = ElectricVehicle(
            battery_wh=battery_kwh * 1000.0,
            soc=self.rng.uniform(10.0, 50.0) if soc is None else soc,
            max_power_w=max_power_w,
            energy_wanted_wh=None if energy_kwh is None else energy_kwh * 1000.0,
            unplug_when_full=unplug_when_full,
        )
        evse.finished = False
        for other in self.plugs[evse_id].values():
            other.in_use = other is plug
        tx = evse.transaction
        if isinstance(tx, Transaction201):
            # The transaction outlived the previous cable (no cable-based TxStopPoint).
            evse.wake.set()
            self.refresh(evse)
            return tx
        waiting = self.authorizations.pop(evse_id, None)
        if waiting is not None and self._start_due(evse, authorized=True):
            token, info, remote_start_id = waiting
            tx = self.begin(evse, "CablePluggedIn", token, info, remote_start_id=remote_start_id)
        elif waiting is None and self._start_due(evse, authorized=False):
            tx = self.begin(evse, "CablePluggedIn")
        elif waiting is not None:
            self.authorizations[evse_id] = waiting
        self.refresh(evse)
        if id_token is None:
            return tx
        return await self.present_token(evse_id, id_token, token_type)

    async def present_token(
        self, evse_id: int, token: str, token_type: str = TOKEN_TYPE
    ) -> Transaction201 | None:
        """A driver presents a card at an EVSE: authorizes (and maybe starts) a transaction, or
        ends the running one when it is the same card (or one of the same group)."""
        evse = self.evse(evse_id)
        presented = id_token(token, token_type)
        tx = evse.transaction
        if isinstance(tx, Transaction201) and tx.authorized:
            assert tx.id_token is not None
            if tx.id_token["idToken"] == token:
                return self._end(evse, "Local", token, trigger="StopAuthorized")
            info = await self.authorize(presented)
            group = (tx.id_tag_info or {}).get("groupIdToken")
            if group is not None and info.get("groupIdToken") == group:
                return self._end(evse, "Local", token, trigger="StopAuthorized")
            return None
        info = await self.authorize(presented)
        if not usable(info, self.clock.now()):
            self._error(f"{token} not authorized: {info.get('status')}")
            return None
        return self.authorized(evse, presented, info, "Authorized")

    present_tag = present_token  # the name scenarios and the 1.6 station use

    def authorized(
        self, evse: Connector, token: Payload, info: Payload, trigger: str, remote_start_id: int | None = None
    ) -> Transaction201 | None:
        """An authorization for `evse` (a card, or a remote start): it joins the running
        transaction, starts one, or waits for the cable."""
        tx = evse.transaction
        if isinstance(tx, Transaction201):
            if tx.authorized:
                return None
            now = self.clock.now()
            self.advance(evse, now)  # no energy flowed before the authorization
            tx.id_token, tx.id_tag, tx.id_tag_info = token, token["idToken"], info
            if remote_start_id is not None:
                tx.remote_start_id = remote_start_id
            self._update_power(evse, now)
            self._event(tx, "Updated", trigger, with_token=True)
            evse.wake.set()
            self.refresh(evse)
            return tx
        if not self.may_start(evse, token["idToken"], info.get("groupIdToken")):
            return None
        if self._start_due(evse, authorized=True):
            return self.begin(evse, trigger, token, info, remote_start_id=remote_start_id)
        self.authorizations[evse.connector_id] = (token, info, remote_start_id)
        return None

    async def stop_charging(self, evse_id: int, reason: str = "Local") -> Transaction201 | None:
        """The driver (or the station) ends the running transaction; the cable stays plugged in."""
        evse = self.evse(evse_id)
        return self._end(evse, reason) if evse.transaction else None

    async def unplug(self, evse_id: int) -> None:
        self._unplug(self.evse(evse_id))

    async def fault(self, evse_id: int, error_code: str = "OtherError", info: str | None = None) -> None:
        """A hardware fault: the EVSE's connectors report Faulted and a running transaction ends."""
        evse = self.evse(evse_id)
        if evse.transaction is not None:
            self._end(evse, "Other", trigger="AbnormalCondition")
        evse.fault = (error_code, info)
        self.refresh(evse)

    async def clear_fault(self, evse_id: int) -> None:
        evse = self.evse(evse_id)
        evse.fault = None
        self.refresh(evse)

    # -- authorization ---------------------------------------------------------------------

    async def authorize(self, token: Payload) -> Payload:
        """The idTokenInfo for a token: the cache where allowed, else the CSMS, else offline rules."""
        key = f"{token['type']}:{token['idToken']}"
        cached = self.auth_cache.lookup(key) if self.config.get_bool("AuthorizationCacheEnabled") else None
        now = self.clock.now()
        if cached is not None and usable(cached, now) and self.config.get_bool("LocalPreAuthorize"):
            return cached
        if self._online_now():
            try:
                result = await self.call("Authorize", {"idToken": token})
            except (CallTimeout, CallErrorReceived, ConnectionLost) as exc:
                self._error(f"Authorize: {exc}")
            else:
                info = result["idTokenInfo"]
                if self.config.get_bool("AuthorizationCacheEnabled"):
                    self.auth_cache.remember(key, info)
                return info
        if cached is not None and self.config.get_bool("LocalAuthorizeOffline"):
            return cached
        if cached is None and self.config.get_bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return cached or {"status": "Invalid"}

    # -- transactions ----------------------------------------------------------------------

    def _start_due(self, evse: Connector, *, authorized: bool) -> bool:
        """Whether the TxStartPoint is reached (any of its members)."""
        points = set(self.device_model.members("TxCtrlr", "TxStartPoint"))
        cable = evse.ev is not None
        return bool(
            (points & CABLE_POINTS and cable)
            or (points & AUTHORIZATION_POINTS and authorized)
            or (points & BOTH_POINTS and cable and authorized)
        )

    def _stops_on_unplug(self) -> bool:
        points = set(self.device_model.members("TxCtrlr", "TxStopPoint"))
        cable_based = points & (CABLE_POINTS | BOTH_POINTS)
        return bool(cable_based) or self.config.get_bool("StopTransactionOnEVSideDisconnect")

    def may_start(self, evse: Connector, token: str | None = None, group: str | None = None) -> bool:
        if evse.fault is not None or evse.transaction is not None:
            return False
        plug = next((p for p in self.plugs[evse.connector_id].values() if p.in_use), None)
        if not (evse.operative and self.station.operative and (plug is None or plug.operative)):
            return False
        reservation = evse.reservation
        if reservation is not None:
            return token == reservation.id_tag or (group is not None and group == reservation.parent_id_tag)
        return True

    def begin(
        self,
        evse: Connector,
        trigger: str,
        token: Payload | None = None,
        info: Payload | None = None,
        *,
        remote_start_id: int | None = None,
        charging_profile: Payload | None = None,
    ) -> Transaction201:
        """Start a transaction and queue its Started event."""
        now = self.clock.now()
        if evse.ev is None:
            # Authorized first and the TxStartPoint does not wait for the cable: the driver
            # plugs in right away.
            evse.ev = ElectricVehicle(soc=self.rng.uniform(10.0, 50.0))
            next(iter(self.plugs[evse.connector_id].values())).in_use = True
        reservation_id = None
        if evse.reservation is not None:
            reservation_id = evse.reservation.reservation_id
            evse.reservation = None
        evse.finished = False
        evse.last_update = now
        plug = next((p for p in self.plugs[evse.connector_id].values() if p.in_use), None)
        tx = Transaction201(
            connector_id=evse.connector_id,
            id_tag=token["idToken"] if token else "",
            meter_start=int(evse.register_wh),
            started_at=now,
            reservation_id=reservation_id,
            # Not from the seeded generator: a station started again with the same seed (every
            # run of the demo) would tell the CSMS of sessions it had already ended.
            transaction_id=str(uuid.uuid4()),
            id_tag_info=info,
            plug_id=plug.connector_id if plug else 1,
            id_token=token,
            remote_start_id=remote_start_id,
        )
        tx._live_register = tx.meter_start
        evse.transaction = tx
        self.transactions.append(tx)
        self.authorizations.pop(evse.connector_id, None)
        if charging_profile is not None:
            self.profiles.install(evse.connector_id, charging_profile, transaction_running=True, transaction_id=None)
        self._update_power(evse, now)
        begin = self._meter_value(evse, "Transaction.Begin", "TxStartedMeasurands")
        self._event(tx, "Started", trigger, meter_value=begin, with_token=token is not None)
        self.refresh(evse)
        evse.task = self._spawn(self._charge(evse, tx), name=f"sim-{self.identity}-evse{evse.connector_id}")
        return tx

    def _end(
        self,
        connector: Connector,
        reason: str,
        id_tag: str | None = None,
        *,
        unplugged: bool = False,
        trigger: str | None = None,
    ) -> Transaction | None:
        tx = connector.transaction
        if not isinstance(tx, Transaction201):
            return None
        now = self.clock.now()
        self.advance(connector, now)
        tx.meter_stop = int(connector.register_wh)
        tx.stopped_at = now
        tx.stop_reason = reason
        tx.stop_id_tag = id_tag
        end = self._meter_value(connector, "Transaction.End", "TxEndedMeasurands")
        connector.transaction = None
        connector.power_w = connector.offered_w = 0.0
        if connector.task is not None and connector.task is not asyncio.current_task():
            connector.task.cancel()
        connector.task = None
        self.profiles.end_transaction(connector.connector_id)
        plugs = self.plugs[connector.connector_id].values()
        if unplugged:
            connector.ev = None
            for plug in plugs:
                plug.in_use = False
        connector.finished = connector.ev is not None
        tx.charging_state = "EVConnected" if connector.ev is not None else "Idle"
        self._event(tx, "Ended", trigger or TRIGGER_OF.get(reason, "AbnormalCondition"), meter_value=end,
                    stopped_reason=reason)
        # Availability changes that waited for the transaction take effect now.
        if connector.scheduled_operative is not None:
            connector.operative, connector.scheduled_operative = connector.scheduled_operative, None
        for plug in plugs:
            if plug.scheduled_operative is not None:
                plug.operative, plug.scheduled_operative = plug.scheduled_operative, None
        if self.station.scheduled_operative is not None and not any(c.transaction for c in self.connectors.values()):
            self.station.operative, self.station.scheduled_operative = self.station.scheduled_operative, None
            self.refresh_all()
        self.refresh(connector)
        return tx

    def end_transaction(self, evse: Connector, reason: str, trigger: str) -> Transaction | None:
        return self._end(evse, reason, trigger=trigger)

    def _unplug(self, evse: Connector) -> None:
        if evse.ev is None:
            return
        if evse.transaction is not None:
            if self._stops_on_unplug():
                self._end(evse, "EVDisconnected", unplugged=True, trigger="EVCommunicationLost")
                return
            # The transaction stays open, Idle, until a cable comes back or it is stopped.
            self.advance(evse, self.clock.now())
            evse.ev = None
            self.refresh(evse)
            return
        evse.ev = None
        evse.finished = False
        for plug in self.plugs[evse.connector_id].values():
            plug.in_use = False
        self.refresh(evse)

    # -- events ------------------------------------------------------------------------------

    def _meter_value(self, evse: Connector, context: str, measurands_variable: str) -> Payload | None:
        measurands = self.device_model.members("SampledDataCtrlr", measurands_variable)
        value = meter.sample(
            measurands,
            at=self.clock.now(),
            context=context,
            register_wh=evse.register_wh,
            power_w=evse.power_w,
            offered_w=evse.offered_w,
            soc=evse.ev.soc if evse.ev is not None else None,
            rng=self.rng,
            per_phase=False,
        )
        return meter_value201(value)

    def _event(
        self,
        tx: Transaction201,
        event_type: str,
        trigger: str,
        *,
        meter_value: Payload | None = None,
        with_token: bool = False,
        stopped_reason: str | None = None,
    ) -> Payload:
        """Queue one TransactionEvent, numbered and stamped now, offline if the station is."""
        evse = self.connectors[tx.connector_id]
        if event_type != "Ended":
            tx.charging_state = charging_state(evse, tx)
        info: Payload = {"transactionId": tx.transaction_id, "chargingState": tx.charging_state}
        if stopped_reason is not None:
            info["stoppedReason"] = stopped_reason
        if tx.remote_start_id is not None:
            info["remoteStartId"] = tx.remote_start_id
        payload: Payload = {
            "eventType": event_type,
            "timestamp": iso(self.clock.now()),
            "triggerReason": trigger,
            "seqNo": tx.next_seq_no(),
            "transactionInfo": info,
            "evse": {"id": tx.connector_id, "connectorId": tx.plug_id},
        }
        if not self._online_now():
            payload["offline"] = True
        if with_token and tx.id_token is not None:
            payload["idToken"] = tx.id_token
        if meter_value is not None:
            payload["meterValue"] = [meter_value]
        if event_type == "Started" and tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        tx.events.append(payload)

        def answered(result: Payload) -> None:
            tx._confirmed.set()
            token_info = result.get("idTokenInfo")
            if token_info is None:
                return
            tx.id_tag_info = token_info
            if (
                token_info["status"] != "Accepted"
                and evse.transaction is tx
                and self.config.get_bool("StopTransactionOnInvalidId")
            ):
                self._end(evse, "DeAuthorized", trigger="Deauthorized")

        self.outbox.put(
            Outgoing("TransactionEvent", lambda: payload, persistent=True, on_result=answered, about=tx.transaction_id)
        )
        self._notify()
        return payload

    def _charging_state_seen(self, evse: Connector) -> None:
        tx = evse.transaction
        if isinstance(tx, Transaction201) and tx.charging_state != charging_state(evse, tx):
            self._event(tx, "Updated", "ChargingStateChanged")

    def triggered_event(self, evse: Connector) -> bool:
        """A TriggerMessage(TransactionEvent): an Updated event with the meter now."""
        tx = evse.transaction
        if not isinstance(tx, Transaction201):
            return False
        self.advance(evse, self.clock.now())
        self._event(tx, "Updated", "Trigger", meter_value=self._meter_value(evse, "Trigger", "TxUpdatedMeasurands"))
        return True

    def meter_values_payload201(self, evse: Connector) -> Payload | None:
        """A MeterValues request (asked for by a trigger) of one EVSE, None with nothing to report."""
        self.advance(evse, self.clock.now())
        value = self._meter_value(evse, "Trigger", "TxUpdatedMeasurands")
        return None if value is None else {"evseId": evse.connector_id, "meterValue": [value]}

    async def _charge(self, evse: Connector, tx: Transaction201) -> None:
        """The running transaction: energy flow, periodic Updated events (TxUpdatedInterval)."""

        def sample() -> None:
            value = self._meter_value(evse, "Sample.Periodic", "TxUpdatedMeasurands")
            if value is not None:
                tx.meter_values.append(value)
                self._event(tx, "Updated", "MeterValuePeriodic", meter_value=value)

        await charge(self, evse, tx, sample)

    async def stop_all_sessions(self, reason: str = "Local", timeout: float = 5.0) -> None:
        """End every running transaction and give the CSMS `timeout` real seconds to get the events."""
        for evse in self.connectors.values():
            if evse.transaction is not None:
                self._end(evse, reason)
        if self._online_now():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.outbox.delivered.wait()

    def messages_in_queue(self, transaction_id: str | None = None) -> bool:
        """GetTransactionStatus: whether TransactionEvents (of that transaction) wait to be delivered."""
        return self.outbox.holds("TransactionEvent", transaction_id)
