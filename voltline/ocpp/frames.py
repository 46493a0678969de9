"""OCPP-J frames: CALL, CALLRESULT and CALLERROR, parsed from and serialized to JSON text.

Parsing is strict about the frame's shape (a JSON array with the right arity and types) and
lenient about nothing else: the payload's content is the schema validator's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson


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


MAX_MESSAGE_ID_LENGTH = 36


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


class FrameError(Exception):
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


def parse(data: bytes | str) -> Frame:
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, f"not valid JSON: {exc}") from None
    if not isinstance(message, list) or len(message) < 3:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "a frame must be a JSON array of 3 to 5 elements")
    message_type, message_id = message[0], message[1]
    if not isinstance(message_id, str) or not message_id:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "the message id must be a non-empty string")
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise FrameError(
            ErrorCode.FORMATION_VIOLATION, f"the message id is longer than {MAX_MESSAGE_ID_LENGTH} characters"
        )
    # bool is an int subclass in Python; `true` is no message type.
    if type(message_type) is not int:
        raise FrameError(ErrorCode.FORMATION_VIOLATION, "the message type must be an integer", message_id)
    kind = message_type
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
    raise FrameError(ErrorCode.PROTOCOL_ERROR, f"unknown message type {message_type}", message_id)


def call(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([MessageType.CALL, message_id, action, payload])


def call_result(message_id: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([MessageType.CALLRESULT, message_id, payload])


def call_error(message_id: str, code: str, description: str = "", details: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps([MessageType.CALLERROR, message_id, code, description[:255], details or {}])
