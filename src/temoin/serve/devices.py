"""Known devices: a signed cookie that lets an account's owner past an attack on that account.

When many addresses guess one account's password, the account-wide tally of the sign-in limiter
makes every attempt for it wait, the owner's too. After a sign-in, the browser is given a
long-lived cookie naming the account (signed with itsdangerous; HttpOnly, SameSite=Lax, Secure
over TLS). A later attempt for that account carrying it is counted against that device and its
address only (see `LoginLimiter`): the owner's own phone is not held up by strangers, and a
stolen cookie still cannot guess without limit.

The cookie carries a digest of the account's password hash, so it stops working when the
password changes (argon2 salts every hash: a new one differs even for the same password), and it
is checked against the catalog on every use, so a disabled account's devices are known no more.
The signing key is made on first use in ``keys/web-devices.key`` (mode 0600; sealed in an
encrypted archive); deleting it forgets every device at once.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeTimedSerializer

from temoin.catalog.models import User
from temoin.keep.sealing import Sealer

if TYPE_CHECKING:
    from temoin.archive import Archive

COOKIE = "temoin_device"
KEY_FILE = Path("keys") / "web-devices.key"
_SALT = "temoin known device"


class Devices:
    """Issues and checks device cookies for one archive."""

    def __init__(self, archive: Archive, days: int) -> None:
        self.archive = archive
        self.max_age = days * 24 * 3600
        self._signer = URLSafeTimedSerializer(_key(archive.root, archive.ctx.sealer), salt=_SALT)

    def issue(self, user_id: int, device: str | None = None) -> str:
        """A cookie value for this account; `device` keeps a known device's own id."""
        with self.archive.session() as session:
            user = session.get(User, user_id)
            stamp = _stamp(user.password_hash) if user is not None else ""
        return self._signer.dumps({"u": user_id, "p": stamp, "d": device or secrets.token_hex(8)})

    def known(self, value: str | None, name: str) -> str | None:
        """The device's id when `value` is a valid cookie for the account signing in as `name`
        (same password, not disabled); None for anything else."""
        if not value:
            return None
        try:
            payload = self._signer.loads(value, max_age=self.max_age)
        except BadSignature:  # a bad signature, or older than `max_age` (a subclass)
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
            return None
        with self.archive.session() as session:
            user = session.get(User, payload["u"])
            if user is None or user.disabled or user.name != name.strip():
                return None
            if payload.get("p") != _stamp(user.password_hash):
                return None
        device = payload.get("d")
        return device if isinstance(device, str) and device else None


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def _key(root: Path, sealer: Sealer) -> bytes:
    path = root / KEY_FILE
    try:
        return sealer.read_bytes(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{secrets.token_hex(6)}.tmp")
    sealer.write_bytes(tmp, secrets.token_bytes(32), 0o600, label=path)
    try:  # a link never replaces: two servers starting at once keep the same key
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return sealer.read_bytes(path)
