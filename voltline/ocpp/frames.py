"""OCPP-J frames: CALL, CALLRESULT and CALLERROR, parsed from and serialized to JSON text.

Parsing is strict about the frame's shape (a JSON array with the right arity and types) and
lenient about nothing else: the payload's content is the schema validator's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

from voltline.ocpp.errors import ProtocolFailure


class MessageType(IntEnum):
    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4


class ErrorCode:
    """CALLERROR codes of OCPP-J 1.6 §4.2.3 (spelled as the specification spells them)."""

    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMATION_VIOLATION = "FormationViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"
    # OCPP-J 2.0.1 §4.3 spells two of them otherwise (and adds none that 1.6 lacks in use here).
    FORMAT_VIOLATION = "FormatViolation"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    # 2.0.1's word for a message type number it does not know (1.6: ProtocolError).
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"


MAX_MESSAGE_ID_LENGTH = 36
# Deepest nesting of arrays and objects a frame may have, the frame's own array included. OCPP's
# own messages need 8 at most; the validator and the JSON encoder give up at about 255 levels.
MAX_DEPTH = 32


@dataclass(slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(slots=True)
class CallResult:
    message_id: str
    payload: dict[str, Any]


@dataclass(slots=True)
class CallError:
    message_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]


Frame = Call | CallResult | CallError


class FrameError(ProtocolFailure):
    """A frame that is not valid OCPP-J. `message_id` is set when the frame revealed one, so the
    peer can be answered with a CALLERROR it can correlate."""

    def __init__(
        self, code: str, description: str, message_id: str | None = None, message_type: int | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.message_id = message_id
        self.message_type = message_type

    @property
    def answerable(self) -> bool:
        """Only a broken CALL (or a frame whose type is unreadable) is answered: answering a broken
        CALLRESULT or CALLERROR could start an error ping-pong between the peers."""
        return self.message_type not in (MessageType.CALLRESULT, MessageType.CALLERROR)


class UnknownMessageType(FrameError):
    """A frame whose message type number is none of OCPP-J's, named as 1.6 names it (ProtocolError);
    a session spells it in its peer's version."""


def parse(data: bytes | str) -> Frame:
    if type(data) is str:
        data = data.encode()
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, f"not valid JSON: {exc}") from None
    if not isinstance(message, list) or not message:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "a frame must be a JSON array of 3 to 5 elements")
    # The type is read first: a broken CALLRESULT or CALLERROR must be known as one, or it would
    # be answered. bool is an int subclass in Python; `true` is no message type.
    message_type = message[0]
    kind = message_type if type(message_type) is int else None
    if len(message) < 3:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "a frame must be a JSON array of 3 to 5 elements", None, kind)
    message_id = message[1]
    if not isinstance(message_id, str) or not message_id:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "the message id must be a non-empty string", None, kind)
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION, f"the message id is longer than {MAX_MESSAGE_ID_LENGTH} characters", None, kind
        )
    if kind is None:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "the message type must be an integer", message_id)
    # Cheap for ordinary frames: one nested deeper than MAX_DEPTH has two bytes and an opening
    # bracket per level, so a Heartbeat is not looked at, and a frame of a few hundred bytes only
    # counted (cheaper than nesting_exceeds's skeleton below 2 KiB; above, the skeleton is cheaper).
    size = len(data)
    if (
        size > 2 * MAX_DEPTH
        and (size > 2048 or data.count(b"[") + data.count(b"{") > MAX_DEPTH)
        and nesting_exceeds(data, MAX_DEPTH)
    ):
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION, f"the frame is nested deeper than {MAX_DEPTH} levels", message_id, kind
        )
    if message_type == MessageType.CALL:
        if len(message) != 4:
            raise FrameError(ErrorCode.FORMATION_VIOLATION, "a CALL has exactly 4 elements", message_id, kind)
        action, payload = message[2], message[3]
        if not isinstance(action, str) or not action:
            raise FrameError(ErrorCode.FORMATION_VIOLATION, "the action must be a non-empty string", message_id, kind)
        if not isinstance(payload, dict):
            raise FrameError(ErrorCode.FORMATION_VIOLATION, "the payload must be a JSON object", message_id, kind)
        return Call(message_id, action, payload)
    if message_type == MessageType.CALLRESULT:
        if len(message) != 3 or not isinstance(message[2], dict):
            raise FrameError(
                ErrorCode.FORMATION_VIOLATION, "a CALLRESULT has 3 elements, the last a JSON object", message_id, kind
            )
        return CallResult(message_id, message[2])
    if message_type == MessageType.CALLERROR:
        if len(message) != 5:
            raise FrameError(ErrorCode.FORMATION_VIOLATION, "a CALLERROR has exactly 5 elements", message_id, kind)
        code, description, details = message[2], message[3], message[4]
        if not isinstance(code, str) or not isinstance(description, str) or not isinstance(details, dict):
            raise FrameError(
                ErrorCode.FORMATION_VIOLATION,
                "a CALLERROR is [4, id, code (string), description (string), details (object)]",
                message_id,
                kind,
            )
        return CallError(message_id, code, description, details)
    raise UnknownMessageType(ErrorCode.PROTOCOL_ERROR, f"unknown message type {message_type}", message_id)


# Brackets and quotes are all that nesting is made of; `{}` count as `[]`.
_SKELETON = bytes.maketrans(b"{}", b"[]")
_NOT_SKELETON = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_STRING = re.compile(rb'"[^"]*"')


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether the JSON text `data` (already known to be valid) nests arrays and objects deeper
    than `limit`. Done on the text, in C: walking the parsed objects cost more than parsing them."""
    if b"\\" in data:
        # Escapes pair up from the left: drop escaped backslashes first, then escaped quotes, so
        # every quote left delimits a string.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(_SKELETON, _NOT_SKELETON)
    if len(skeleton) - skeleton.count(b'"') <= 2 * limit:
        return False  # no more opening brackets than levels allowed: the common case
    # Adjacent quotes are an empty string or the end of one and the start of the next: taking
    # them out leaves every bracket inside or outside a string as it was. Runs go first (fewer).
    skeleton = skeleton.replace(b'""""""""', b"").replace(b'""', b"")
    if b'"' in skeleton:  # a string with brackets in it: rare, and slower to take out
        skeleton = _STRING.sub(b"", skeleton)
    # Each pass removes the innermost pairs: the passes needed to empty it are the depth.
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"[]", b"")
    return bool(skeleton)


def call(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([MessageType.CALL, message_id, action, payload])


def call_result(message_id: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([MessageType.CALLRESULT, message_id, payload])


def call_error(message_id: str, code: str, description: str = "", details: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps([MessageType.CALLERROR, message_id, code, description[:255], details or {}])
