"""Raising a charge point's security profile, as the whitepaper describes (1.6: ChangeConfiguration
SecurityProfile; the charge point then reconnects with it). Voltline refuses what would lock the
charge point out: profile 1 or 2 without a password Voltline knows, profile 3 without a valid
certificate it issued; and it never lowers a profile.

The profile Voltline knows is the higher of the charge point's `security_profile` (what its
handshake must prove, services/security/connections.py) and its SecurityProfile configuration key
as last read or changed; an accepted raise sets `security_profile`, so the charge point's next
connection is held to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa

from voltline.ocpp.commands import Answer, ChangeConfiguration, Reply
from voltline.services.errors import Conflict, Invalid
from voltline.services.remote_control.commands import CommandService, Effect, Send
from voltline.store import tables as t
from voltline.store.database import Store

SECURITY_PROFILE = "SecurityProfile"
PROFILES = (0, 1, 2, 3)

HasPassword = Callable[[str], bool]
HasCertificate = Callable[[str], Awaitable[bool]]
RecordEvent = Callable[..., Awaitable[None]]


class SecurityProfiles:
    def __init__(
        self,
        store: Store,
        commands: CommandService,
        has_password: HasPassword,
        has_certificate: HasCertificate,
        record_event: RecordEvent,
        *,
        profile_of: Callable[[str], int],
        raised: Callable[[str, int], Awaitable[None]],
    ) -> None:
        # The charge point's `security_profile` (what its handshake must prove), and what sets it
        # once the charge point accepted a higher one: it reconnects with that one from then on.
        self._profile_of = profile_of
        self._raised = raised
        self._store = store
        self._commands = commands
        self._has_password = has_password
        self._has_certificate = has_certificate
        self._record_event = record_event

    async def current(self, identity: str) -> int:
        """The profile the charge point runs as far as Voltline knows (0 when never told)."""
        c = t.configuration.c
        row = await self._store.fetch_one(
            sa.select(c.value).where(c.charge_point_id == identity, c.key == SECURITY_PROFILE)
        )
        try:
            reported = int(row.value) if row is not None and row.value is not None else 0
        except ValueError:
            reported = 0
        return max(reported, self._profile_of(identity))

    async def check_raise(self, identity: str, profile: int) -> int:
        """The current profile, if `profile` may be set; else Invalid or Conflict saying why."""
        if profile not in PROFILES:
            raise Invalid(f"a security profile is one of {PROFILES}, not {profile}", code="invalid_security_profile")
        current = await self.current(identity)
        if profile <= current:
            await self._record_event(
                identity, "security", "SecurityProfileLoweringRefused", detail={"from": current, "to": profile}
            )
            raise Conflict(
                f"{identity} runs security profile {current}: Voltline only raises a profile, never to {profile}",
                code="security_profile_not_raised",
            )
        if profile in (1, 2) and not self._has_password(identity):
            raise Conflict(
                f"profile {profile} needs a password: rotate {identity}'s password first", code="no_password"
            )
        if profile == 3 and not await self._has_certificate(identity):
            raise Conflict(
                f"profile 3 needs a valid certificate issued to {identity} (SignCertificate first)",
                code="no_certificate",
            )
        return current

    async def raise_profile(self, identity: str, profile: int, timeout: float | None = None) -> Reply[Answer]:
        """Ask the charge point to run `profile` from its next connection on; its reply."""
        return await self._commands.send(identity, ChangeConfiguration(SECURITY_PROFILE, str(profile)), timeout)

    async def raise_to(self, identity: str, profile: int, send: Send[ChangeConfiguration]) -> Reply[Answer]:
        """Check, then send ChangeConfiguration SecurityProfile with `send`."""
        current = await self.check_raise(identity, profile)
        reply = await send(ChangeConfiguration(SECURITY_PROFILE, str(profile)))
        status = reply.result.status
        if status == "Accepted":
            await self._raised(identity, profile)
        await self._record_event(
            identity, "security", "SecurityProfileRaised" if status == "Accepted" else "SecurityProfileRefused",
            detail={"from": current, "to": profile, "answer": status},
        )
        return reply

    def guard_change_configuration(self, inner: Effect[ChangeConfiguration] | None) -> Effect[ChangeConfiguration]:
        """ChangeConfiguration SecurityProfile sent by hand (the generic command) is checked the
        same way; then `inner` records the value."""

        async def effect(
            identity: str, request: ChangeConfiguration, send: Send[ChangeConfiguration]
        ) -> Reply[Answer]:
            if request.key != SECURITY_PROFILE:
                return await inner(identity, request, send) if inner is not None else await send(request)
            try:
                profile = int(request.value)
            except ValueError:
                raise Invalid("SecurityProfile is 0, 1, 2 or 3", code="invalid_security_profile") from None

            async def recorded(r: ChangeConfiguration) -> Reply[Answer]:
                return await inner(identity, r, send) if inner is not None else await send(r)

            return await self.raise_to(identity, profile, recorded)

        return effect
