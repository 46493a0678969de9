"""OCPP 1.6 messages the Central System sends, translated from and to the domain's requests.

`encode` turns a domain request into its 1.6 action and payload; `decode_answer` reads the charge
point's answer as the request's result; `read_request` turns a 1.6 request as an operator wrote it
(the generic command endpoint) into the domain request it means, so the services apply the same
effects to it. Payloads reaching `read_request` and answers reaching `decode_answer` have passed
the official schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from voltline.ocpp import commands as c
from voltline.ocpp import timestamps

Payload = dict[str, Any]

# Every message the Central System sends in OCPP 1.6, and in its security extension.
CENTRAL_SYSTEM_ACTIONS = (
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "InstallCertificate",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "SignedUpdateFirmware",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
)

# TriggerMessage / ExtendedTriggerMessage `requestedMessage` → the action the charge point sends.
TRIGGERED_ACTIONS = {
    "BootNotification": "BootNotification",
    "DiagnosticsStatusNotification": "DiagnosticsStatusNotification",
    "FirmwareStatusNotification": "FirmwareStatusNotification",
    "Heartbeat": "Heartbeat",
    "MeterValues": "MeterValues",
    "StatusNotification": "StatusNotification",
    "LogStatusNotification": "LogStatusNotification",
    "SignChargePointCertificate": "SignCertificate",
}

# Triggered for no connector in particular, these come once per connector.
PER_CONNECTOR = frozenset({"StatusNotification", "MeterValues"})
PER_CONNECTOR_WITHIN_S = 60.0


# 2.0.1's words for a reset, read as the nearest 1.6 has.
RESET_TYPES = {"Hard": "Hard", "Soft": "Soft", "Immediate": "Hard", "OnIdle": "Soft"}


def _time(value: datetime) -> str:
    return timestamps.format(value)


def _profile_time(value: datetime) -> str:
    # Profiles have always gone out with whole seconds as written (2026-11-01T10:00:00Z).
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: str | None) -> datetime | None:
    return None if value is None else timestamps.parse(value)


def _optional(payload: Payload, **values: Any) -> Payload:
    payload.update({key: value for key, value in values.items() if value is not None})
    return payload


# -- domain → 1.6 -----------------------------------------------------------------------------


ID_TAG_LENGTH = 20
"""1.6's idTag is a CiString20Type; Voltline keeps 2.0.1's idTokens of up to 36 beside them."""


def id_tag(value: str, field: str = "idTag") -> str:
    """`value` as a 1.6 idTag: one longer than 1.6 allows is refused here, with the reason, rather
    than by the charge point as a schema violation (or worse, cut to another tag)."""
    if len(value) > ID_TAG_LENGTH:
        raise c.Inexpressible(
            f"{field} {value!r} has {len(value)} characters; an OCPP 1.6 charge point takes at most {ID_TAG_LENGTH}"
        )
    return value


def _parent(value: str | None) -> str | None:
    return None if value is None else id_tag(value, "parentIdTag")


def id_tag_info(info: c.IdTagInfo) -> Payload:
    return _optional({"status": info.status},
                     expiryDate=_time(info.expiry_date) if info.expiry_date else None, parentIdTag=_parent(info.parent_id_tag))


def charging_profile(profile: c.ChargingProfileSpec) -> Payload:
    schedule = profile.schedule
    periods = [_optional({"startPeriod": p.start_period, "limit": p.limit}, numberPhases=p.number_phases)
               for p in schedule.periods]
    wire_schedule = _optional(
        {"chargingRateUnit": schedule.rate_unit},
        duration=schedule.duration,
        startSchedule=_profile_time(schedule.start_schedule) if schedule.start_schedule else None,
    )
    wire_schedule["chargingSchedulePeriod"] = periods
    _optional(wire_schedule, minChargingRate=schedule.min_charging_rate)
    return _optional(
        {
            "chargingProfileId": profile.charging_profile_id,
            "stackLevel": profile.stack_level,
            "chargingProfilePurpose": profile.purpose,
            "chargingProfileKind": profile.kind,
        },
        transactionId=profile.transaction_id,
        recurrencyKind=profile.recurrency_kind,
        validFrom=_profile_time(profile.valid_from) if profile.valid_from else None,
        validTo=_profile_time(profile.valid_to) if profile.valid_to else None,
    ) | {"chargingSchedule": wire_schedule}


def _connector(evse_id: int | None, connector_id: int | None) -> int | None:
    """The 1.6 connectorId of a location the domain may name by EVSE (EVSE N's connector 1 or
    the whole EVSE is 1.6's connector N, which has one)."""
    if evse_id is None:
        return connector_id
    if connector_id is not None and connector_id > 1:
        raise c.Inexpressible(f"OCPP 1.6 cannot name connector {connector_id} of EVSE {evse_id}")
    return evse_id


def _reset(r: c.Reset) -> Payload:
    if r.evse_id is not None:
        raise c.Inexpressible("OCPP 1.6 resets the whole charge point, never one EVSE")
    return {"type": RESET_TYPES[r.kind]}


def _start(r: c.StartCharging) -> Payload:
    return _optional({"idTag": id_tag(r.id_tag)}, connectorId=_connector(r.evse_id, r.connector_id),
                     chargingProfile=charging_profile(r.charging_profile) if r.charging_profile else None)


def _reserve(r: c.ReserveConnector) -> Payload:
    return _optional({"connectorId": r.connector_id, "expiryDate": _time(r.expiry_date), "idTag": id_tag(r.id_tag),
                      "reservationId": r.reservation_id}, parentIdTag=_parent(r.parent_id_tag))


def _local_list(r: c.SendLocalList) -> Payload:
    payload: Payload = {"listVersion": r.version, "updateType": r.update_type}
    if r.entries:
        payload["localAuthorizationList"] = [
            {"idTag": id_tag(e.id_tag)} | ({"idTagInfo": id_tag_info(e.info)} if e.info is not None else {})
            for e in r.entries
        ]
    return payload


def _clear(r: c.ClearChargingProfiles) -> Payload:
    return _optional({}, id=r.profile_id, connectorId=r.connector_id, chargingProfilePurpose=r.purpose,
                     stackLevel=r.stack_level)


def _diagnostics(r: c.UploadDiagnostics) -> Payload:
    return _optional({"location": r.location}, retries=r.retries, retryInterval=r.retry_interval,
                     startTime=_time(r.start_time) if r.start_time else None,
                     stopTime=_time(r.stop_time) if r.stop_time else None)


def _log(r: c.UploadLog) -> Payload:
    log = _optional({"remoteLocation": r.location}, oldestTimestamp=_time(r.oldest) if r.oldest else None,
                    latestTimestamp=_time(r.latest) if r.latest else None)
    return _optional({"logType": r.log_type, "requestId": r.request_id, "log": log},
                     retries=r.retries, retryInterval=r.retry_interval)


def _signed_firmware(r: c.InstallSignedFirmware) -> Payload:
    firmware = _optional({"location": r.location, "retrieveDateTime": _time(r.retrieve_date)},
                         installDateTime=_time(r.install_date) if r.install_date else None)
    firmware |= {"signingCertificate": r.signing_certificate, "signature": r.signature}
    return _optional({"requestId": r.request_id, "firmware": firmware}, retries=r.retries, retryInterval=r.retry_interval)


def certificate_hash(h: c.CertificateHash) -> Payload:
    return {"hashAlgorithm": h.hash_algorithm, "issuerNameHash": h.issuer_name_hash,
            "issuerKeyHash": h.issuer_key_hash, "serialNumber": h.serial_number}


_ENCODERS: dict[type[c.Request[Any]], tuple[str, Callable[[Any], Payload]]] = {
    c.StartCharging: ("RemoteStartTransaction", _start),
    c.StopCharging: ("RemoteStopTransaction", lambda r: {"transactionId": r.transaction_id}),
    c.Reset: ("Reset", _reset),
    c.UnlockConnector: ("UnlockConnector", lambda r: {"connectorId": _connector(r.evse_id, r.connector_id)}),
    c.ChangeAvailability: ("ChangeAvailability", lambda r: {"connectorId": _connector(r.evse_id, r.connector_id),
                                                            "type": r.availability}),
    c.TriggerMessage: ("TriggerMessage", lambda r: _optional(
        {"requestedMessage": r.message}, connectorId=_connector(r.evse_id, r.connector_id))),
    c.ReserveConnector: ("ReserveNow", _reserve),
    c.CancelReservation: ("CancelReservation", lambda r: {"reservationId": r.reservation_id}),
    c.SendLocalList: ("SendLocalList", _local_list),
    c.GetLocalListVersion: ("GetLocalListVersion", lambda r: {}),
    c.InstallChargingProfile: ("SetChargingProfile",
                               lambda r: {"connectorId": r.connector_id, "csChargingProfiles": charging_profile(r.profile)}),
    c.ClearChargingProfiles: ("ClearChargingProfile", _clear),
    c.ReadConfiguration: ("GetConfiguration", lambda r: {"key": list(r.keys)} if r.keys else {}),
    c.ChangeConfiguration: ("ChangeConfiguration", lambda r: {"key": r.key, "value": r.value}),
    c.UpdateFirmware: ("UpdateFirmware", lambda r: _optional(
        {"location": r.location, "retrieveDate": _time(r.retrieve_date)}, retries=r.retries, retryInterval=r.retry_interval)),
    c.UploadDiagnostics: ("GetDiagnostics", _diagnostics),
    c.UploadLog: ("GetLog", _log),
    c.InstallSignedFirmware: ("SignedUpdateFirmware", _signed_firmware),
    c.CertificateSigned: ("CertificateSigned", lambda r: {"certificateChain": r.certificate_chain}),
    c.InstallCertificate: ("InstallCertificate",
                           lambda r: {"certificateType": r.certificate_type, "certificate": r.certificate}),
    c.GetInstalledCertificateIds: ("GetInstalledCertificateIds", lambda r: {"certificateType": r.certificate_type}),
    c.DeleteCertificate: ("DeleteCertificate", lambda r: {"certificateHashData": certificate_hash(r.certificate)}),
    c.ExtendedTriggerMessage: ("ExtendedTriggerMessage",
                               lambda r: _optional({"requestedMessage": r.message}, connectorId=r.connector_id)),
}


def encode(request: c.Request[Any]) -> tuple[str, Payload]:
    """The 1.6 action and payload that ask for `request`."""
    action, build = _ENCODERS[type(request)]
    return action, build(request)


# -- 1.6 → domain -----------------------------------------------------------------------------


def _info(p: Mapping[str, Any]) -> c.IdTagInfo:
    return c.IdTagInfo(p["status"], _parse(p.get("expiryDate")), p.get("parentIdTag"))


def read_charging_profile(p: Mapping[str, Any]) -> c.ChargingProfileSpec:
    s = p["chargingSchedule"]
    schedule = c.ChargingSchedule(
        s["chargingRateUnit"],
        tuple(c.SchedulePeriod(q["startPeriod"], q["limit"], q.get("numberPhases")) for q in s["chargingSchedulePeriod"]),
        s.get("duration"), _parse(s.get("startSchedule")), s.get("minChargingRate"),
    )
    return c.ChargingProfileSpec(
        p["chargingProfileId"], p["stackLevel"], p["chargingProfilePurpose"], p["chargingProfileKind"], schedule,
        p.get("recurrencyKind"), p.get("transactionId"), _parse(p.get("validFrom")), _parse(p.get("validTo")),
    )


def _read_start(p: Payload) -> c.StartCharging:
    profile = p.get("chargingProfile")
    return c.StartCharging(p["idTag"], p.get("connectorId"), read_charging_profile(profile) if profile else None)


def _read_local_list(p: Payload) -> c.SendLocalList:
    entries = tuple(
        c.LocalListChange(e["idTag"], _info(e["idTagInfo"]) if "idTagInfo" in e else None)
        for e in p.get("localAuthorizationList", ())
    )
    return c.SendLocalList(p["listVersion"], p["updateType"], entries)


def _read_log(p: Payload) -> c.UploadLog:
    log = p["log"]
    return c.UploadLog(p["requestId"], p["logType"], log["remoteLocation"], _parse(log.get("oldestTimestamp")),
                       _parse(log.get("latestTimestamp")), p.get("retries"), p.get("retryInterval"))


def _read_signed_firmware(p: Payload) -> c.InstallSignedFirmware:
    f = p["firmware"]
    return c.InstallSignedFirmware(
        p["requestId"], f["location"], timestamps.parse(f["retrieveDateTime"]), f["signingCertificate"], f["signature"],
        _parse(f.get("installDateTime")), p.get("retries"), p.get("retryInterval"),
    )


def read_certificate_hash(p: Mapping[str, Any]) -> c.CertificateHash:
    return c.CertificateHash(p["hashAlgorithm"], p["issuerNameHash"], p["issuerKeyHash"], p["serialNumber"])


_READERS: dict[str, Callable[[Payload], c.Request[Any]]] = {
    "RemoteStartTransaction": _read_start,
    "RemoteStopTransaction": lambda p: c.StopCharging(p["transactionId"]),
    "Reset": lambda p: c.Reset(p["type"]),
    "UnlockConnector": lambda p: c.UnlockConnector(p["connectorId"]),
    "ChangeAvailability": lambda p: c.ChangeAvailability(p["connectorId"], p["type"]),
    "TriggerMessage": lambda p: c.TriggerMessage(p["requestedMessage"], p.get("connectorId")),
    "ReserveNow": lambda p: c.ReserveConnector(p["reservationId"], p["connectorId"], p["idTag"],
                                               timestamps.parse(p["expiryDate"]), p.get("parentIdTag")),
    "CancelReservation": lambda p: c.CancelReservation(p["reservationId"]),
    "SendLocalList": _read_local_list,
    "GetLocalListVersion": lambda p: c.GetLocalListVersion(),
    "SetChargingProfile": lambda p: c.InstallChargingProfile(p["connectorId"], read_charging_profile(p["csChargingProfiles"])),
    "ClearChargingProfile": lambda p: c.ClearChargingProfiles(p.get("id"), p.get("connectorId"),
                                                              p.get("chargingProfilePurpose"), p.get("stackLevel")),
    "GetConfiguration": lambda p: c.ReadConfiguration(tuple(p.get("key") or ())),
    "ChangeConfiguration": lambda p: c.ChangeConfiguration(p["key"], p["value"]),
    "UpdateFirmware": lambda p: c.UpdateFirmware(p["location"], timestamps.parse(p["retrieveDate"]),
                                                 p.get("retries"), p.get("retryInterval")),
    "GetDiagnostics": lambda p: c.UploadDiagnostics(p["location"], _parse(p.get("startTime")), _parse(p.get("stopTime")),
                                                    p.get("retries"), p.get("retryInterval")),
    "GetLog": _read_log,
    "SignedUpdateFirmware": _read_signed_firmware,
    "CertificateSigned": lambda p: c.CertificateSigned(p["certificateChain"]),
    "InstallCertificate": lambda p: c.InstallCertificate(p["certificateType"], p["certificate"]),
    "GetInstalledCertificateIds": lambda p: c.GetInstalledCertificateIds(p["certificateType"]),
    "DeleteCertificate": lambda p: c.DeleteCertificate(read_certificate_hash(p["certificateHashData"])),
    "ExtendedTriggerMessage": lambda p: c.ExtendedTriggerMessage(p["requestedMessage"], p.get("connectorId")),
}


def read_request(action: str, payload: Payload) -> c.Request[Any] | None:
    """The domain request a 1.6 request means; None for one with no domain meaning (ClearCache,
    DataTransfer, GetCompositeSchedule): it is sent as it is and has no effect to apply."""
    read = _READERS.get(action)
    return read(payload) if read is not None else None


def _status(p: Mapping[str, Any]) -> str | None:
    status = p.get("status")
    return status if isinstance(status, str) else None


def _configuration(p: Mapping[str, Any]) -> c.ConfigurationRead:
    keys = tuple(
        c.ConfigurationValue(item["key"], item.get("value"), bool(item.get("readonly", False)))
        for item in p.get("configurationKey") or ()
    )
    return c.ConfigurationRead(None, keys, tuple(p.get("unknownKey") or ()))


_ANSWERS: dict[str, Callable[[Mapping[str, Any]], c.Answer]] = {
    "RemoteStartTransaction": lambda p: c.StartAnswer(_status(p)),
    "GetConfiguration": _configuration,
    "GetLocalListVersion": lambda p: c.LocalListVersionRead(None, p.get("listVersion")),
    "GetDiagnostics": lambda p: c.DiagnosticsUpload(None, p.get("fileName")),
    "GetInstalledCertificateIds": lambda p: c.InstalledCertificateIds(
        _status(p), tuple(read_certificate_hash(h) for h in p.get("certificateHashData") or ())),
}


def decode_answer(action: str, answer: Mapping[str, Any]) -> c.Answer:
    """The result a 1.6 answer to `action` means."""
    read = _ANSWERS.get(action)
    return read(answer) if read is not None else c.Answer(_status(answer))


def triggered(action: str, payload: Mapping[str, Any]) -> tuple[str, float | None] | None:
    """The message a (Extended)TriggerMessage asks for, and for how long it may keep coming
    (None: once), so a charge point not yet Accepted is served it."""
    if action not in ("TriggerMessage", "ExtendedTriggerMessage"):
        return None
    message = TRIGGERED_ACTIONS.get(payload.get("requestedMessage", ""))
    if message is None:
        return None
    per_connector = message in PER_CONNECTOR and payload.get("connectorId") is None
    return message, PER_CONNECTOR_WITHIN_S if per_connector else None
