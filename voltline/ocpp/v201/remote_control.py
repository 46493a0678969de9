"""What an operator asks of a 2.0.1 charge point: RequestStart/StopTransaction, Reset, ChangeAvailability, UnlockConnector, TriggerMessage, ClearCache and the rest of the CS→CP Core messages (blocks B, C, F, G, L, M, N).

ENCODERS turn the domain's requests (voltline/ocpp/commands.py) into 2.0.1 messages, READERS turn
a 2.0.1 request as an operator wrote it (the generic command endpoint) into the domain request it
means, so the services apply the same effects as for 1.6, and ANSWERS read the answers that carry
more than a status. The domain numbers locations as 1.6 does where a request has no `evse_id`:
connector N is EVSE N with one connector, 0 the whole station (services/location.py).

Messages with no domain meaning (ClearCache, DataTransfer, SetNetworkProfile, CustomerInformation,
GetTransactionStatus...) have no reader: they are sent as written and answered as they come.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp import timestamps
from voltline.ocpp.v201.blocks import Answers, Encoders, Handler201, Payload, Readers
from voltline.ocpp.v201.tokens import GROUP_TOKEN_TYPE

HANDLERS: dict[str, Handler201] = {}

# What the station's id token is typed when the domain does not say (an operator's own token).
DEFAULT_TOKEN_TYPE = "Central"

# The domain keeps 1.6's words where 2.0.1 renamed a thing; these are the only renames.
_RESET_TYPES = {"Hard": "Immediate", "Soft": "OnIdle", "Immediate": "Immediate", "OnIdle": "OnIdle"}
_PURPOSES = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}
_PURPOSES_READ = {v: k for k, v in _PURPOSES.items()}
_CERTIFICATE_TYPES = {"CentralSystemRootCertificate": "CSMSRootCertificate"}
_CERTIFICATE_TYPES_READ = {v: k for k, v in _CERTIFICATE_TYPES.items()}

_EXTENDED_TRIGGERS = {"SignChargePointCertificate": "SignChargingStationCertificate"}

# TriggerMessage `requestedMessage` → the action the station sends.
TRIGGERED_ACTIONS = {
    "BootNotification": "BootNotification",
    "FirmwareStatusNotification": "FirmwareStatusNotification",
    "Heartbeat": "Heartbeat",
    "LogStatusNotification": "LogStatusNotification",
    "MeterValues": "MeterValues",
    "PublishFirmwareStatusNotification": "PublishFirmwareStatusNotification",
    "SignChargingStationCertificate": "SignCertificate",
    "SignCombinedCertificate": "SignCertificate",
    "SignV2GCertificate": "SignCertificate",
    "StatusNotification": "StatusNotification",
    "TransactionEvent": "TransactionEvent",
}
# Triggered for no EVSE in particular, these come once per EVSE (or connector) within a while.
PER_EVSE = frozenset({"StatusNotification", "MeterValues", "TransactionEvent"})
PER_EVSE_WITHIN_S = 60.0


def _time(value: datetime) -> str:
    return timestamps.format(value)


def _parse(value: str | None) -> datetime | None:
    return None if value is None else timestamps.parse(value)


def _optional(payload: Payload, **values: Any) -> Payload:
    payload.update({key: value for key, value in values.items() if value is not None})
    return payload


def _token(id_tag: str, token_type: str | None) -> Payload:
    return {"idToken": id_tag, "type": token_type or DEFAULT_TOKEN_TYPE}


def _evse(evse_id: int | None, connector_id: int | None) -> Payload | None:
    """An EVSEType for the domain's location; None for the whole station."""
    if evse_id is None:  # numbered as 1.6 numbers: connector N is EVSE N
        return {"id": connector_id} if connector_id else None
    return _optional({"id": evse_id}, connectorId=connector_id or None)


def _read_evse(p: Mapping[str, Any]) -> tuple[int | None, int]:
    """(evse_id, connector_id) of an optional `evse`: (None, 0) for the whole station."""
    evse = p.get("evse")
    if evse is None:
        return None, 0
    return evse["id"], evse.get("connectorId", 0)


# -- domain → 2.0.1 -----------------------------------------------------------------------------


