"""Accounts: who may act through the web app, and as what.

Roles are ranked: an editor may do what a witness may, an admin what an editor may. Passwords are
kept only as argon2id hashes. Every change to an account is a custody event, because an account's
name is the actor of everything it does afterwards.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from temoin.catalog.models import PasswordReset, User, WebSession
from temoin.errors import NoSuchUser, UsageError, UserExists
from temoin.events import Action
from temoin.i18n import marked

if TYPE_CHECKING:
    from temoin.archive import Archive

ROLES = ("witness", "editor", "admin")
MIN_PASSWORD = 10
RESET_HOURS = 24  # how long a reset link printed by `temoin user reset` works
_NAME = re.compile(r"^[\w][\w .'@-]{0,79}$")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("temoin: no such account")


@dataclass(frozen=True)
class Account:
    """A user as the web app holds it during a request: no password hash."""

    id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(marked("a password needs at least %(n)s characters") % {"n": MIN_PASSWORD})


def add_user(archive: Archive, name: str, role: str, password: str, *, by: str) -> Account:
    name = name.strip()
    if not _NAME.match(name):
        raise UsageError(
            marked("%(name)s: a name is 1-80 letters, digits, spaces or . ' @ - _")
            % {"name": repr(name)}
        )
    if role not in ROLES:
        raise UsageError(f"--role {role}: one of {', '.join(ROLES)}")
    check_password(password)
    hashed = _hasher.hash(password)
    with archive.ctx.acting_as(by).transaction() as tx:
        if tx.session.scalar(select(User).where(User.name == name)) is not None:
            raise UserExists(f"{name}: an account with that name already exists")
        user = User(name=name, role=role, password_hash=hashed, created_by=by, created_at=_now())
        tx.session.add(user)
        tx.log(Action.ACCOUNT, None, name=name, role=role, change="added")
    return Account(user.id, user.name, user.role)


def change_user(
    archive: Archive,
    name: str,
    *,
    by: str,
    role: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
) -> Account:
    """Change one thing about an account; a disabled account's sessions stop working at once."""
    if role is not None and role not in ROLES:
        raise UsageError(f"role {role}: one of {', '.join(ROLES)}")
    if password is not None:
        check_password(password)
    with archive.ctx.acting_as(by).transaction() as tx:
        session = tx.session
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NoSuchUser(f"{name}: no such account")
        changes: list[str] = []
        if role is not None and role != user.role:
            user.role = role
            changes.append("role")
        if password is not None:
            user.password_hash = _hasher.hash(password)
            changes.append("password")
        if disabled is not None and disabled != user.disabled:
            user.disabled = disabled
            changes.append("disabled" if disabled else "enabled")
        if {"password", "disabled"} & set(changes):
            # a stolen phone's session must not outlive a new password or a disabled account
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        for change in changes:
            tx.log(Action.ACCOUNT, None, name=name, role=user.role, change=change)
    return Account(user.id, user.name, user.role)


def change_own_password(archive: Archive, account: Account, current: str, new: str) -> bool:
    """False when `current` is not the account's password; every session of it ends on success
    (the one asking too: a password changed because a phone was lost must not stay signed in
    anywhere)."""
    check_password(new)
    if authenticate(archive, account.name, current) is None:
        return False
    change_user(archive, account.name, by=account.name, password=new)
    return True


def issue_reset(archive: Archive, name: str, *, by: str, hours: int = RESET_HOURS) -> str:
    """A one-time token for `name` to set a new password, valid `hours`; only its hash is kept.

    There is no mail server by default: the admin hands the link over in person or by message.
    """
    if not 1 <= hours <= 24 * 7:
        raise UsageError(f"--hours {hours}: between 1 and {24 * 7}")
    token = secrets.token_urlsafe(32)
    with archive.ctx.acting_as(by).transaction() as tx:
        session = tx.session
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NoSuchUser(f"{name}: no such account")
        session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
        session.add(
            PasswordReset(
                id=token_digest(token),
                user_id=user.id,
                created_by=by,
                expires_at=_now() + timedelta(hours=hours),
            )
        )
        tx.log(Action.ACCOUNT, None, name=name, role=user.role, change="reset-issued")
    return token


def reset_account(archive: Archive, token: str) -> str | None:
    """The account's name a reset token is for, while it is valid and unused; None otherwise."""
    with archive.session() as session:
        found = session.execute(
            select(PasswordReset, User)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.id == token_digest(token))
        ).first()
        if found is None or found[0].expires_at < _now() or found[1].disabled:
            return None
        return str(found[1].name)


def use_reset(archive: Archive, token: str, password: str) -> str | None:
    """Set a new password through the token and spend it; None when it is unknown, spent or
    expired. The account's sessions end, as with any new password."""
    check_password(password)
    with archive.ctx.transaction() as tx:
        session = tx.session
        found = session.execute(
            select(PasswordReset, User)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.id == token_digest(token))
        ).first()
        if found is None:
            return None
        reset, user = found
        session.delete(reset)  # spent even when expired: it can never work again
        if reset.expires_at < _now() or user.disabled:
            return None  # committed: the token is spent all the same
        user.password_hash = _hasher.hash(password)
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        # the person holding the link acts, under their own name
        replace(tx, actor=user.name).log(
            Action.ACCOUNT, None, name=user.name, role=user.role, change="password", via="reset"
        )
        return str(user.name)


def token_digest(token: str) -> str:
    """What the catalog keeps of a secret token (a session's, a reset link's): never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def list_users(archive: Archive) -> list[dict[str, object]]:
    with archive.session() as session:
        return [
            {
                "name": u.name,
                "role": u.role,
                "disabled": u.disabled,
                "created_by": u.created_by,
                "created_at": u.created_at.isoformat(timespec="seconds") + "Z",
            }
            for u in session.scalars(select(User).order_by(User.name))
        ]


def authenticate(archive: Archive, name: str, password: str) -> Account | None:
    """The account when the password matches; None otherwise, in about the same time."""
    # Signing in never waits for the write lock: a new hash of the same password is no change
    # to the archive's record.
    with archive.ctx.transaction(locked=False) as tx:
        user = tx.session.scalar(select(User).where(User.name == name.strip()))
        stored = user.password_hash if user is not None else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        return Account(user.id, user.name, user.role)


def acting_as(archive: Archive, account: Account) -> Archive:
    """The archive acting as this account: its name in custody, and its id as the owner of what
    it ingests (a witness sees only that)."""
    return archive.acting_as(account.name, account.id)


def account(archive: Archive, user_id: int) -> Account | None:
    with archive.session() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            return None
        return Account(user.id, user.name, user.role)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
