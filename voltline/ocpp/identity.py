"""What a charge point identity may be: OCPP-J's rule, one place for the handshake and the API.

OCPP 1.6J (§3.1.1) and 2.0.1 (part 4, §3.1.1): the identity is the last segment of the
connection URL, made of unreserved URL characters (RFC 3986: A-Z a-z 0-9 - . _ ~), at most 48
of them. An identity outside the rule could not be written back into a URL, nor addressed by
the API, nor stored the way it arrived.
"""

from __future__ import annotations

import re

MAX_LENGTH = 48
# For schemas that spell the rule out (the API's OpenAPI document).
PATTERN = r"^[A-Za-z0-9\-._~]{1,48}$"
_VALID = re.compile(r"[A-Za-z0-9\-._~]{1,48}")


def is_valid_identity(identity: str) -> bool:
    return _VALID.fullmatch(identity) is not None


def identity_problem(identity: str) -> str | None:
    """Why `identity` is not one, in an operator's words; None when it is."""
    if not identity:
        return "the charge point identity is empty"
    if len(identity) > MAX_LENGTH:
        return f"the charge point identity has {len(identity)} characters, at most {MAX_LENGTH} are allowed"
    if not is_valid_identity(identity):
        return "a charge point identity may hold only the letters A-Z and a-z, digits and - . _ ~"
    return None