def charging_profile(profile: c.ChargingProfileSpec) -> Payload:
    """A ChargingProfileType: one schedule (2.0.1 allows up to three), numbered as its profile."""
    if profile.transaction_id is not None and profile.ocpp_transaction_id is None:
        raise c.Inexpressible(f"2.0.1 names transaction {profile.transaction_id} by the station's own id, not given")
    s = profile.schedule
    schedule = _optional(
        {"id": profile.charging_profile_id, "chargingRateUnit": s.rate_unit,
         "chargingSchedulePeriod": [_optional({"startPeriod": p.start_period, "limit": p.limit},
                                              numberPhases=p.number_phases) for p in s.periods]},
        startSchedule=_time(s.start_schedule) if s.start_schedule else None,
        duration=s.duration, minChargingRate=s.min_charging_rate,
    )
    return _optional(
        {"id": profile.charging_profile_id, "stackLevel": profile.stack_level,
         "chargingProfilePurpose": _PURPOSES.get(profile.purpose, profile.purpose),
         "chargingProfileKind": profile.kind, "chargingSchedule": [schedule]},
        recurrencyKind=profile.recurrency_kind,
        validFrom=_time(profile.valid_from) if profile.valid_from else None,
        validTo=_time(profile.valid_to) if profile.valid_to else None,
        transactionId=profile.ocpp_transaction_id,
    )


def _start(r: c.StartCharging) -> Payload:
    if r.remote_start_id is None:
        raise c.Inexpressible("a RequestStartTransaction needs the remote start's id (RemoteStartService sets it)")
    evse_id = r.evse_id if r.evse_id is not None else r.connector_id
    return _optional(
        {"remoteStartId": r.remote_start_id, "idToken": _token(r.id_tag, r.id_token_type)},
        evseId=evse_id or None,
        chargingProfile=charging_profile(r.charging_profile) if r.charging_profile else None,
    )


def _unlock(r: c.UnlockConnector) -> Payload:
    if r.evse_id is None:
        return {"evseId": r.connector_id, "connectorId": 1}
    return {"evseId": r.evse_id, "connectorId": r.connector_id}


def _update_firmware(r: c.UpdateFirmware | c.InstallSignedFirmware) -> Payload:
    if r.request_id is None:
        raise c.Inexpressible("a 2.0.1 UpdateFirmware needs a requestId")
    firmware = {"location": r.location, "retrieveDateTime": _time(r.retrieve_date)}
    if isinstance(r, c.InstallSignedFirmware):
        _optional(firmware, installDateTime=_time(r.install_date) if r.install_date else None)
        firmware |= {"signingCertificate": r.signing_certificate, "signature": r.signature}
    return _optional({"requestId": r.request_id, "firmware": firmware}, retries=r.retries, retryInterval=r.retry_interval)


def _log(r: c.UploadLog) -> Payload:
    log = _optional({"remoteLocation": r.location}, oldestTimestamp=_time(r.oldest) if r.oldest else None,
                    latestTimestamp=_time(r.latest) if r.latest else None)
    return _optional({"logType": r.log_type, "requestId": r.request_id, "log": log},
                     retries=r.retries, retryInterval=r.retry_interval)


def certificate_hash(h: c.CertificateHash) -> Payload:
    return {"hashAlgorithm": h.hash_algorithm, "issuerNameHash": h.issuer_name_hash,
            "issuerKeyHash": h.issuer_key_hash, "serialNumber": h.serial_number}


def _reserve(r: c.ReserveConnector) -> Payload:
    # The domain reserves 1.6's connector N, which is 2.0.1's EVSE N; 0: any.
    return _optional(
        {"id": r.reservation_id, "expiryDateTime": _time(r.expiry_date), "idToken": _token(r.id_tag, r.id_token_type)},
        evseId=r.connector_id or None,
        groupIdToken=_token(r.parent_id_tag, GROUP_TOKEN_TYPE) if r.parent_id_tag else None,
    )


def _id_token_info(info: c.IdTagInfo) -> Payload:
    return _optional(
        {"status": info.status},
        cacheExpiryDateTime=_time(info.expiry_date) if info.expiry_date else None,
        groupIdToken=_token(info.parent_id_tag, GROUP_TOKEN_TYPE) if info.parent_id_tag else None,
    )


def _local_list(r: c.SendLocalList) -> Payload:
    payload: Payload = {"versionNumber": r.version, "updateType": r.update_type}
    if r.entries:
        payload["localAuthorizationList"] = [
            {"idToken": _token(e.id_tag, e.token_type)}
            | ({"idTokenInfo": _id_token_info(e.info)} if e.info is not None else {})
            for e in r.entries
        ]
    return payload


def _clear(r: c.ClearChargingProfiles) -> Payload:
    criteria = _optional({}, evseId=r.connector_id,
                         chargingProfilePurpose=_PURPOSES.get(r.purpose, r.purpose) if r.purpose else None,
                         stackLevel=r.stack_level)
    return _optional({}, chargingProfileId=r.profile_id, chargingProfileCriteria=criteria or None)


