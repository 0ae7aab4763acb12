"""Signing in: server-side sessions, the per-request account, role checks and login throttling.

The session cookie holds a random token; the catalog keeps only its SHA-256, with the session's CSRF
token and expiry, so signing out or disabling an account ends the session everywhere at once.
Cookies are HttpOnly and SameSite=Lax, and Secure whenever the request came over TLS.

Every request but the login page and the static assets goes through `AuthMiddleware`: anonymous
page views are sent to the login page, anything else gets 401. Routes then ask for a role with
`need("editor")`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from anyio import to_thread
from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import delete, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from temoin.catalog.models import User, WebSession
from temoin.serve.csrf import new_token
from temoin.serve.users import Account

if TYPE_CHECKING:
    from temoin.archive import Archive

COOKIE = "temoin_session"
PUBLIC_PATHS = ("/login", "/static/")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


@dataclass(frozen=True)
class SessionInfo:
    id: str
    csrf: str
    account: Account


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(archive: Archive, account: Account, hours: int) -> tuple[str, SessionInfo]:
    """A new session; returns the cookie token (never stored) and what the catalog keeps."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = WebSession(
        id=_digest(token),
        user_id=account.id,
        csrf=new_token(),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    with archive.session() as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(row)
        session.commit()
    return token, SessionInfo(row.id, row.csrf, account)


def end_session(archive: Archive, session_id: str) -> None:
    with archive.session() as session:
        session.execute(delete(WebSession).where(WebSession.id == session_id))
        session.commit()


def find_session(archive: Archive, token: str) -> SessionInfo | None:
    with archive.session() as session:
        found = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == _digest(token))
        ).first()
        if found is None:
            return None
        row, user = found
        if row.expires_at < _now() or user.disabled:
            return None
        return SessionInfo(row.id, row.csrf, Account(user.id, user.name, user.role))


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    secure = request.app.state.settings.secure_cookies
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" if secure is None else secure,
        path="/",
    )


class AuthMiddleware:
    """Resolves the session cookie to an account and refuses anonymous requests (pure ASGI, so
    upload bodies stream through untouched); adds the security headers to every response."""

    def __init__(self, app: ASGIApp, archive: Archive) -> None:
        self.app = app
        self.archive = archive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        request = Request(scope)
        token = request.cookies.get(COOKIE)
        info = await to_thread.run_sync(find_session, self.archive, token) if token else None
        scope.setdefault("state", {})
        scope["state"]["session"] = info
        scope["state"]["account"] = info.account if info else None
        path = scope["path"]
        if info is None and not path.startswith(PUBLIC_PATHS):
            response = _refuse(request)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _refuse(request: Request) -> Response:
    wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if wants_page:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Response(status_code=303, headers={"location": f"/login?next={quote(target)}"})
    return Response("sign in first\n", status_code=401, media_type="text/plain")


def need(role: str) -> Callable[[Request], Account]:
    """A dependency: the signed-in account, when its role is at least `role`; 403 otherwise."""

    def dependency(request: Request) -> Account:
        account: Account | None = request.state.account
        if account is None:
            raise HTTPException(401, "sign in first")
        if not account.can(role):
            raise HTTPException(403, f"this needs the {role} role")
        return account

    return dependency


class LoginLimiter:
    """Failed sign-ins per account and per address within a window, in bounded memory.

    Only failures count, so fifty phones behind one café's address can still sign in; the oldest
    keys are forgotten first when `max_keys` is reached.
    """

    def __init__(self, per_account: int, per_ip: int, window: float, max_keys: int) -> None:
        self.limits = {"account": per_account, "ip": per_ip}
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, name: str, ip: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(self._count(key, now) >= self.limits[key[0]] for key in _keys(name, ip))

    def failed(self, name: str, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in _keys(name, ip):
                stamps = self._failures.pop(key, None) or deque(maxlen=self.limits[key[0]])
                stamps.append(now)
                self._failures[key] = stamps
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("account", name.strip().casefold()), None)

    def _count(self, key: tuple[str, str], now: float) -> int:
        stamps = self._failures.get(key)
        if not stamps:
            return 0
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        return len(stamps)

    def __len__(self) -> int:
        return len(self._failures)


def _keys(name: str, ip: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("account", name.strip().casefold()), ("ip", ip)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


Witness = Annotated[Account, Depends(need("witness"))]
Editor = Annotated[Account, Depends(need("editor"))]
Admin = Annotated[Account, Depends(need("admin"))]
