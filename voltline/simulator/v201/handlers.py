"""What a simulated 2.0.1 station does when the CSMS asks: the Core CS→CP actions that start,
stop and control charging (transactions, availability, reset, unlock, triggers).

As for 1.6 (`voltline.simulator.handlers`), each handler answers at once and lets the effect
follow once the answer is on its way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from voltline.simulator.connector import Connector
from voltline.simulator.handlers import after_answer
from voltline.simulator.parts.reboot import BOOT_SECONDS
from voltline.simulator.v201.records import Transaction201
from voltline.simulator.v201.transactions import TransactionEventsPart as Station
from voltline.simulator.v201.transactions import usable

Payload = dict[str, Any]
Handler = Callable[[Station, Payload], Awaitable[Payload]]


# -- transactions ------------------------------------------------------------------------------


def _remote_start_evse(cp: Station, evse_id: int | None, token: str) -> Connector | None:
    if evse_id is not None:
        return cp.connectors.get(evse_id)
    # Prefer an EVSE where a car already waits, then any free one.
    candidates = sorted(cp.connectors.values(), key=lambda e: (e.ev is None, e.connector_id))
    return next((e for e in candidates if _unauthorized_transaction(e) or cp.may_start(e, token)), None)


def _unauthorized_transaction(evse: Connector) -> Transaction201 | None:
    tx = evse.transaction
    return tx if isinstance(tx, Transaction201) and not tx.authorized else None


async def request_start_transaction(cp: Station, payload: Payload) -> Payload:
    token, remote_start_id = payload["idToken"], payload["remoteStartId"]
    profile = payload.get("chargingProfile")
    if profile is not None and profile["chargingProfilePurpose"] != "TxProfile":
        return {"status": "Rejected"}
    evse = _remote_start_evse(cp, payload.get("evseId"), token["idToken"])
    if evse is None:
        return {"status": "Rejected"}
    running = _unauthorized_transaction(evse)
    if running is None and not cp.may_start(evse, token["idToken"]):
        return {"status": "Rejected"}

    async def start() -> None:
        if cp.config.get_bool("AuthorizeRemoteTxRequests"):
            info = await cp.authorize(token)
            if not usable(info, cp.clock.now()):
                cp._error(f"remote start for {token['idToken']} not authorized: {info.get('status')}")
                return
        else:
            info = {"status": "Accepted"}
        tx = cp.authorized(evse, token, info, "RemoteStart", remote_start_id)
        if tx is None and evse.ev is None and evse.connector_id in cp.authorizations:
            # The TxStartPoint waits for the cable: the driver plugs in right away.
            await cp.plug_in(evse.connector_id)

    after_answer(cp, start)
    answer: Payload = {"status": "Accepted"}
    if running is not None:
        # Already started (TxStartPoint EVConnected): the remote start authorizes that transaction.
        answer["transactionId"] = running.transaction_id
    return answer


async def request_stop_transaction(cp: Station, payload: Payload) -> Payload:
    tx = cp.transaction(payload["transactionId"])
    if tx is None or not tx.active:
        return {"status": "Rejected"}
    evse = cp.connectors[tx.connector_id]
    after_answer(cp, lambda: cp.end_transaction(evse, "Remote", "RemoteStop"))
    return {"status": "Accepted"}


async def get_transaction_status(cp: Station, payload: Payload) -> Payload:
    transaction_id = payload.get("transactionId")
    answer: Payload = {"messagesInQueue": cp.messages_in_queue(transaction_id)}
    if transaction_id is not None:
        tx = cp.transaction(transaction_id)
        answer["ongoingIndicator"] = tx is not None and tx.active
    return answer


# -- availability and reset -------------------------------------------------------------------


def _any_transaction(cp: Station) -> bool:
    return any(e.transaction is not None for e in cp.connectors.values())


async def change_availability(cp: Station, payload: Payload) -> Payload:
    operative = payload["operationalStatus"] == "Operative"
    where = payload.get("evse")
    if where is None:
        target: Any = cp.station
        busy = _any_transaction(cp)
    else:
        evse = cp.connectors.get(where["id"])
        if evse is None:
            return {"status": "Rejected"}
        busy = evse.transaction is not None
        target = evse
        if "connectorId" in where:
            target = cp.plugs[evse.connector_id].get(where["connectorId"])
            if target is None:
                return {"status": "Rejected"}
    if busy and target.operative != operative:
        # A running transaction is not cut short: the change waits for it to end.
        target.scheduled_operative = operative
        return {"status": "Scheduled"}
    target.operative = operative
    target.scheduled_operative = None
    if not operative and isinstance(target, Connector) and target.reservation is not None:
        target.reservation = None
    after_answer(cp, cp.refresh_all)
    return {"status": "Accepted"}


async def _reboot_station(cp: Station) -> None:
    cp.boot_reason = "RemoteReset"
    for evse in cp.connectors.values():
        cp.end_transaction(evse, "ImmediateReset", "ResetCommand")
    if cp.online:
        # The Ended events and the answer on the wire reach the CSMS before the station goes down.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(cp.call_timeout):
                await cp.outbox.delivered.wait()
                await cp.flush_in_flight()
    await cp.request_reboot()


async def _reset_evse(cp: Station, evse: Connector) -> None:
    cp.end_transaction(evse, "ImmediateReset", "ResetCommand")
    operative, evse.operative = evse.operative, False
    cp.refresh(evse)
    await cp.clock.sleep(BOOT_SECONDS)
    evse.operative = operative
    cp.refresh(evse)


async def reset(cp: Station, payload: Payload) -> Payload:
    immediate = payload["type"] == "Immediate"
    evse_id = payload.get("evseId")
    evse = None
    if evse_id is not None:
        evse = cp.connectors.get(evse_id)
        if evse is None:
            return {"status": "Rejected"}
    busy = evse.transaction is not None if evse is not None else _any_transaction(cp)

    scheduled_after = cp.resets_done

    async def when_due() -> None:
        if not immediate:
            idle = (lambda: evse.transaction is None) if evse is not None else (lambda: not _any_transaction(cp))
            await cp.wait_until(idle, None)
            if evse is None and cp.resets_done != scheduled_after:
                return  # the station was reset meanwhile (an Immediate reset): this one is done
        if evse is None:
            cp.resets_done += 1
        await (_reset_evse(cp, evse) if evse is not None else _reboot_station(cp))

    after_answer(cp, when_due)
    return {"status": "Scheduled" if busy and not immediate else "Accepted"}


async def unlock_connector(cp: Station, payload: Payload) -> Payload:
    evse = cp.connectors.get(payload["evseId"])
    plug = cp.plugs.get(payload["evseId"], {}).get(payload["connectorId"])
    if evse is None or plug is None:
        return {"status": "UnknownConnector"}
    tx = evse.transaction
    if isinstance(tx, Transaction201) and tx.plug_id == plug.connector_id:
        if tx.authorized:
            return {"status": "OngoingAuthorizedTransaction"}
        cp.end_transaction(evse, "Other", "UnlockCommand")
    return {"status": "Unlocked"}


# -- triggers ---------------------------------------------------------------------------------


def _trigger(cp: Station, requested: str, where: Payload | None) -> str:
    if where is not None and where["id"] not in cp.connectors:
        return "Rejected"
    evses = [cp.connectors[where["id"]]] if where is not None else list(cp.connectors.values())
    if requested == "BootNotification":
        after_answer(cp, cp.trigger_boot)
    elif requested == "Heartbeat":
        after_answer(cp, lambda: cp.send_requested("Heartbeat", {}))
    elif requested == "StatusNotification":
        plugs = [p for e in evses for p in cp.plugs[e.connector_id].values()]
        if where is not None and "connectorId" in where:
            plugs = [p for p in plugs if p.connector_id == where["connectorId"]]
            if not plugs:
                return "Rejected"
        after_answer(cp, lambda: [cp.report_plug(p, requested=True) for p in plugs])
    elif requested == "MeterValues":

        def send_meter_values() -> None:
            for evse in evses:
                values = cp.meter_values_payload201(evse)
                if values is not None:
                    cp.send_requested("MeterValues", values)

        after_answer(cp, send_meter_values)
    elif requested == "TransactionEvent":
        running = [e for e in evses if e.transaction is not None]
        if not running:
            return "Rejected"
        after_answer(cp, lambda: [cp.triggered_event(e) for e in running])
    elif requested == "FirmwareStatusNotification":
        after_answer(cp, lambda: cp.send_requested("FirmwareStatusNotification", _firmware_report(cp)))
    elif requested == "LogStatusNotification":
        after_answer(cp, lambda: cp.send_requested("LogStatusNotification", cp.maintenance.log_report()))
    elif requested == "SignChargingStationCertificate":
        csr = {"csr": cp.client_certificate.request(), "certificateType": "ChargingStationCertificate"}
        after_answer(cp, lambda: cp.send_requested("SignCertificate", csr))
    else:
        return "NotImplemented"
    return "Accepted"


def _firmware_report(cp: Station) -> Payload:
    report = cp.maintenance.firmware_report()
    if cp.maintenance.firmware_busy and cp.maintenance.firmware_request_id is not None:
        report["requestId"] = cp.maintenance.firmware_request_id
    return report


async def trigger_message(cp: Station, payload: Payload) -> Payload:
    return {"status": _trigger(cp, payload["requestedMessage"], payload.get("evse"))}


HANDLERS: dict[str, Handler] = {
    "ChangeAvailability": change_availability,
    "GetTransactionStatus": get_transaction_status,
    "RequestStartTransaction": request_start_transaction,
    "RequestStopTransaction": request_stop_transaction,
    "Reset": reset,
    "TriggerMessage": trigger_message,
    "UnlockConnector": unlock_connector,
}
