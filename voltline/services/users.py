"""Dashboard operators: created with `voltline user create`, passwords stored as slow hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.clock import now
from voltline.services.secrets import hash_password, verify_password
from voltline.store import tables as t
from voltline.store.database import Store

# Verifying against this when the user is unknown costs the same time as a real check, so the
# answer time does not tell which usernames exist.
_DUMMY_HASH = hash_password("not a password anyone has")


class UserExists(ValueError):
    pass


class UnknownUser(LookupError):
    pass


@dataclass(slots=True, frozen=True)
class User:
    id: int
    username: str
    created_at: datetime


class UserService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, username: str, password: str) -> User:
        username = username.strip()
        if not username:
            raise ValueError("the username is empty")
        if len(password) < 8:
            raise ValueError("the password needs at least 8 characters")
        password_hash = hash_password(password)
        created = now()

        async def insert(conn: AsyncConnection) -> int | None:
            exists = await conn.scalar(sa.select(t.users.c.id).where(t.users.c.username == username))
            if exists is not None:
                return None
            return await conn.scalar(
                t.users.insert()
                .values(username=username, password_hash=password_hash, created_at=created)
                .returning(t.users.c.id)
            )

        user_id = await self._store.write(insert)
        if user_id is None:
            raise UserExists(username)
        return User(user_id, username, created)

    async def authenticate(self, username: str, password: str) -> User | None:
        row = await self._store.fetch_one(sa.select(t.users).where(t.users.c.username == username.strip()))
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row.password_hash):
            return None
        return User(row.id, row.username, row.created_at)

    async def get(self, user_id: int) -> User | None:
        row = await self._store.fetch_one(sa.select(t.users).where(t.users.c.id == user_id))
        return User(row.id, row.username, row.created_at) if row else None

    async def list(self) -> list[User]:
        rows = await self._store.fetch_all(sa.select(t.users).order_by(t.users.c.username))
        return [User(r.id, r.username, r.created_at) for r in rows]

    async def set_password(self, username: str, password: str) -> None:
        if len(password) < 8:
            raise ValueError("the password needs at least 8 characters")
        password_hash = hash_password(password)
        result = await self._store.write(
            lambda conn: conn.execute(
                t.users.update().where(t.users.c.username == username).values(password_hash=password_hash)
            )
        )
        if not result.rowcount:
            raise UnknownUser(username)

    async def delete(self, username: str) -> None:
        result = await self._store.write(lambda conn: conn.execute(t.users.delete().where(t.users.c.username == username)))
        if not result.rowcount:
            raise UnknownUser(username)
