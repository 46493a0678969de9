"""2.0.1's id tokens: an IdTokenType in, an IdTokenInfoType out, for Authorize and TransactionEvent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from voltline.ocpp import timestamps
from voltline.ocpp.domain_needs import IdVerdict

Payload = dict[str, Any]


class IdTokenVerdict(IdVerdict, Protocol):
    """A verdict of the authorization service also tells `known` (is the token registered at
    all) and `parent_token_type`; one from elsewhere (a local list entry) need not."""


# The type of a group token that is not itself a registered tag: a group made by the operator.
GROUP_TOKEN_TYPE = "Central"
UNKNOWN = "Unknown"


def read_id_token(p: Mapping[str, Any]) -> tuple[str, str]:
    """(idToken, type) of an IdTokenType."""
    return p["idToken"], p["type"]


def id_token_info(verdict: IdTokenVerdict) -> Payload:
    """The IdTokenInfoType that tells the station `verdict`: a token nobody registered is
    Unknown in 2.0.1 (1.6 calls it Invalid); the expiry is how long it may cache the verdict."""
    info: Payload = {"status": verdict.status if getattr(verdict, "known", True) else UNKNOWN}
    if verdict.expiry_date is not None:
        info["cacheExpiryDateTime"] = timestamps.format(verdict.expiry_date)
    if verdict.parent_id_tag is not None:
        group_type = getattr(verdict, "parent_token_type", None) or GROUP_TOKEN_TYPE
        info["groupIdToken"] = {"idToken": verdict.parent_id_tag, "type": group_type}
    return info
