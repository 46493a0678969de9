"""What an OCPP answer said, in one word and one colour: the one place the dashboard reads it.

An answer's status is its `status` field (most CS→CP and CP→CS answers), else the status of its
`idTagInfo` (1.6 Authorize / StartTransaction / StopTransaction) or `idTokenInfo` (2.0.1), else
the least good `attributeStatus` of its results (2.0.1 GetVariables / SetVariables), else,
for a CALLERROR, its error code. An answer that carries none of these (GetConfiguration,
Heartbeat, StatusNotification…) is neutral: it was answered, and says nothing more.

Tones, as badge classes: ok (the charge point / Voltline does what was asked), warn (it will,
later or in part: Scheduled, Pending, RebootRequired…), bad (it refused or failed; every
CALLERROR), muted (no status: neutral).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

OK, WARN, BAD, MUTED = "ok", "warn", "bad", "muted"

_TONES = {
    "Accepted": OK,
    "Unlocked": OK,
    "Rebooting": OK,  # 2.0.1: Reset accepted, the station restarts now
    "Scheduled": WARN,
    "Pending": WARN,
    "RebootRequired": WARN,
    "AcceptedCanceled": WARN,  # 2.0.1 FirmwareStatus / UpdateFirmware: an earlier request was dropped
    "Unknown": MUTED,  # ClearChargingProfile: nothing matched, so nothing to clear
    "NoProfiles": MUTED,
    "EmptyResultSet": MUTED,
    "Rejected": BAD,
    "Blocked": BAD,
    "Expired": BAD,
    "Invalid": BAD,
    "ConcurrentTx": BAD,
    "NotSupported": BAD,
    "NotImplemented": BAD,
    "UnlockFailed": BAD,
    "OngoingAuthorizedTransaction": BAD,
    "UnknownConnector": BAD,
    "Failed": BAD,
    "Faulted": BAD,
    "Occupied": BAD,
    "Unavailable": BAD,
    "VersionMismatch": BAD,
    "UnknownMessageId": BAD,
    "UnknownVendorId": BAD,
    "NoCertificateAvailable": BAD,
    "NotFound": BAD,
    "CertificateChainError": BAD,
    "UnknownComponent": BAD,  # 2.0.1 GetVariables / SetVariables, per attribute
    "UnknownVariable": BAD,
    "NotSupportedAttributeType": BAD,
}
_RANK = {OK: 0, MUTED: 1, WARN: 2, BAD: 3}
_ATTRIBUTE_RESULTS = ("setVariableResult", "getVariableResult")


@dataclass(frozen=True, slots=True)
class AnswerStatus:
    label: str  # the OCPP word as on the wire, or "answered" for an answer without status
    tone: str  # ok | warn | bad | muted

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "tone": self.tone}


ANSWERED = AnswerStatus("answered", MUTED)
NO_ANSWER = AnswerStatus("no answer", MUTED)


def answer_status(payload: Any, error_code: str | None = None) -> AnswerStatus:
    """The status of a CALLRESULT payload, or of a CALLERROR when `error_code` is given."""
    if error_code is not None:
        return AnswerStatus(error_code or "CALLERROR", BAD)
    if not isinstance(payload, dict):
        return ANSWERED
    status = payload.get("status")
    if not isinstance(status, str):
        info = payload.get("idTagInfo") or payload.get("idTokenInfo")
        status = info.get("status") if isinstance(info, dict) else None
    if not isinstance(status, str):
        status = _attribute_status(payload)
    if not isinstance(status, str) or not status:
        return ANSWERED
    return AnswerStatus(status, _TONES.get(status, MUTED))


def _attribute_status(payload: dict[str, Any]) -> str | None:
    """The least good attributeStatus of a GetVariables / SetVariables answer: one refused
    attribute makes the answer a refusal, whatever the others said."""
    results = next((payload[k] for k in _ATTRIBUTE_RESULTS if isinstance(payload.get(k), list)), None)
    statuses = [r["attributeStatus"] for r in results or () if isinstance(r, dict)
                and isinstance(r.get("attributeStatus"), str)]
    return max(statuses, key=lambda s: _RANK[_TONES.get(s, MUTED)], default=None)


def logged_answer_status(answer: Any) -> AnswerStatus:
    """The status of an answer as the message log keeps it (a row with the raw frame)."""
    if answer is None:
        return NO_ANSWER
    if answer.message_type == 4:
        return answer_status(None, answer.error_code or "CALLERROR")
    try:
        frame = json.loads(answer.payload)
    except ValueError:
        return ANSWERED
    payload = frame[2] if isinstance(frame, list) and len(frame) > 2 else None
    return answer_status(payload)
