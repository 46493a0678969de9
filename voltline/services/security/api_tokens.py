"""API tokens: created by `voltline token create`, stored hashed, revocable."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from voltline.services.clock import now
from voltline.services.security.passwords import hash_token, new_token
from voltline.store import tables as t
from voltline.store.database import Store


@dataclass(slots=True, frozen=True)
class ApiToken:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


log = logging.getLogger("voltline.tokens")

# How long a server trusts a token it has checked before asking the database again: a token
# revoked by `voltline token revoke` (another process) stops working within this time.
RECHECK_AFTER_S = 5.0


class TokenService:
    def __init__(self, store: Store, recheck_after: float = RECHECK_AFTER_S) -> None:
        self._store = store
        self.recheck_after = recheck_after
        # token hash → (token, monotonic time to check it again). Only tokens that exist are
        # kept, so made-up tokens cannot grow it.
        self._checked: dict[str, tuple[ApiToken, float]] = {}
        # Cluster mode: told of each revocation, so that the other nodes forget the token at once.
        self.on_revoked: Callable[[int], None] | None = None

    async def create(self, name: str) -> tuple[ApiToken, str]:
        """A new token; the secret is returned this once and only its hash is kept."""
        secret = new_token()
        created = now()
        token_id = await self._store.write(
            lambda conn: conn.scalar(
                t.api_tokens.insert()
                .values(name=name, token_hash=hash_token(secret), created_at=created)
                .returning(t.api_tokens.c.id)
            )
        )
        return ApiToken(token_id, name, created, None, None), secret

    async def verify(self, secret: str) -> ApiToken | None:
        """The token with this secret, unless unknown or revoked.

        Every API request asks this; under load a database read per request was a fifth of a
        command's latency. So a valid token is trusted for `recheck_after` seconds, and its
        last use is written once per check."""
        token_hash = hash_token(secret)
        checked = self._checked.get(token_hash)
        if checked is not None and time.monotonic() < checked[1]:
            return checked[0]
        row = await self._store.fetch_one(
            sa.select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None))
        )
        if row is None:
            self._checked.pop(token_hash, None)
            return None
        token = _token(row)
        self._checked[token_hash] = (token, time.monotonic() + self.recheck_after)
        self._store.write(
            lambda conn: conn.execute(t.api_tokens.update().where(t.api_tokens.c.id == token.id).values(last_used_at=now()))
        ).add_done_callback(_log_failure)
        return token

    async def list(self) -> list[ApiToken]:
        return [_token(r) for r in await self._store.fetch_all(sa.select(t.api_tokens).order_by(t.api_tokens.c.id))]

    async def revoke(self, token_id: int) -> bool:
        result = await self._store.write(
            lambda conn: conn.execute(
                t.api_tokens.update()
                .where(t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
        )
        self.forget(token_id)
        if self.on_revoked is not None:
            self.on_revoked(token_id)
        return bool(result.rowcount)

    def forget(self, token_id: int) -> None:
        """Check this token against the database at its next use."""
        self._checked = {key: checked for key, checked in self._checked.items() if checked[0].id != token_id}

    def forget_all(self) -> None:
        self._checked = {}


def _token(row: sa.Row) -> ApiToken:  # type: ignore[type-arg]
    return ApiToken(row.id, row.name, row.created_at, row.last_used_at, row.revoked_at)


def _log_failure(written: asyncio.Future[Any]) -> None:
    if not written.cancelled() and written.exception() is not None:
        log.warning("could not record an API token's last use: %s", written.exception())
