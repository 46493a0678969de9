"""Kinds of id token, in OCPP 2.0.1's words (IdTokenEnumType): 1.6 has none, so a 1.6 id tag, and
every tag nobody gave a type, is an RFID card (ISO14443), what a 1.6 idTag almost always is."""

from __future__ import annotations

from voltline.services.errors import Invalid
from voltline.store.tables import DEFAULT_TOKEN_TYPE, ID_TOKEN_LENGTH

TOKEN_TYPES = ("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization")
"""OCPP 2.0.1 IdTokenEnumType."""

assert DEFAULT_TOKEN_TYPE in TOKEN_TYPES
__all__ = ["DEFAULT_TOKEN_TYPE", "ID_TOKEN_LENGTH", "TOKEN_TYPES", "check_token_type"]


def check_token_type(token_type: str) -> None:
    if token_type not in TOKEN_TYPES:
        raise Invalid(f"token_type must be one of {', '.join(TOKEN_TYPES)}", code="invalid_token_type")