ENCODERS: Encoders = {
    c.StartCharging: ("RequestStartTransaction", _start),
    c.StopCharging: ("RequestStopTransaction",
                     lambda r: {"transactionId": r.ocpp_transaction_id or str(r.transaction_id)}),
    c.Reset: ("Reset", lambda r: _optional({"type": _RESET_TYPES[r.kind]}, evseId=r.evse_id)),
    c.UnlockConnector: ("UnlockConnector", _unlock),
    c.ChangeAvailability: ("ChangeAvailability", lambda r: _optional(
        {"operationalStatus": r.availability}, evse=_evse(r.evse_id, r.connector_id))),
    c.TriggerMessage: ("TriggerMessage", lambda r: _optional(
        {"requestedMessage": r.message}, evse=_evse(r.evse_id, r.connector_id))),
    # 2.0.1's TriggerMessage has the security extension's messages in it.
    c.ExtendedTriggerMessage: ("TriggerMessage", lambda r: _optional(
        {"requestedMessage": _EXTENDED_TRIGGERS.get(r.message, r.message)}, evse=_evse(None, r.connector_id))),
    c.UpdateFirmware: ("UpdateFirmware", _update_firmware),
    c.InstallSignedFirmware: ("UpdateFirmware", _update_firmware),
    c.UploadLog: ("GetLog", _log),
    c.InstallCertificate: ("InstallCertificate", lambda r: {
        "certificateType": _CERTIFICATE_TYPES.get(r.certificate_type, r.certificate_type), "certificate": r.certificate}),
    c.GetInstalledCertificateIds: ("GetInstalledCertificateIds", lambda r: {
        "certificateType": [_CERTIFICATE_TYPES.get(r.certificate_type, r.certificate_type)]}),
    c.DeleteCertificate: ("DeleteCertificate", lambda r: {"certificateHashData": certificate_hash(r.certificate)}),
    c.InstallChargingProfile: ("SetChargingProfile",
                               lambda r: {"evseId": r.connector_id, "chargingProfile": charging_profile(r.profile)}),
    c.ClearChargingProfiles: ("ClearChargingProfile", _clear),
    c.ReserveConnector: ("ReserveNow", _reserve),
    c.CancelReservation: ("CancelReservation", lambda r: {"reservationId": r.reservation_id}),
    c.SendLocalList: ("SendLocalList", _local_list),
    c.GetLocalListVersion: ("GetLocalListVersion", lambda r: {}),
}


# -- 2.0.1 → domain -----------------------------------------------------------------------------


def _group(p: Mapping[str, Any]) -> str | None:
    group = p.get("groupIdToken")
    return group["idToken"] if group else None


def read_charging_profile(p: Mapping[str, Any]) -> c.ChargingProfileSpec:
    """The domain's profile holds one schedule: the first, which 2.0.1 applies first."""
    s = p["chargingSchedule"][0]
    schedule = c.ChargingSchedule(
        s["chargingRateUnit"],
        tuple(c.SchedulePeriod(q["startPeriod"], q["limit"], q.get("numberPhases")) for q in s["chargingSchedulePeriod"]),
        s.get("duration"), _parse(s.get("startSchedule")), s.get("minChargingRate"),
    )
    purpose = p["chargingProfilePurpose"]
    return c.ChargingProfileSpec(
        p["id"], p["stackLevel"], _PURPOSES_READ.get(purpose, purpose), p["chargingProfileKind"], schedule,
        p.get("recurrencyKind"), None, _parse(p.get("validFrom")), _parse(p.get("validTo")),
    )


def _read_start(p: Payload) -> c.StartCharging:
    profile = p.get("chargingProfile")
    token = p["idToken"]
    return c.StartCharging(
        token["idToken"], None, read_charging_profile(profile) if profile else None,
        evse_id=p.get("evseId"), id_token_type=token["type"], remote_start_id=p["remoteStartId"],
    )


def _read_availability(p: Payload) -> c.ChangeAvailability:
    evse_id, connector_id = _read_evse(p)
    return c.ChangeAvailability(connector_id, p["operationalStatus"], evse_id)


def _read_trigger(p: Payload) -> c.TriggerMessage:
    evse_id, connector_id = _read_evse(p)
    return c.TriggerMessage(p["requestedMessage"], connector_id or None, evse_id)


def _read_firmware(p: Payload) -> c.UpdateFirmware | c.InstallSignedFirmware:
    f = p["firmware"]
    retrieve = timestamps.parse(f["retrieveDateTime"])
    if "signature" in f and "signingCertificate" in f:
        return c.InstallSignedFirmware(p["requestId"], f["location"], retrieve, f["signingCertificate"], f["signature"],
                                       _parse(f.get("installDateTime")), p.get("retries"), p.get("retryInterval"))
    return c.UpdateFirmware(f["location"], retrieve, p.get("retries"), p.get("retryInterval"), p["requestId"])


def _read_log(p: Payload) -> c.UploadLog:
    log = p["log"]
    return c.UploadLog(p["requestId"], p["logType"], log["remoteLocation"], _parse(log.get("oldestTimestamp")),
                       _parse(log.get("latestTimestamp")), p.get("retries"), p.get("retryInterval"))


