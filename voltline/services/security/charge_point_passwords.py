"""A charge point's Basic-auth password, rotated the way the security whitepaper describes: the
new password goes to the charge point first (1.6 ChangeConfiguration AuthorizationKey, 2.0.1
SetVariables BasicAuthPassword), and Voltline switches to it only once the charge point answered
Accepted, so that neither side is ever left with a password the other does not know."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from voltline.ocpp.commands import Answer, ChangeConfiguration, Reply
from voltline.services.errors import Invalid
from voltline.services.remote_control.commands import CommandService, Effect, Send

# The whitepaper's passwordString: 16 to 40 characters of these.
MIN_LENGTH, MAX_LENGTH = 16, 40
GENERATED_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits
_PASSWORD_STRING = re.compile(r"^[A-Za-z0-9*\-_=:+|@.]{16,40}$")
AUTHORIZATION_KEY = "AuthorizationKey"

RecordEvent = Callable[..., Awaitable[None]]
SetPassword = Callable[[str, str], Awaitable[None]]
SendPassword = Callable[[str], Awaitable[Reply[Answer]]]
"""Sends the new password to the charge point; returns its reply."""


REDACTED = "********"


def redacted(frame: str) -> str:
    """A logged ChangeConfiguration CALL with an AuthorizationKey value masked: the message log
    keeps frames for years and is read by every operator, a password is for the charge point."""
    try:
        message = orjson.loads(frame)
        payload = message[3]
        if payload.get("key") != AUTHORIZATION_KEY:
            return frame
        message[3] = {**payload, "value": REDACTED}
        return orjson.dumps(message).decode()
    except (orjson.JSONDecodeError, IndexError, KeyError, TypeError, AttributeError):
        return frame


def generate_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def require_password_string(password: str) -> None:
    if not _PASSWORD_STRING.match(password):
        raise Invalid(
            f"a charge point password is {MIN_LENGTH} to {MAX_LENGTH} characters of letters, digits and *-_=:+|@.",
            code="invalid_password",
        )


@dataclass(slots=True, frozen=True)
class PasswordChange:
    status: str  # the charge point's answer
    switched: bool  # Voltline now expects the new password


@dataclass(slots=True, frozen=True)
class RotatedPassword:
    status: str
    switched: bool
    password: str | None  # the generated one once switched to, shown to the operator once; else None


class ChargePointPasswords:
    def __init__(self, commands: CommandService, set_password: SetPassword, record_event: RecordEvent) -> None:
        self._commands = commands
        self._set_password = set_password
        self._record_event = record_event

    async def rotate(self, identity: str, password: str | None = None, timeout: float | None = None) -> RotatedPassword:
        """Give the charge point a new password (`password`, or one generated) and switch to it
        once it accepted. Through the command path, so a hand-sent ChangeConfiguration
        AuthorizationKey is handled by the very same rule (guard_change_configuration)."""
        chosen = password if password is not None else generate_password()
        require_password_string(chosen)
        reply = await self._commands.send(identity, ChangeConfiguration(AUTHORIZATION_KEY, chosen), timeout)
        status = str(reply.result.status)
        switched = status == "Accepted"
        return RotatedPassword(status, switched, chosen if password is None and switched else None)

    async def change(self, identity: str, password: str, send: SendPassword) -> PasswordChange:
        """Send `password` with `send` and switch to it once the charge point accepted it."""
        require_password_string(password)
        reply = await send(password)
        status = str(reply.result.status)
        switched = status == "Accepted"
        if switched:
            await self._set_password(identity, password)
        await self._record_event(
            identity, "security", "PasswordChanged" if switched else "PasswordChangeRefused", detail={"answer": status}
        )
        return PasswordChange(status, switched)

    def guard_change_configuration(self, inner: Effect[ChangeConfiguration] | None) -> Effect[ChangeConfiguration]:
        """ChangeConfiguration AuthorizationKey sent by hand (the generic command) takes the same
        path: checked, switched on Accepted, and never stored as a readable configuration value.
        Other keys go on to `inner`."""

        async def effect(
            identity: str, request: ChangeConfiguration, send: Send[ChangeConfiguration]
        ) -> Reply[Answer]:
            if request.key != AUTHORIZATION_KEY:
                return await inner(identity, request, send) if inner is not None else await send(request)
            replies: list[Reply[Answer]] = []

            async def send_key(password: str) -> Reply[Answer]:
                replies.append(await send(ChangeConfiguration(AUTHORIZATION_KEY, password)))
                return replies[-1]

            await self.change(identity, request.value, send_key)
            return replies[0]

        return effect
