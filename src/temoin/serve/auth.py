"""Signing in: server-side sessions, the per-request account, role checks and login throttling.

The session cookie holds a random token; the catalog keeps only its SHA-256, with the session's CSRF
token and expiry, so signing out or disabling an account ends the session everywhere at once.
Cookies are HttpOnly and SameSite=Lax, and Secure whenever the request came over TLS.

Every request but the login page and the static assets goes through `AuthMiddleware`: anonymous
page views are sent to the login page, anything else gets 401. Routes then ask for a role with
`need("editor")`.
"""

from __future__ import annotations

import ipaddress
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
from temoin.i18n import marked
from temoin.serve.csrf import new_token
from temoin.serve.users import Account, token_digest

if TYPE_CHECKING:
    from temoin.archive import Archive

COOKIE = "temoin_session"
PUBLIC_PATHS = (
    "/login",
    "/static/",
    "/reset/",
    "/language",
    "/offline",
    "/sw.js",
    "/manifest.webmanifest",
)
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


def start_session(archive: Archive, account: Account, hours: int) -> tuple[str, SessionInfo]:
    """A new session; returns the cookie token (never stored) and what the catalog keeps."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = WebSession(
        id=token_digest(token),
        user_id=account.id,
        csrf=new_token(),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    # Signing in never waits for a long write (an ingest, a rendering): a web session is not
    # part of the archive's record, so it is written without the write lock.
    with archive.ctx.transaction(locked=False) as tx:
        tx.session.execute(delete(WebSession).where(WebSession.expires_at < now))
        tx.session.add(row)
    return token, SessionInfo(row.id, row.csrf, account)


def end_session(archive: Archive, session_id: str) -> None:
    with archive.ctx.transaction(locked=False) as tx:
        tx.session.execute(delete(WebSession).where(WebSession.id == session_id))


def find_session(archive: Archive, token: str) -> SessionInfo | None:
    with archive.session() as session:
        found = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == token_digest(token))
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
            raise HTTPException(401, marked("sign in first"))
        if not account.can(role):
            raise HTTPException(403, marked("this needs the %(role)s role") % {"role": role})
        return account

    return dependency


class LoginLimiter:
    """Sign-in attempts, counted before the password is checked, with growing delays.

    Counting failures once each check had failed let 200 simultaneous wrong passwords all be
    checked: none had failed yet when the next was let through. Here an attempt takes its place
    under one lock before argon2 runs, and is refused (429 with the seconds to wait) while a delay
    runs. Three tallies: the account from this address, the account from anywhere, and the
    address for any account. Past a few free attempts within the window, each attempt makes the
    next one wait, twice as long each time, up to `max_delay`.

    Nobody is locked out: refused attempts are not counted, so hammering does not lengthen the
    wait, and the owner of an account under attack from one address still signs in from theirs
    (the account-wide tally allows several addresses' worth of attempts). A sign-in clears its
    account's tallies and gives back its address's attempt, so fifty phones behind one café's
    address can still sign in. The oldest keys are forgotten first when `max_keys` is reached.

    A known device (see `devices.py`) is counted apart: its attempts go to its own tally and its
    address's, never the account's, so an attack on the account from many addresses does not hold
    up the owner's phone, and the owner's sign-in does not clear the attack's count either. IPv6
    clients are counted per /64, the block one phone or one home is given.
    """

    def __init__(
        self,
        per_account: int,
        per_ip: int,
        window: float,
        max_keys: int,
        *,
        per_account_anywhere: int | None = None,
        first_delay: float = 2.0,
        max_delay: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {
            "pair": per_account,
            "device": per_account,
            "account": per_account_anywhere or 4 * per_account,
            "ip": per_ip,
        }
        self.window = window
        self.max_keys = max_keys
        self.first_delay, self.max_delay = first_delay, max_delay
        self.clock = clock
        self._tallies: OrderedDict[tuple[str, ...], _Tally] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, name: str, ip: str, device: str | None = None) -> float:
        """0 when this attempt may check its password (it is counted now); otherwise the seconds
        to wait, and nothing is counted. `device`: the id of a known device signing in."""
        now = self.clock()
        keys = _keys(name, ip, device)
        with self._lock:
            tallies = [self._tally(key, now) for key in keys]
            wait = max(t.until - now for t in tallies)
            if wait > 0:
                return wait
            for key, tally in zip(keys, tallies, strict=True):
                tally.stamps.append(now)
                beyond = len(tally.stamps) - self.limits[key[0]]
                if beyond >= 0:
                    tally.until = now + min(self.max_delay, self.first_delay * 2.0**beyond)
                self._tallies[key] = tally
                self._tallies.move_to_end(key)
            while len(self._tallies) > self.max_keys:
                self._tallies.popitem(last=False)
            return 0.0

    def succeeded(self, name: str, ip: str, device: str | None = None) -> None:
        *mine, address = _keys(name, ip, device)
        with self._lock:
            for key in mine:
                self._tallies.pop(key, None)
            tally = self._tallies.get(address)
            if tally is not None and tally.stamps:
                tally.stamps.pop()
                if len(tally.stamps) < self.limits["ip"]:
                    tally.until = 0.0

    def _tally(self, key: tuple[str, ...], now: float) -> _Tally:
        tally = self._tallies.get(key) or _Tally(deque(maxlen=self.limits[key[0]] + 64))
        while tally.stamps and now - tally.stamps[0] > self.window:
            tally.stamps.popleft()
        return tally

    def __len__(self) -> int:
        return len(self._tallies)


@dataclass
class _Tally:
    stamps: deque[float]  # attempts within the window, oldest first
    until: float = 0.0  # no attempt before this time (the limiter's clock)


def _keys(name: str, ip: str, device: str | None = None) -> list[tuple[str, ...]]:
    """The tallies an attempt counts against, the address's last."""
    who, where = name.strip().casefold(), network(ip)
    if device is not None:
        return [("device", who, device), ("ip", where)]
    return [("pair", who, where), ("account", who), ("ip", where)]


def network(ip: str) -> str:
    """What one client is counted as: an IPv4 address, or an IPv6 address's /64 (a phone or a
    home gets a whole /64 and can pick any address in it)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # not an address (a test client, a Unix socket): counted as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


Witness = Annotated[Account, Depends(need("witness"))]
Editor = Annotated[Account, Depends(need("editor"))]
Admin = Annotated[Account, Depends(need("admin"))]
