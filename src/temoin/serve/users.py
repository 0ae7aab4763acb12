"""Accounts: who may act through the web app, and as what.

Roles are ranked: an editor may do what a witness may, an admin what an editor may. Passwords are
kept only as argon2id hashes. Every change to an account is a custody event, because an account's
name is the actor of everything it does afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from temoin.catalog.models import User, WebSession
from temoin.errors import NoSuchUser, UsageError, UserExists
from temoin.events import Action

if TYPE_CHECKING:
    from temoin.archive import Archive

ROLES = ("witness", "editor", "admin")
MIN_PASSWORD = 10
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
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


def add_user(archive: Archive, name: str, role: str, password: str, *, by: str) -> Account:
    name = name.strip()
    if not _NAME.match(name):
        raise UsageError(f"{name!r}: a name is 1-80 letters, digits, spaces or . ' @ - _")
    if role not in ROLES:
        raise UsageError(f"--role {role}: one of {', '.join(ROLES)}")
    check_password(password)
    hashed = _hasher.hash(password)
    with archive.writing(), archive.session() as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise UserExists(f"{name}: an account with that name already exists")
        user = User(name=name, role=role, password_hash=hashed, created_by=by, created_at=_now())
        session.add(user)
        archive.custody.append(
            session, by, Action.ACCOUNT, None, name=name, role=role, change="added"
        )
        session.commit()
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
    with archive.writing(), archive.session() as session:
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
            archive.custody.append(
                session, by, Action.ACCOUNT, None, name=name, role=user.role, change=change
            )
        session.commit()
        return Account(user.id, user.name, user.role)


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
    with archive.session() as session:
        user = session.scalar(select(User).where(User.name == name.strip()))
        stored = user.password_hash if user is not None else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
            session.commit()
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
