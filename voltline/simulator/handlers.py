"""What the simulated station does when the central system asks: every CS→CP action of OCPP 1.6
and of the 1.6 security extension.

Each handler answers at once and lets the effect follow, as firmware does: a message the answer
announces (a triggered StatusNotification, the StopTransaction of a remote stop) is queued after
the answer has been handed to the connection, so the central system always sees the answer first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from voltline.simulator.clock import iso, parse_iso
from voltline.simulator.connector import Reservation
from voltline.simulator.parts import Station
from voltline.simulator.smart_charging import TX, from_watts

Payload = dict[str, Any]
Handler = Callable[[Station, Payload], Awaitable[Payload]]


def after_answer(cp: Station, action: Callable[[], Any]) -> None:
    """Run `action` once the current answer is on its way (the handler's caller sends it
    synchronously when the handler returns, before the loop runs callbacks)."""

    def run() -> None:
        result = action()
        if asyncio.iscoroutine(result):
            cp._spawn(result)

    asyncio.get_running_loop().call_soon(run)


def _valid_connector(cp: Station, connector_id: int, *, allow_zero: bool = True) -> bool:
    return (allow_zero and connector_id == 0) or connector_id in cp.connectors


# -- Core ------------------------------------------------------------------------------------


async def change_availability(cp: Station, payload: Payload) -> Payload:
    connector_id, operative = payload["connectorId"], payload["type"] == "Operative"
    if not _valid_connector(cp, connector_id):
        return {"status": "Rejected"}
    targets = list(cp.connectors.values()) if connector_id == 0 else [cp.connectors[connector_id]]
    scheduled = False
    for connector in targets:
        if connector.transaction is not None:
            # A running session is not cut short: the change waits for it to end.
            connector.scheduled_operative = operative
            scheduled = True
        else:
            connector.operative = operative
            connector.scheduled_operative = None
            if not operative and connector.reservation is not None:
                connector.reservation = None
    if connector_id == 0:
        if scheduled:
            cp.station.scheduled_operative = operative
        else:
            cp.station.operative = operative
            cp.station.scheduled_operative = None
    after_answer(cp, cp.refresh_all)
    return {"status": "Scheduled" if scheduled else "Accepted"}


async def change_configuration(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.config.change(payload["key"], payload["value"])}


async def get_configuration(cp: Station, payload: Payload) -> Payload:
    known, unknown = cp.config.describe(payload.get("key"))
    answer: Payload = {"configurationKey": known}
    if unknown:
        answer["unknownKey"] = unknown
    return answer


async def clear_cache(cp: Station, payload: Payload) -> Payload:
    cp.auth_cache.clear()
    return {"status": "Accepted"}


async def data_transfer(cp: Station, payload: Payload) -> Payload:
    if payload["vendorId"] != cp.vendor:
        return {"status": "UnknownVendorId"}
    # The one vendor message the simulator knows: an echo, handy to test a DataTransfer round trip.
    if payload.get("messageId") not in (None, "Echo"):
        return {"status": "UnknownMessageId"}
    answer: Payload = {"status": "Accepted"}
    if "data" in payload:
        answer["data"] = payload["data"]
    return answer


async def remote_start_transaction(cp: Station, payload: Payload) -> Payload:
    id_tag = payload["idTag"]
    profile = payload.get("chargingProfile")
    if profile is not None and profile["chargingProfilePurpose"] != TX:
        return {"status": "Rejected"}
    connector_id = payload.get("connectorId")
    if connector_id is None:
        # Prefer the connector where a car already waits, then any free one.
        candidates = sorted(cp.connectors.values(), key=lambda c: (c.ev is None, c.connector_id))
        connector = next((c for c in candidates if cp.may_start(c, id_tag)), None)
    else:
        connector = cp.connectors.get(connector_id)
    if connector is None or not cp.may_start(connector, id_tag):
        return {"status": "Rejected"}

    async def start() -> None:
        if cp.config.get_bool("AuthorizeRemoteTxRequests"):
            info = await cp.authorize(id_tag)
            if info.get("status") != "Accepted":
                cp._error(f"remote start for {id_tag} not authorized: {info.get('status')}")
                return
        else:
            info = {"status": "Accepted"}
        if cp.may_start(connector, id_tag, info.get("parentIdTag")):
            cp.begin(connector, id_tag, info, profile)

    after_answer(cp, start)
    return {"status": "Accepted"}


async def remote_stop_transaction(cp: Station, payload: Payload) -> Payload:
    for connector in cp.connectors.values():
        tx = connector.transaction
        if tx is not None and tx.transaction_id == payload["transactionId"]:
            after_answer(cp, lambda c=connector: cp._end(c, "Remote"))
            return {"status": "Accepted"}
    return {"status": "Rejected"}


async def reset(cp: Station, payload: Payload) -> Payload:
    after_answer(cp, lambda: cp.reset(payload["type"]))
    return {"status": "Accepted"}


async def unlock_connector(cp: Station, payload: Payload) -> Payload:
    connector = cp.connectors.get(payload["connectorId"])
    if connector is None:
        return {"status": "NotSupported"}
    if connector.transaction is not None:
        cp._end(connector, "UnlockCommand")
    return {"status": "Unlocked"}


# -- Firmware management -----------------------------------------------------------------------


async def get_diagnostics(cp: Station, payload: Payload) -> Payload:
    return {"fileName": cp.maintenance.start_diagnostics()}


async def update_firmware(cp: Station, payload: Payload) -> Payload:
    cp.maintenance.start_firmware_update(payload["location"], payload["retrieveDate"])
    return {}


# -- Local authorization list --------------------------------------------------------------------


async def get_local_list_version(cp: Station, payload: Payload) -> Payload:
    return {"listVersion": cp.local_list.version}


async def send_local_list(cp: Station, payload: Payload) -> Payload:
    status = cp.local_list.update(
        payload["listVersion"], payload["updateType"], payload.get("localAuthorizationList", [])
    )
    return {"status": status}


# -- Reservation -----------------------------------------------------------------------------------


async def reserve_now(cp: Station, payload: Payload) -> Payload:
    connector_id = payload["connectorId"]
    if connector_id == 0 or connector_id not in cp.connectors:
        return {"status": "Rejected"}  # ReserveConnectorZeroSupported is false
    connector = cp.connectors[connector_id]
    expires_at = parse_iso(payload["expiryDate"])
    if expires_at <= cp.clock.now():
        return {"status": "Rejected"}
    if connector.fault is not None:
        return {"status": "Faulted"}
    if not (connector.operative and cp.station.operative):
        return {"status": "Unavailable"}
    other = connector.reservation
    if (
        connector.transaction is not None
        or connector.ev is not None
        or (other is not None and other.reservation_id != payload["reservationId"])
    ):
        return {"status": "Occupied"}
    reservation = Reservation(
        reservation_id=payload["reservationId"],
        connector_id=connector_id,
        id_tag=payload["idTag"],
        expires_at=expires_at,
        parent_id_tag=payload.get("parentIdTag"),
    )
    after_answer(cp, lambda: cp.reserve(reservation))
    return {"status": "Accepted"}


async def cancel_reservation(cp: Station, payload: Payload) -> Payload:
    found = any(
        c.reservation is not None and c.reservation.reservation_id == payload["reservationId"]
        for c in cp.connectors.values()
    )
    if not found:
        return {"status": "Rejected"}
    after_answer(cp, lambda: cp.cancel_reservation(payload["reservationId"]))
    return {"status": "Accepted"}


# -- Smart charging --------------------------------------------------------------------------------


async def set_charging_profile(cp: Station, payload: Payload) -> Payload:
    connector_id = payload["connectorId"]
    if not _valid_connector(cp, connector_id):
        return {"status": "Rejected"}
    profile = payload["csChargingProfiles"]
    if profile["chargingSchedule"]["chargingRateUnit"] not in ("A", "W"):
        return {"status": "Rejected"}
    tx = cp.connectors[connector_id].transaction if connector_id else None
    # Energy so far flowed under the old limits.
    cp.advance_all()
    status = cp.profiles.install(
        connector_id,
        profile,
        transaction_running=tx is not None,
        transaction_id=tx.transaction_id if tx else None,
    )
    if status == "Accepted":
        cp.wake_all()
    return {"status": status}


async def clear_charging_profile(cp: Station, payload: Payload) -> Payload:
    cp.advance_all()
    cleared = cp.profiles.clear(
        profile_id=payload.get("id"),
        connector_id=payload.get("connectorId"),
        purpose=payload.get("chargingProfilePurpose"),
        stack_level=payload.get("stackLevel"),
    )
    if cleared:
        cp.wake_all()
    return {"status": "Accepted" if cleared else "Unknown"}


async def get_composite_schedule(cp: Station, payload: Payload) -> Payload:
    connector_id, duration = payload["connectorId"], payload["duration"]
    if not _valid_connector(cp, connector_id):
        return {"status": "Rejected"}
    unit = payload.get("chargingRateUnit", "W")
    start = cp.clock.now().replace(microsecond=0)
    end = start + timedelta(seconds=duration)
    connector = cp.connectors.get(connector_id)
    tx = connector.transaction if connector else None
    anchor = tx.started_at if tx else start
    periods: list[Payload] = []
    for moment in cp.profiles.boundaries(start, end, anchor):
        station = cp.profiles.station_limit(moment)
        if connector is None:
            watts = station if station is not None else cp.max_power_w * len(cp.connectors)
        else:
            watts = cp.max_power_w
            own = cp.profiles.connector_limit(
                connector_id,
                moment,
                anchor,
                transaction_running=tx is not None,
                transaction_id=tx.transaction_id if tx else None,
            )
            for limit in (own, station):
                if limit is not None:
                    watts = min(watts, limit)
        limit = round(from_watts(watts, unit), 1)
        offset = int((moment - start).total_seconds())
        if periods and periods[-1]["startPeriod"] == offset:
            periods.pop()
        if periods and periods[-1]["limit"] == limit:
            continue
        periods.append({"startPeriod": offset, "limit": limit})
    return {
        "status": "Accepted",
        "connectorId": connector_id,
        "scheduleStart": iso(start),
        "chargingSchedule": {
            "duration": duration,
            "startSchedule": iso(start),
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": periods,
        },
    }


# -- Remote trigger ----------------------------------------------------------------------------------


def _trigger(cp: Station, requested: str, connector_id: int | None) -> str:
    if connector_id is not None and not _valid_connector(cp, connector_id):
        return "Rejected"
    if requested == "SignChargePointCertificate":
        after_answer(cp, lambda: cp.send_volatile("SignCertificate", {"csr": cp.client_certificate.request()}))
    elif requested == "BootNotification":
        after_answer(cp, cp.trigger_boot)
    elif requested == "Heartbeat":
        after_answer(cp, lambda: cp.send_volatile("Heartbeat", {}))
    elif requested == "StatusNotification":
        targets = cp.all_connectors() if connector_id is None else [cp.connector(connector_id)]
        after_answer(cp, lambda: [cp.report_status(c) for c in targets])
    elif requested == "MeterValues":
        targets = list(cp.connectors.values()) if not connector_id else [cp.connectors[connector_id]]
        after_answer(
            cp, lambda: [cp.send_volatile("MeterValues", cp.meter_values_payload(c, "Trigger")) for c in targets]
        )
    elif requested == "DiagnosticsStatusNotification":
        after_answer(
            cp, lambda: cp.send_volatile("DiagnosticsStatusNotification", cp.maintenance.diagnostics_report())
        )
    elif requested == "FirmwareStatusNotification":
        after_answer(cp, lambda: cp.send_volatile("FirmwareStatusNotification", cp.maintenance.firmware_report()))
    elif requested == "LogStatusNotification":
        after_answer(cp, lambda: cp.send_volatile("LogStatusNotification", cp.maintenance.log_report()))
    else:
        return "NotImplemented"
    return "Accepted"


async def trigger_message(cp: Station, payload: Payload) -> Payload:
    return {"status": _trigger(cp, payload["requestedMessage"], payload.get("connectorId"))}


async def extended_trigger_message(cp: Station, payload: Payload) -> Payload:
    return {"status": _trigger(cp, payload["requestedMessage"], payload.get("connectorId"))}


# -- Security extension ------------------------------------------------------------------------------


async def certificate_signed(cp: Station, payload: Payload) -> Payload:
    # Accepted only for the key of the station's own request: any other chain is of no use to it.
    return {"status": "Accepted" if cp.client_certificate.accept(payload["certificateChain"]) else "Rejected"}


async def install_certificate(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.certificates.install(payload["certificateType"], payload["certificate"])}


async def get_installed_certificate_ids(cp: Station, payload: Payload) -> Payload:
    ids = cp.certificates.ids(payload["certificateType"])
    if not ids:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashData": ids}


async def delete_certificate(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.certificates.delete(payload["certificateHashData"])}


async def get_log(cp: Station, payload: Payload) -> Payload:
    status, name = cp.maintenance.start_log_upload(payload["requestId"], payload["logType"])
    return {"status": status, "filename": name}


async def signed_update_firmware(cp: Station, payload: Payload) -> Payload:
    return {"status": cp.maintenance.start_signed_firmware_update(payload["requestId"], payload["firmware"])}


HANDLERS: dict[str, Handler] = {
    "CancelReservation": cancel_reservation,
    "CertificateSigned": certificate_signed,
    "ChangeAvailability": change_availability,
    "ChangeConfiguration": change_configuration,
    "ClearCache": clear_cache,
    "ClearChargingProfile": clear_charging_profile,
    "DataTransfer": data_transfer,
    "DeleteCertificate": delete_certificate,
    "ExtendedTriggerMessage": extended_trigger_message,
    "GetCompositeSchedule": get_composite_schedule,
    "GetConfiguration": get_configuration,
    "GetDiagnostics": get_diagnostics,
    "GetInstalledCertificateIds": get_installed_certificate_ids,
    "GetLocalListVersion": get_local_list_version,
    "GetLog": get_log,
    "InstallCertificate": install_certificate,
    "RemoteStartTransaction": remote_start_transaction,
    "RemoteStopTransaction": remote_stop_transaction,
    "ReserveNow": reserve_now,
    "Reset": reset,
    "SendLocalList": send_local_list,
    "SetChargingProfile": set_charging_profile,
    "SignedUpdateFirmware": signed_update_firmware,
    "TriggerMessage": trigger_message,
    "UnlockConnector": unlock_connector,
    "UpdateFirmware": update_firmware,
}
