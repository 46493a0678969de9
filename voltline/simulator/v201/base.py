"""The state of a simulated OCPP 2.0.1 charging station over the version-free station state.

An EVSE is the simulator's `Connector` (energy, transaction, EV, availability, fault,
reservation: what the shared parts drive); its connectors are `Plug`s, which carry the
connectorStatus reported per EVSE and connector. The settings the shared parts read are the same
as for 1.6; the device model is 2.0.1's face on them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from voltline.ocpp.rpc import CallErrorReceived, CallTimeout, ConnectionLost
from voltline.ocpp.schemas import Validators
from voltline.simulator.clock import iso
from voltline.simulator.connector import Connector
from voltline.simulator.outbox import Payload
from voltline.simulator.parts.base import SimulatorError, StationBase
from voltline.simulator.v201 import inventory
from voltline.simulator.v201.records import Plug, Transaction201
from voltline.simulator.v201.schemas import ERROR_CODES, OCPP201, validators201

DEFAULT_UPDATED_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"


class StationBase201(StationBase):
    subprotocols: ClassVar[tuple[str, ...]] = (OCPP201,)
    error_codes: ClassVar[Mapping[str, str] | None] = ERROR_CODES

    def __init__(
        self,
        identity: str,
        url: str,
        *,
        evses: int = 1,
        connectors_per_evse: int = 1,
        items_per_message: int = inventory.ITEMS_PER_MESSAGE,
        **options: Any,
    ) -> None:
        if connectors_per_evse < 1:
            raise ValueError("an EVSE has at least one connector")
        options.pop("connectors", None)
        super().__init__(identity, url, connectors=evses, **options)
        # 2.0.1's FirmwareStatusNotification carries the requestId of its UpdateFirmware.
        self.maintenance.signed_firmware_action = "FirmwareStatusNotification"
        self.config.set("MeterValuesSampledData", DEFAULT_UPDATED_MEASURANDS)
        self.plugs: dict[int, dict[int, Plug]] = {
            evse_id: {c: Plug(evse_id, c) for c in range(1, connectors_per_evse + 1)} for evse_id in self.connectors
        }
        self.boot_reason = "PowerUp"
        # Station resets carried out: an OnIdle reset still waiting is void once another came first.
        self.resets_done = 0
        self.network_profiles: dict[int, Payload] = {}
        self.customer_reports: list[Payload] = []
        self.device_model = inventory.build(self, items_per_message=items_per_message)

    def ocpp_validators(self) -> Validators:
        return validators201()

    # -- seams --------------------------------------------------------------------------------

    def _charging_state_seen(self, evse: Connector) -> None:
        """Transactions: the EVSE's state changed; report a new chargingState."""
        raise NotImplementedError

    # -- boot -----------------------------------------------------------------------------------

    def boot_payload(self) -> Payload:
        reason = "FirmwareUpdate" if self.maintenance.firmware_busy else self.boot_reason
        return {
            "reason": reason,
            "chargingStation": {
                "model": self.model,
                "vendorName": self.vendor,
                "serialNumber": self.serial_number,
                "firmwareVersion": self.firmware_version,
            },
        }

    def apply_boot_result(self, result: Payload) -> None:
        super().apply_boot_result(result)
        if result["status"] == "Accepted":
            # The next boot says why it happens (a reset or update sets it); none expected.
            self.boot_reason = "Unknown"

    def trigger_boot(self) -> None:
        if self._needs_boot:
            self._boot_trigger.set()
            return
        payload = self.boot_payload() | {"reason": "Triggered"}
        self.send_volatile("BootNotification", payload, on_result=self.apply_boot_result)

    def send_requested(self, action: str, payload: Payload, on_result: Callable[[Payload], None] | None = None) -> None:
        """Send a message the CSMS asked for (a report, a triggered message). Once accepted it
        queues like any other; while Pending the station may still send what the CSMS requested
        (OCPP 2.0.1 B02), so it goes straight onto the session."""
        if self._online_now():
            self.send_volatile(action, payload, on_result)
            return
        session = self._session
        if session is None or session.closed or self.silent or self.registration_status != "Pending":
            return

        async def send() -> None:
            try:
                result = await session.call(action, payload)
            except (CallTimeout, CallErrorReceived, ConnectionLost) as exc:
                self._error(f"{action}: {exc}")
                return
            if on_result is not None:
                on_result(result)

        self._spawn(send(), name=f"sim-{self.identity}-{action}")

    # -- EVSEs and connectors -------------------------------------------------------------------

    def evse(self, evse_id: int) -> Connector:
        try:
            return self.connectors[evse_id]
        except KeyError:
            raise SimulatorError(f"{self.identity} has no EVSE {evse_id}") from None

    def plug(self, evse_id: int, connector_id: int) -> Plug:
        try:
            return self.plugs[evse_id][connector_id]
        except KeyError:
            raise SimulatorError(f"{self.identity} has no connector {connector_id} on EVSE {evse_id}") from None

    def plug_status(self, evse: Connector, plug: Plug) -> str:
        if evse.fault is not None:
            return "Faulted"
        if evse.transaction is not None or evse.ev is not None:
            # One cable at a time: the other connectors of the EVSE cannot be used meanwhile.
            return "Occupied" if plug.in_use else "Unavailable"
        if not (self.station.operative and evse.operative and plug.operative):
            return "Unavailable"
        return "Reserved" if evse.reservation is not None else "Available"

    def evse_state(self, evse: Connector) -> str:
        statuses = {p.status for p in self.plugs[evse.connector_id].values()}
        for status in ("Faulted", "Occupied", "Reserved", "Available"):
            if status in statuses:
                return status
        return "Unavailable"

    def station_state(self) -> str:
        if not self.station.operative:
            return "Unavailable"
        states = {self.evse_state(e) for e in self.connectors.values()}
        return "Available" if "Available" in states else next(iter(sorted(states)), "Unavailable")

    def transaction(self, transaction_id: str) -> Transaction201 | None:
        return next(
            (tx for tx in self.transactions if isinstance(tx, Transaction201) and tx.transaction_id == transaction_id),
            None,
        )

    # -- status reports -------------------------------------------------------------------------

    def refresh(self, connector: Connector) -> None:
        connector.status, connector.error_code, connector.info = connector.derive_status(self.station.operative)
        evses = self.connectors.values() if connector is self.station else [connector]
        for evse in evses:
            for plug in self.plugs[evse.connector_id].values():
                status = self.plug_status(evse, plug)
                if status != plug.status:
                    plug.status = status
                    self.report_plug(plug)
            if evse.transaction is not None:
                self._charging_state_seen(evse)
        self._notify()

    def report_status(self, connector: Connector) -> None:
        if connector is self.station:
            return  # 2.0.1 reports connectors only
        for plug in self.plugs[connector.connector_id].values():
            self.report_plug(plug)

    def report_plug(self, plug: Plug, *, requested: bool = False) -> None:
        """Report a connector's status; `requested` (by a TriggerMessage) also while Pending."""
        status = plug.status

        def acknowledged(_result: Payload) -> None:
            plug.reported = status

        send = self.send_requested if requested else self.send_volatile
        send("StatusNotification", self.status_payload201(plug), acknowledged)

    def status_payload201(self, plug: Plug) -> Payload:
        return {
            "timestamp": iso(self.clock.now()),
            "connectorStatus": plug.status,
            "evseId": plug.evse_id,
            "connectorId": plug.connector_id,
        }

    def _resync_statuses(self, *, force: bool) -> None:
        for evse_plugs in self.plugs.values():
            for plug in evse_plugs.values():
                if force or plug.reported != plug.status:
                    self.report_plug(plug)

    def status201(self, evse_id: int, connector_id: int = 1) -> str:
        """The connectorStatus of one connector, as last derived."""
        return self.plug(evse_id, connector_id).status

    async def wait_for_connector_status(
        self, evse_id: int, status: str, connector_id: int = 1, timeout: float | None = 10.0
    ) -> None:
        plug = self.plug(evse_id, connector_id)
        await self.wait_until(lambda: plug.status == status, timeout)
