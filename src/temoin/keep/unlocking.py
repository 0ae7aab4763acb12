"""Unlock, lock, wipe and a new passphrase: what an encrypted archive's owner does to its keys.

None of these opens the catalog. ``wipe`` in particular needs no passphrase, no lock and no
catalog: it must work in seconds while an ingest runs, or with the catalog held by another
process, or when the person holding the laptop has no time to think.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from temoin.errors import ArchiveSealed, KeyWiped, UsageError, WrongPassphrase
from temoin.keep import keys as keyfile
from temoin.keep import runtime
from temoin.keep.keys import Keys
from temoin.keep.sealing import Sealed

PASSPHRASE_ENV = "TEMOIN_PASSPHRASE"
SEEN = "keys.seen"  # the newest key file this archive has seen, sealed (see keep.keys)


@dataclass(frozen=True)
class WipeReport:
    archive: str | None
    key_destroyed: bool
    deleted: bool
    seconds: float


def unsealed(root: Path, keys: Keys | None) -> Sealed:
    """The sealer of an encrypted archive, with keys given, left by `temoin unlock`, or from
    TEMOIN_PASSPHRASE; refused in one line when it is locked, wiped, or its key file rolled back."""
    if not keyfile.is_encrypted(root):
        raise KeyWiped(
            f"{root.name}: this encrypted archive has no key file ({keyfile.KEY_FILE}): it was "
            "wiped, and nothing of it can be read"
        )
    if keys is None:
        archive = str(keyfile.read_header(root).get("archive", ""))
        keys = runtime.recall(archive)
        if keys is not None and keys.digest != keyfile.current_digest(root):
            runtime.forget(archive)  # the key file changed since: unlock again
            keys = None
    if keys is None and os.environ.get(PASSPHRASE_ENV):
        keys = keyfile.open_keys(root, os.environ[PASSPHRASE_ENV])
    if keys is None:
        raise ArchiveSealed(
            f"{root.name}: the archive is locked; run `temoin unlock` (or set {PASSPHRASE_ENV})"
        )
    sealer = Sealed(root, keys)
    try:
        check_seen(root, sealer)
    except BaseException:
        sealer.close()
        raise
    return sealer


def declared_encrypted(root: Path) -> bool:
    """Whether the archive's own temoin.toml says it is encrypted (an environment asking for
    encryption makes new archives encrypted; it never turns an existing plain one into a
    "wiped" one)."""
    try:
        data = tomllib.loads((root / "temoin.toml").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("temoin", data).get("encrypt") is True


def unlock_seconds(hours: float) -> float | None:
    """How long an unlock lasts, from the setting ``unlock_hours`` (0: until `temoin lock`)."""
    return hours * 3600 if hours > 0 else None


def check_seen(root: Path, sealer: Sealed) -> None:
    """Refuse an older key file than the archive has seen; remember a newer one."""
    try:
        seen = json.loads(sealer.read_bytes(root / SEEN))
    except FileNotFoundError:
        seen = None
    if keyfile.check_not_rolled_back(sealer.keys, seen):
        record_seen(root, sealer)


def record_seen(root: Path, sealer: Sealed) -> None:
    keys = sealer.keys
    body = {"generation": keys.generation, "digest": keys.digest}
    sealer.write_bytes(root / SEEN, json.dumps(body).encode())


def unlock(root: Path, passphrase: str, seconds: float | None) -> Keys:
    """Open the key file and leave its keys in memory for later commands."""
    keys = _opened(root, passphrase)
    runtime.remember(keys, seconds, root)
    return keys


def lock(root: Path) -> bool:
    """Forget the cached keys and every decrypted copy; True when it was unlocked."""
    if not keyfile.is_encrypted(root):
        runtime.forget_root(root)
        if declared_encrypted(root):
            return False  # wiped: nothing of it is unlocked
        raise UsageError(f"{root.name}: not an encrypted archive: there is nothing to lock")
    archive = _archive_id(root)
    was = runtime.recall(archive) is not None
    runtime.forget(archive)
    return was


def change_passphrase(root: Path, old: str, new: str, memory_kib: int) -> Keys:
    """The same data keys under ``new``: temoin refuses the old key file from now on, but a copy
    of it still opens the data with the old passphrase (nothing is encrypted again)."""
    if new == old:
        raise UsageError("the new passphrase is the old one")
    keys = _opened(root, old)
    cost = {**keyfile.DEFAULT_COST, "memory_cost": memory_kib}
    fresh = keyfile.rewrap(root, keys, new, cost)
    sealer = Sealed(root, fresh)
    try:
        record_seen(root, sealer)
    finally:
        sealer.close()
    runtime.forget(keys.archive)
    return fresh


def wipe(root: Path, *, and_delete: bool = False) -> WipeReport:
    """Destroy the key file and every copy of the keys; then, with ``and_delete``, the files.

    A server holding the keys in memory watches the key file and stops once it is gone."""
    started = time.monotonic()
    if not keyfile.is_encrypted(root) and not declared_encrypted(root):
        raise UsageError(
            f"{root.name}: not an encrypted archive: its files are in clear, and there is no key "
            "to destroy (delete the folder to remove it)"
        )
    archive: str | None
    try:
        archive = _archive_id(root)
    except (FileNotFoundError, ArchiveSealed):
        archive = None
    destroyed = keyfile.destroy(root)
    if archive is not None:
        runtime.forget(archive)
    runtime.forget_root(root)  # also the entries a damaged or altered key file no longer names
    deleted = False
    if and_delete:
        for entry in list(root.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        deleted = True
    return WipeReport(archive, destroyed, deleted, time.monotonic() - started)


def check_encrypted(root: Path) -> None:
    """Refuse, before any passphrase is asked, an archive that has no key to open."""
    if not keyfile.is_encrypted(root):
        if declared_encrypted(root):
            raise KeyWiped(f"{root.name}: the archive was wiped: nothing of it can be opened")
        raise UsageError(f"{root.name}: not an encrypted archive: there is nothing to unlock")


def _opened(root: Path, passphrase: str) -> Keys:
    check_encrypted(root)
    keys = keyfile.open_keys(root, passphrase)
    sealer = Sealed(root, keys)
    try:
        check_seen(root, sealer)
    finally:
        sealer.close()
    return keys


def _archive_id(root: Path) -> str:
    try:
        archive = str(keyfile.read_header(root)["archive"])
    except (KeyError, WrongPassphrase) as exc:
        raise ArchiveSealed(f"{keyfile.KEY_FILE}: damaged") from exc
    runtime.archive_folder(archive)  # only an id of the right shape names an entry
    return archive
