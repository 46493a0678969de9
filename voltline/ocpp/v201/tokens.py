"""2.0.1's id tokens: an IdTokenType in, an IdTokenInfoType out, for Authorize and TransactionEvent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from voltline.ocpp import timestamps

Payload = dict[str, Any]


class IdTokenVerdict(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def expiry_date(self) -> datetime | None: ...
    @property
    def parent_id_tag(self) -> str | None: ...


# A group token's type is not kept with the verdict; an operator-made group is "Central".
GROUP_TOKEN_TYPE = "Central"


def read_id_token(p: Mapping[str, Any]) -> tuple[str, str]:
    """(idToken, type) of an IdTokenType."""
    return p["idToken"], p["type"]


def id_token_info(verdict: IdTokenVerdict) -> Payload:
    """The IdTokenInfoType that tells the station `verdict`; the expiry is how long it may cache it."""
    info: Payload = {"status": verdict.status}
    if verdict.expiry_date is not None:
        info["cacheExpiryDateTime"] = timestamps.format(verdict.expiry_date)
    if verdict.parent_id_tag is not None:
        info["groupIdToken"] = {"idToken": verdict.parent_id_tag, "type": GROUP_TOKEN_TYPE}
    return info
