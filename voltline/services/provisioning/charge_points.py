"""Charge points, as the gateway, the OCPP handlers and operators reach them: one service over the
provisioning parts, each with one job (registry, handshake, registration, connections, boot,
connector status, events). The parts share one registry in memory and one policy."""

from __future__ import annotations

from voltline.bus.events import EventBus
from voltline.services.provisioning.boot import Boot, BootResult
from voltline.services.provisioning.connections import Connections
from voltline.services.provisioning.connector_status import ConnectorStatus
from voltline.services.provisioning.errors import ChargePointExists, NotStored, UnknownChargePoint
from voltline.services.provisioning.events import ChargePointEvents
from voltline.services.provisioning.handshake import HandshakeDecision, HandshakeGuard, busy_decision
from voltline.services.provisioning.refusals import RefusalLog
from voltline.services.provisioning.registration import Registration
from voltline.services.reports.recorder import Rollups
from voltline.services.provisioning.registry import (
    ACCEPTED, PENDING, REJECTED, Access, AccessRegistry, ProvisioningPolicy,
)
from voltline.services.security.backoff import FailureBackoff
from voltline.services.security.client_certificates import ClientCertificateCheck
from voltline.services.security.passwords import PasswordHasher
from voltline.store.database import Store

__all__ = [
    "ACCEPTED", "PENDING", "REJECTED", "Access", "BootResult", "ChargePointExists", "ChargePointService",
    "HandshakeDecision", "NotStored", "UnknownChargePoint",
]


class ChargePointService:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        auto_register: bool = False,
        boot_policy: str = "accept",
        heartbeat_interval: int = 300,
        node_id: str = "local",
        hasher: PasswordHasher | None = None,
        single_node: bool = True,
        rollups: Rollups | None = None,
        default_security_profile: int = 0,
        certificates: ClientCertificateCheck | None = None,
    ) -> None:
        self._store = store
        self.policy = ProvisioningPolicy(
            auto_register, boot_policy, heartbeat_interval, node_id, single_node, default_security_profile
        )
        self._registry = AccessRegistry()
        hasher = hasher or PasswordHasher()
        # Who was turned away for not being registered, for the operator to register them.
        self.refusals = RefusalLog()
        self.events = ChargePointEvents(store, bus)
        self.handshake = HandshakeGuard(
            self._registry, self.policy, hasher, self.refusals, self.events.record, certificates
        )
        self.registration = Registration(store, bus, self._registry, hasher, default_security_profile)
        rollups = rollups or Rollups(store, enabled=False)
        self.connections = Connections(store, bus, self._registry, self.policy, self.refusals, rollups)
        self.boots = Boot(store, bus, self._registry, self.policy, self.connections)
        self.connector_status = ConnectorStatus(store, bus, rollups)

        # What the gateway, the handlers and operators call, each answered by its part.
        self.access = self._registry.get
        self.is_registered = self._registry.is_registered
        self.check_handshake = self.handshake.check
        self.verify_handshake = self.handshake.verify
        self.refused = self.handshake.refused
        self.refused_unknown = self.handshake.refused_unknown
        self.busy_decision = busy_decision
        self.register = self.registration.register
        self.update = self.registration.update
        self.delete = self.registration.delete
        self.connected = self.connections.connected
        self.disconnected = self.connections.disconnected
        self.all_disconnected = self.connections.all_disconnected
        self.seen = self.connections.seen
        self.flush_liveness = self.connections.flush_liveness
        self.heartbeat = self.connections.heartbeat
        self.last_heartbeat = self.connections.last_heartbeat
        self.boot = self.boots.boot
        self.status_notification = self.connector_status.status_notification
        self.record_event = self.events.record
        self.record_events = self.events.record_many

    # The settings operators and tests read here.
    @property
    def auto_register(self) -> bool:
        return self.policy.auto_register

    @property
    def boot_policy(self) -> str:
        return self.policy.boot_policy

    @property
    def default_security_profile(self) -> int:
        return self.policy.default_security_profile

    @property
    def certificates(self) -> ClientCertificateCheck | None:
        return self.handshake.certificates

    @property
    def heartbeat_interval(self) -> int:
        return self.policy.heartbeat_interval

    @property
    def node_id(self) -> str:
        return self.policy.node_id

    @property
    def status_for_new(self) -> str:
        return self.policy.status_for_new

    @property
    def identity_failures(self) -> FailureBackoff:
        return self.handshake.identity_failures

    @property
    def address_failures(self) -> FailureBackoff:
        return self.handshake.address_failures

    @property
    def registry(self) -> AccessRegistry:
        """The handshake's registry (cluster mode keeps it in step with the other nodes')."""
        return self._registry

    async def refresh_access(self, identity: str) -> None:
        await self._registry.refresh(self._store, identity)

    async def reload_access(self) -> None:
        await self._registry.load(self._store)

    async def load(self) -> None:
        """The registry from the database; the connections this node held before are gone."""
        await self._registry.load(self._store)
        await self.connections.forget()