def read_certificate_hash(p: Mapping[str, Any]) -> c.CertificateHash:
    return c.CertificateHash(p["hashAlgorithm"], p["issuerNameHash"], p["issuerKeyHash"], p["serialNumber"])


def _certificate_type(value: str) -> str:
    return _CERTIFICATE_TYPES_READ.get(value, value)


def _read_certificate_ids(p: Payload) -> c.GetInstalledCertificateIds | None:
    """The domain reads the certificates of one type at a time; asking for several (or all) at
    once is sent as written, and what it reports is not kept."""
    types = p.get("certificateType") or []
    return c.GetInstalledCertificateIds(_certificate_type(types[0])) if len(types) == 1 else None


def _read_reserve(p: Payload) -> c.ReserveConnector:
    token = p["idToken"]
    return c.ReserveConnector(p["id"], p.get("evseId", 0), token["idToken"], timestamps.parse(p["expiryDateTime"]),
                              _group(p), token["type"])


def _read_info(p: Mapping[str, Any]) -> c.IdTagInfo:
    return c.IdTagInfo(p["status"], _parse(p.get("cacheExpiryDateTime")), _group(p))


def _read_local_list(p: Payload) -> c.SendLocalList:
    entries = tuple(
        c.LocalListChange(e["idToken"]["idToken"], _read_info(e["idTokenInfo"]) if "idTokenInfo" in e else None,
                          e["idToken"]["type"])
        for e in p.get("localAuthorizationList", ())
    )
    return c.SendLocalList(p["versionNumber"], p["updateType"], entries)


def _read_clear(p: Payload) -> c.ClearChargingProfiles:
    criteria = p.get("chargingProfileCriteria") or {}
    purpose = criteria.get("chargingProfilePurpose")
    return c.ClearChargingProfiles(p.get("chargingProfileId"), criteria.get("evseId"),
                                   _PURPOSES_READ.get(purpose, purpose) if purpose else None, criteria.get("stackLevel"))


def _read_set_profile(p: Payload) -> c.InstallChargingProfile | None:
    profile = p["chargingProfile"]
    if "transactionId" in profile:
        # Its transaction is named by the station's id, which a domain profile cannot hold: sent
        # as written, not kept as a profile of no transaction.
        return None
    return c.InstallChargingProfile(p["evseId"], read_charging_profile(profile))


READERS: Readers = {
    "RequestStartTransaction": _read_start,
    "Reset": lambda p: c.Reset(p["type"], p.get("evseId")),
    "UnlockConnector": lambda p: c.UnlockConnector(p["connectorId"], p["evseId"]),
    "ChangeAvailability": _read_availability,
    "TriggerMessage": _read_trigger,
    "UpdateFirmware": _read_firmware,
    "GetLog": _read_log,
    "InstallCertificate": lambda p: c.InstallCertificate(_certificate_type(p["certificateType"]), p["certificate"]),
    "GetInstalledCertificateIds": _read_certificate_ids,  # type: ignore[dict-item]
    "DeleteCertificate": lambda p: c.DeleteCertificate(read_certificate_hash(p["certificateHashData"])),
    "SetChargingProfile": _read_set_profile,  # type: ignore[dict-item]
    "ClearChargingProfile": _read_clear,
    "ReserveNow": _read_reserve,
    "CancelReservation": lambda p: c.CancelReservation(p["reservationId"]),
    "SendLocalList": _read_local_list,
    "GetLocalListVersion": lambda p: c.GetLocalListVersion(),
}


def _status(p: Mapping[str, Any]) -> str | None:
    status = p.get("status")
    return status if isinstance(status, str) else None


def _installed(p: Mapping[str, Any]) -> c.InstalledCertificateIds:
    return c.InstalledCertificateIds(
        _status(p), tuple(read_certificate_hash(chain["certificateHashData"]) for chain in p.get("certificateHashDataChain") or ()))


ANSWERS: Answers = {
    "RequestStartTransaction": lambda p: c.StartAnswer(_status(p), p.get("transactionId")),
    "GetLocalListVersion": lambda p: c.LocalListVersionRead(None, p.get("versionNumber")),
    "GetInstalledCertificateIds": _installed,
}


def triggered(action: str, payload: Mapping[str, Any]) -> tuple[str, float | None] | None:
    """The message a TriggerMessage asks for, and for how long it may keep coming (None: once)."""
    if action != "TriggerMessage":
        return None
    message = TRIGGERED_ACTIONS.get(payload.get("requestedMessage", ""))
    if message is None:
        return None
    return message, PER_EVSE_WITHIN_S if message in PER_EVSE and payload.get("evse") is None else None
