"""Who may open a WebSocket: decided from the registry in memory, a password settled by the slow
hash off the event loop, wrong passwords backed off."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from voltline.services.provisioning.refusals import NOT_REGISTERED, REGISTERED_REJECTED, Refusal, RefusalLog
from voltline.services.provisioning.registry import REJECTED, Access, AccessRegistry, ProvisioningPolicy
from voltline.services.security.backoff import FailureBackoff
from voltline.services.security.client_certificates import ClientCertificateCheck
from voltline.services.security.connections import FAILED_AUTHENTICATION, PLAIN, ConnectionSecurity, transport_refusal
from voltline.services.security.passwords import HasherBusy, PasswordHasher

log = logging.getLogger("voltline.charge_points")

# Refused handshakes are recorded as security events: at most one per charge point, type and
# reason every SECURITY_EVENT_EVERY_S, so a charge point knocking in a loop adds no load.
SECURITY_EVENT_EVERY_S = 10.0
RecordEvent = Callable[..., Awaitable[None]]  # the charge point events' recorder: (identity, kind, status, detail=)


@dataclass(slots=True)
class HandshakeDecision:
    allowed: bool
    status: int = 101  # HTTP status for a refusal
    reason: str = ""
    access: Access | None = None
    auto_registered: bool = False
    retry_after: float | None = None  # seconds, for a 429 or 503
    verify: bool = False  # only the slow hash can settle the password: see verify_handshake
    security_event: str | None = None  # recorded on the charge point when refused (security/connections.py)
    security_profile: int = 0


def _backed_off(wait: float) -> HandshakeDecision:
    return HandshakeDecision(False, 429, "too many wrong passwords; try again later", retry_after=wait)


def busy_decision() -> HandshakeDecision:
    return HandshakeDecision(False, 503, "too many password checks at once; try again later", retry_after=1)


class HandshakeGuard:
    def __init__(
        self, registry: AccessRegistry, policy: ProvisioningPolicy, hasher: PasswordHasher, refusals: RefusalLog,
        record_event: RecordEvent, certificates: ClientCertificateCheck | None = None,
    ) -> None:
        self._registry = registry
        self._record_event = record_event
        # The CAs trusted for charge point certificates (profile 3); None: none configured.
        self.certificates = certificates
        self._security_events_at: dict[tuple[str, str, str], float] = {}
        self._recording: set[asyncio.Task[None]] = set()
        self._policy = policy
        self._hasher = hasher
        self.refusals = refusals
        # Wrong passwords back off the charge point they were tried for, and the address they
        # came from. An address may hold many charge points (a site router, a mobile carrier's
        # NAT), so it is given more attempts, and it only holds back passwords that need a hash.
        self.identity_failures = FailureBackoff(threshold=5)
        self.address_failures = FailureBackoff(threshold=20)

    def check(
        self, identity: str, password: str | None, address: str | None = None, security: ConnectionSecurity = PLAIN
    ) -> HandshakeDecision:
        """Decided from memory alone, never by a slow hash (the handshake hook is synchronous).

        First what the charge point's security profile asks of the connection (TLS, a client
        certificate), then its password. A password that only the slow hash can settle gives a
        decision with `verify` set: `verify` then settles it off the event loop."""
        access = self._registry.get(identity)
        if access is None:
            if self._policy.auto_register:
                refusal = transport_refusal(identity, self._policy.default_security_profile, security, self.certificates)
                if refusal is not None:
                    return HandshakeDecision(False, refusal.status, refusal.reason)
                return HandshakeDecision(True, auto_registered=True)
            return HandshakeDecision(False, 404, f"unknown charge point {identity!r}")
        profile = access.security_profile
        refusal = transport_refusal(identity, profile, security, self.certificates)
        if refusal is not None:
            return HandshakeDecision(
                False, refusal.status, refusal.reason, access=access, security_event=refusal.event,
                security_profile=profile,
            )
        if profile == 3:
            return HandshakeDecision(True, access=access)  # the certificate proved who it is
        if access.password_hash is None:
            if profile in (1, 2):
                return HandshakeDecision(
                    False, 401, f"security profile {profile} requires a password, and none is set for this charge point",
                    access=access, security_event=FAILED_AUTHENTICATION, security_profile=profile,
                )
            return HandshakeDecision(True, access=access)
        if password is None:
            return HandshakeDecision(
                False, 401, "this charge point must authenticate (HTTP Basic)", access=access,
                security_event=FAILED_AUTHENTICATION, security_profile=profile,
            )
        # Backed off even for the password that verified last: otherwise the cheap comparison
        # below would tell a guesser at wire speed whether a guess is right.
        wait = self.identity_failures.retry_after(identity)
        if wait:
            return _backed_off(wait)
        if access.verified == hashlib.sha256(password.encode()).digest():
            self.identity_failures.succeeded(identity)
            return HandshakeDecision(True, access=access)
        if address is not None:
            wait = self.address_failures.retry_after(address)
            if wait:
                return _backed_off(wait)
        return HandshakeDecision(False, 401, "the password is being verified", access=access, verify=True)

    def refused(self, identity: str, address: str | None, decision: HandshakeDecision) -> None:
        """The gateway refused a handshake with `decision`: an unknown identity is remembered, and
        a connection weaker than a registered charge point's profile is a security event."""
        if decision.status == 404:
            self.refusals.record(identity, NOT_REGISTERED, address)
        event = decision.security_event
        if event is None or not self._registry.is_registered(identity):
            return
        loop = asyncio.get_running_loop()
        key, at = (identity, event, decision.reason), loop.time()
        last = self._security_events_at.get(key)
        if last is not None and at - last < SECURITY_EVENT_EVERY_S:
            return
        if len(self._security_events_at) >= 10_000:
            self._security_events_at.clear()  # a bound, not a history: only the throttle forgets
        self._security_events_at[key] = at
        detail = {
            "tech_info": decision.reason, "source": "handshake", "address": address,
            "security_profile": decision.security_profile,
        }
        task = loop.create_task(self._record_refusal(identity, event, detail))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record_refusal(self, identity: str, event: str, detail: dict[str, Any]) -> None:
        try:
            await self._record_event(identity, "security", event, detail=detail)
        except Exception:
            log.exception("could not record the refused connection of %s", identity)

    def refused_unknown(self) -> list[Refusal]:
        """The charge points refused for being unknown that are still not registered (or still
        Rejected as the boot policy registered them), newest first."""
        still = []
        for refusal in self.refusals.newest_first():
            access = self._registry.get(refusal.identity)
            if access is None or (refusal.reason == REGISTERED_REJECTED and access.registration_status == REJECTED):
                still.append(refusal)
        return still

    async def verify(
        self, identity: str, password: str, address: str | None = None, security: ConnectionSecurity = PLAIN
    ) -> HandshakeDecision:
        """Settle a password `check` could not, on the password hasher's threads."""
        decision = self.check(identity, password, address, security)
        access = decision.access
        if not decision.verify or access is None or access.password_hash is None:
            return decision
        stored = access.password_hash
        keys = [(self.identity_failures, identity)]
        if address is not None:
            keys.append((self.address_failures, address))
        for failures, key in keys:
            failures.begin(key)
        try:
            right = await self._hasher.verify(password, stored)
        except BaseException as exc:
            for failures, key in keys:
                failures.abandoned(key)
            if isinstance(exc, HasherBusy):
                return busy_decision()
            raise
        if self._registry.get(identity) is not access or access.password_hash != stored:
            # The operator changed the password or removed the charge point while it was hashed.
            for failures, key in keys:
                failures.abandoned(key)
            return HandshakeDecision(False, 503, "the charge point changed meanwhile; try again", retry_after=1)
        if not right:
            for failures, key in keys:
                failures.failed(key)
            return HandshakeDecision(
                False, 401, "wrong password", access=access, security_event=FAILED_AUTHENTICATION,
                security_profile=access.security_profile,
            )
        for failures, key in keys:
            failures.succeeded(key)
        access.verified = hashlib.sha256(password.encode()).digest()
        return HandshakeDecision(True, access=access)
