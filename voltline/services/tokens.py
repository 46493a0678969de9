"""API tokens: created by `voltline token create`, stored hashed, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from voltline.services.clock import now
from voltline.services.secrets import hash_token, new_token
from voltline.store import tables as t
from voltline.store.database import Store


@dataclass(slots=True, frozen=True)
class ApiToken:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenService:
    def __init__(self, store: Store) -> None:
        self._store = store

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
        row = await self._store.fetch_one(
            sa.select(t.api_tokens).where(
                t.api_tokens.c.token_hash == hash_token(secret), t.api_tokens.c.revoked_at.is_(None)
            )
        )
        return _token(row) if row else None

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
        return bool(result.rowcount)


def _token(row: sa.Row) -> ApiToken:  # type: ignore[type-arg]
    return ApiToken(row.id, row.name, row.created_at, row.last_used_at, row.revoked_at)
