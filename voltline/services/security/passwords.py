"""Hashing of charge point passwords, operator passwords and API tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from voltline.priority import yield_to_the_event_loop
from voltline.services.errors import Unavailable

T = TypeVar("T")

_ITERATIONS = 200_000


def hash_password(password: str) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), _ITERATIONS).hex()
    return f"pbkdf2_sha256${_ITERATIONS}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations)).hex()
    return hmac.compare_digest(candidate, digest)


def new_token() -> str:
    return "vl_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits: a plain digest is as safe as a slow hash and costs nothing per request.
    return hashlib.sha256(token.encode()).hexdigest()


class HasherBusy(Unavailable):
    """As many password checks as the hasher takes are already waiting: try again later."""

    default_code = "busy"

    def __init__(self, message: str = "the server is checking many passwords at once; try again") -> None:
        super().__init__(message)


class PasswordHasher:
    """Slow hashes on threads of their own, so the event loop never waits for one.

    hashlib's PBKDF2 releases the GIL, so a hash on a worker thread costs the loop nothing but a
    share of the CPU. At most `threads + queue` checks are in the hasher at once; a check beyond
    that is refused at once (`HasherBusy`) rather than queued without bound behind a storm of
    wrong passwords. Hashing a new password (an operator's action) waits its turn instead."""

    def __init__(self, threads: int = 1, queue: int = 8) -> None:
        self._pool = ThreadPoolExecutor(
            max(1, threads), thread_name_prefix="voltline-password", initializer=yield_to_the_event_loop
        )
        self.limit = max(1, threads) + max(0, queue)
        self.pending = 0

    async def verify(self, password: str, stored: str) -> bool:
        if self.pending >= self.limit:
            raise HasherBusy
        return await self._run(verify_password, password, stored)

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        finally:
            self.pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
