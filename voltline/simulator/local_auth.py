"""Local authorization: the versioned Local Authorization List (sent by the central system) and the
Authorization Cache (learnt from its answers), OCPP 1.6 §3.5."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from voltline.simulator.clock import parse_iso


def usable(info: dict[str, Any], now: datetime) -> bool:
    """An idTagInfo that lets its holder charge right now."""
    if info.get("status") != "Accepted":
        return False
    expiry = info.get("expiryDate")
    return expiry is None or parse_iso(expiry) > now


class LocalAuthList:
    def __init__(self, max_length: int = 1000) -> None:
        self.max_length = max_length
        self.version = 0
        self.entries: dict[str, dict[str, Any]] = {}

    def update(self, version: int, update_type: str, items: list[dict[str, Any]]) -> str:
        """Apply a SendLocalList; returns its OCPP status."""
        if update_type == "Full":
            entries = {item["idTag"]: dict(item["idTagInfo"]) for item in items if "idTagInfo" in item}
        else:
            # A differential update must move the list forward; replaying an old one would undo
            # newer changes.
            if version <= self.version:
                return "VersionMismatch"
            entries = dict(self.entries)
            for item in items:
                if "idTagInfo" in item:
                    entries[item["idTag"]] = dict(item["idTagInfo"])
                else:
                    entries.pop(item["idTag"], None)
        if len(entries) > self.max_length:
            return "Failed"
        self.entries = entries
        self.version = version
        return "Accepted"

    def lookup(self, id_tag: str) -> dict[str, Any] | None:
        return self.entries.get(id_tag)


class AuthorizationCache:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        self.entries[id_tag] = dict(info)

    def lookup(self, id_tag: str) -> dict[str, Any] | None:
        return self.entries.get(id_tag)

    def clear(self) -> None:
        self.entries.clear()
