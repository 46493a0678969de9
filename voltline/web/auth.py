"""Dashboard sessions: a signed cookie holding the operator, a CSRF token and one flash message.

The cookie is signed (HMAC-SHA256 with the secret key), not encrypted: it holds nothing secret.
It names the operator's session epoch at login; a password change or a logout moves the epoch on
(UserService), which ends every session of the operator, copies of the cookie included, on
every node (routing.require_user compares them).
Every visitor gets a CSRF token before logging in, so the login form is protected too. Every
unsafe request must bring the token back, as the form field `csrf_token` or the header
`X-CSRF-Token`; SameSite=Lax on the cookie is a second line, not the only one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "voltline_session"
LIFETIME_S = 12 * 3600  # an operator logs in again after this long without a request
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class WebSession:
    sid: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    user_id: int | None = None
    username: str | None = None
    epoch: int = 0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    flash: list[dict[str, str]] = field(default_factory=list)
    issued: float = field(default_factory=time.time)
    dirty: bool = True

    def login(self, user_id: int, username: str, epoch: int) -> None:
        # A new CSRF token at login: a token seen before logging in is worth nothing after.
        self.sid = secrets.token_urlsafe(12)
        self.user_id, self.username, self.epoch = user_id, username, epoch
        self.csrf = secrets.token_urlsafe(24)
        self.dirty = True

    def logout(self) -> None:
        self.sid = secrets.token_urlsafe(12)
        self.user_id = self.username = None
        self.epoch = 0
        self.csrf = secrets.token_urlsafe(24)
        self.dirty = True

    def add_flash(self, kind: str, message: str) -> None:
        self.flash.append({"kind": kind, "message": message})
        self.dirty = True

    def pop_flash(self) -> list[dict[str, str]]:
        messages, self.flash = self.flash, []
        if messages:
            self.dirty = True
        return messages

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self.csrf.encode())  # type: ignore[union-attr]


class SessionCodec:
    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"voltline.web.session:" + secret_key.encode()).digest()

    def _sign(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def dumps(self, session: WebSession) -> str:
        data = {
            "s": session.sid, "u": session.user_id, "n": session.username, "e": session.epoch, "c": session.csrf,
            "f": session.flash, "t": time.time(),
        }
        body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")
        return body.decode() + "." + self._sign(body)

    def loads(self, cookie: str | None) -> WebSession:
        """The session of a valid, fresh cookie; a new anonymous one otherwise."""
        if not cookie or "." not in cookie:
            return WebSession()
        body, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(body.encode())):
            return WebSession()
        try:
            data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return WebSession()
        issued = float(data.get("t", 0))
        if time.time() - issued > LIFETIME_S:
            return WebSession()
        sid = str(data.get("s") or "")
        if not sid:
            return WebSession()
        session = WebSession(
            sid=sid, user_id=data.get("u"), username=data.get("n"), epoch=int(data.get("e") or 0), csrf=str(data.get("c") or ""), flash=list(data.get("f") or []),
            issued=issued, dirty=False,
        )
        if not session.csrf:
            session.csrf, session.dirty = secrets.token_urlsafe(24), True
        # Sliding expiry: refresh the cookie once an hour of use rather than on every request.
        if time.time() - issued > 3600:
            session.dirty = True
        return session

    def save(self, request: Request, response: Response, session: WebSession) -> None:
        response.set_cookie(
            COOKIE,
            self.dumps(session),
            max_age=LIFETIME_S,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


async def submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None
