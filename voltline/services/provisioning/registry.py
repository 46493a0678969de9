"""The registry the WebSocket handshake consults: who may connect and how, kept in memory.

The handshake decides synchronously, before any frame is read, so it cannot ask the database:
every registered charge point's access is loaded at start and kept up to date by registration,
auto-registration and boot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from voltline.store import tables as t
from voltline.store.database import Store

ACCEPTED, PENDING, REJECTED = "Accepted", "Pending", "Rejected"
NO_ACTIONS: frozenset[str] = frozenset()
STATUS_FOR_NEW = {"accept": ACCEPTED, "pending": PENDING, "reject-unknown": REJECTED}
"""The registration status an auto-registered charge point starts with, by boot policy."""


@dataclass(slots=True)
class Access:
    """What the handshake needs to know about a charge point."""

    password_hash: str | None
    registration_status: str
    ping_interval: float | None
    lenient_actions: frozenset[str]
    security_profile: int = 0
    # sha256 of the last password that verified, so a reconnect costs no slow hash.
    verified: bytes | None = None


@dataclass(slots=True)
class ProvisioningPolicy:
    """The settings the provisioning parts share (one object, so each part reads the same)."""

    auto_register: bool = False
    boot_policy: str = "accept"
    heartbeat_interval: int = 300
    node_id: str = "local"
    # Alone, this node held every connection the database remembers, whatever its name was.
    single_node: bool = True
    # The security profile a charge point gets when it is registered without one.
    default_security_profile: int = 0

    @property
    def status_for_new(self) -> str:
        """Under "reject-unknown" an auto-registered charge point is recorded Rejected, for an
        operator to accept (or not) later."""
        return STATUS_FOR_NEW[self.boot_policy]


@dataclass(slots=True)
class AccessRegistry:
    access: dict[str, Access] = field(default_factory=dict)
    # Auto-registered, in the registry before their row is committed.
    unwritten: set[str] = field(default_factory=set)
    # Cluster mode: told of each change an operator made, so that the other nodes refresh it.
    on_change: Callable[[str], None] | None = None

    async def load(self, store: Store) -> None:
        rows = await store.fetch_all(ACCESS_COLUMNS)
        loaded = {row.id: access_of(row) for row in rows}
        # Auto-registered here and not yet committed: kept, their row is on its way.
        loaded.update({identity: self.access[identity] for identity in self.unwritten if identity in self.access})
        self.access = loaded

    async def refresh(self, store: Store, identity: str) -> None:
        """Read one charge point's access again (another node changed it)."""
        row = await store.fetch_one(ACCESS_COLUMNS.where(_cp.id == identity))
        if row is None:
            if identity not in self.unwritten:
                self.access.pop(identity, None)
        else:
            self.access[identity] = access_of(row)

    def changed(self, identity: str) -> None:
        if self.on_change is not None:
            self.on_change(identity)

    def get(self, identity: str) -> Access | None:
        return self.access.get(identity)

    def is_registered(self, identity: str) -> bool:
        """Known, and its row written (what refers to the charge point in the database can be)."""
        return identity in self.access and identity not in self.unwritten


_cp = t.charge_points.c
ACCESS_COLUMNS = sa.select(
    _cp.id, _cp.password_hash, _cp.registration_status, _cp.ping_interval, _cp.lenient_actions, _cp.security_profile
)


def access_of(row: Any) -> Access:
    return Access(
        row.password_hash,
        row.registration_status or ACCEPTED,
        row.ping_interval,
        frozenset(row.lenient_actions) if row.lenient_actions else NO_ACTIONS,
        row.security_profile or 0,
    )
