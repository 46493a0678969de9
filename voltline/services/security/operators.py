"""Dashboard operators: created with `voltline user create`, passwords stored as slow hashes.

Passwords are hashed on the password hasher's threads, never on the event loop. Wrong passwords
back off the username they were tried for and the address they came from (FailureBackoff):
while backed off, a login is refused at once, the right password included. An operator's
`session_epoch` grows with each password change and logout; a dashboard session of an older
epoch is over, on every node.
An operator's `time_zone` (an IANA name, None until chosen) is where the dashboard shows times
and reads date filters; it is only ever a name `zoneinfo` knows.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from voltline.services.security.backoff import FailureBackoff
from voltline.services.clock import now
from voltline.services.errors import Conflict, NotFound, Throttled
from voltline.services.security.passwords import PasswordHasher, hash_password
from voltline.store import tables as t
from voltline.store.database import Store

# Verifying against this when the user is unknown costs the same time as a real check, so the
# answer time does not tell which usernames exist.
_DUMMY_HASH = hash_password("not a password anyone has")


class UserExists(Conflict, ValueError):
    def __init__(self, username: str) -> None:
        super().__init__(f"there is an operator {username} already", code="user_exists")
        self.username = username


class UnknownUser(NotFound, LookupError):
    def __init__(self, who: str) -> None:
        super().__init__(f"no operator {who}")
        self.who = who


class TooManyAttempts(Throttled):
    """Logins for this username or from this address are backed off for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(slots=True, frozen=True)
class User:
    id: int
    username: str
    created_at: datetime
    session_epoch: int = 0
    time_zone: str | None = None


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every IANA zone this machine knows: read from the zone database once, it is hundreds of files."""
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def valid_time_zone(name: str) -> str:
    """`name` if it is an IANA zone (`Europe/Berlin`); ValueError otherwise. A file path or a
    POSIX TZ string that ZoneInfo would also read is refused: only names from the list."""
    name = name.strip()
    if name not in time_zone_names():
        raise ValueError(f"{name!r} is not a time zone name such as Europe/Berlin")
    return name


class UserService:
    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self._store = store
        self._hasher = hasher or PasswordHasher()
        self.username_failures = FailureBackoff(threshold=5)
        # Several operators may share an office's address.
        self.address_failures = FailureBackoff(threshold=20)

    async def create(self, username: str, password: str) -> User:
        username = username.strip()
        if not username:
            raise ValueError("the username is empty")
        if len(password) < 8:
            raise ValueError("the password needs at least 8 characters")
        password_hash = await self._hasher.hash(password)
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

    async def authenticate(self, username: str, password: str, address: str | None = None) -> User | None:
        """The operator, if the password is theirs; None otherwise. Raises TooManyAttempts while
        backed off, and secrets.HasherBusy when too many passwords are being checked at once."""
        username = username.strip()
        keys = [(self.username_failures, username)]
        if address is not None:
            keys.append((self.address_failures, address))
        wait = max(failures.retry_after(key) for failures, key in keys)
        if wait:
            raise TooManyAttempts(wait)
        row = await self._store.fetch_one(sa.select(t.users).where(t.users.c.username == username))
        for failures, key in keys:
            failures.begin(key)
        try:
            right = await self._hasher.verify(password, row.password_hash if row is not None else _DUMMY_HASH)
        except BaseException:
            for failures, key in keys:
                failures.abandoned(key)
            raise
        if row is None or not right:
            for failures, key in keys:
                failures.failed(key)
            return None
        for failures, key in keys:
            failures.succeeded(key)
        return _user(row)

    async def get(self, user_id: int) -> User | None:
        row = await self._store.fetch_one(sa.select(t.users).where(t.users.c.id == user_id))
        return _user(row) if row else None

    async def end_sessions(self, user_id: int, epoch: int) -> None:
        """End every dashboard session of the operator (logging out ends them all), if `epoch`
        is still theirs: a cookie already over cannot log the operator out elsewhere."""
        users = t.users.c
        await self._store.write(
            lambda conn: conn.execute(
                t.users.update()
                .where(users.id == user_id, users.session_epoch == epoch)
                .values(session_epoch=users.session_epoch + 1)
            )
        )

    async def set_time_zone(self, user_id: int, name: str) -> str:
        """The operator's choice on their account page. Raises ValueError for an unknown zone."""
        name = valid_time_zone(name)
        result = await self._store.write(
            lambda conn: conn.execute(t.users.update().where(t.users.c.id == user_id).values(time_zone=name))
        )
        if not result.rowcount:
            raise UnknownUser(str(user_id))
        return name

    async def adopt_time_zone(self, user_id: int, name: str) -> bool:
        """The browser's zone, kept only while the operator has chosen none: a login from a laptop
        abroad does not overwrite a choice. False when nothing changed (chosen, or not a zone)."""
        try:
            name = valid_time_zone(name)
        except ValueError:
            return False
        users = t.users.c
        result = await self._store.write(
            lambda conn: conn.execute(
                t.users.update().where(users.id == user_id, users.time_zone.is_(None)).values(time_zone=name)
            )
        )
        return bool(result.rowcount)

    async def list(self) -> list[User]:
        rows = await self._store.fetch_all(sa.select(t.users).order_by(t.users.c.username))
        return [_user(r) for r in rows]

    async def set_password(self, username: str, password: str) -> None:
        if len(password) < 8:
            raise ValueError("the password needs at least 8 characters")
        password_hash = await self._hasher.hash(password)
        # A new password ends the operator's sessions: whoever knew the old one is logged out.
        result = await self._store.write(
            lambda conn: conn.execute(
                t.users.update()
                .where(t.users.c.username == username)
                .values(password_hash=password_hash, session_epoch=t.users.c.session_epoch + 1)
            )
        )
        if not result.rowcount:
            raise UnknownUser(username)

    async def delete(self, username: str) -> None:
        result = await self._store.write(lambda conn: conn.execute(t.users.delete().where(t.users.c.username == username)))
        if not result.rowcount:
            raise UnknownUser(username)


def _user(row: Any) -> User:
    return User(row.id, row.username, row.created_at, row.session_epoch, row.time_zone)
