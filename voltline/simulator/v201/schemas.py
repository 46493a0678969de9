"""What a simulated 2.0.1 station checks its messages against: the official OCPP 2.0.1 schemas,
compiled once by `voltline.ocpp.schemas` for the server and every station alike, and 2.0.1's
spelling of the CALLERROR codes that differ from 1.6's, which the RPC session applies to every
violation it answers (`ERROR_CODES`)."""

from __future__ import annotations

from voltline.ocpp.frames import ErrorCode
from voltline.ocpp.schemas import OCPP201, Validators, validators

__all__ = ["ERROR_CODES", "OCCURRENCE_CONSTRAINT_VIOLATION", "OCPP201", "validators201"]

OCCURRENCE_CONSTRAINT_VIOLATION = ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
# RpcSession's `error_codes` for a 2.0.1 station: its answers to frames that are not OCPP-J
# (and to an unknown message type number) are spelled as 2.0.1 spells them, like its schema errors.
ERROR_CODES = {
    "format": ErrorCode.FORMAT_VIOLATION,
    "occurrence": OCCURRENCE_CONSTRAINT_VIOLATION,
    "message_type": ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
}


def validators201() -> Validators:
    """The 2.0.1 validators, shared with the server's (compiled on first use)."""
    return validators(OCPP201)
