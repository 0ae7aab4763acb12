"""The key file of an encrypted archive: a passphrase opens it, a random data key does the rest.

``temoin.key`` is a small JSON document. Its ``kdf`` part records Argon2id's parameters and salt
(argon2-cffi), from which the passphrase gives a key-encryption key; ``sealed`` is the data keys,
encrypted with AES-256-GCM under that key, with every other field of the file as associated data,
so a changed parameter, archive id or generation fails to open like a wrong passphrase does.

The data keys are a random 32-byte master secret and an age X25519 identity. Files are sealed to
the identity (age, through pyrage); the catalog's SQLCipher key and the key that names vault files
are derived from the master secret with HKDF. None of them depends on the passphrase: changing it
rewraps the same keys, and destroying this one file (``temoin wipe``) leaves nothing that decrypts.

Each rewrap raises the file's ``generation``. The newest generation seen, and the digest of that
key file, are kept sealed in the archive (``keys.seen``), so an older key file put back (an old
passphrase someone knows) is refused on unlock and reported by ``verify``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyrage import x25519

from temoin.errors import KeyRolledBack, UsageError, WrongPassphrase

KEY_FILE = "temoin.key"
FORMAT = "temoin-key/1"
MIN_PASSPHRASE = 8

# Argon2id's cost. RFC 9106's second recommended option asks 64 MiB and 3 passes; a laptop that
# may be seized deserves more memory, and unlocking stays well under a second on two cores.
DEFAULT_COST = {"time_cost": 3, "memory_cost": 128 * 1024, "parallelism": 2}


@dataclass(frozen=True)
class Keys:
    """An unlocked archive's data keys. Held in memory by the process that unlocked it."""

    archive: str
    generation: int
    digest: str  # SHA-256 of the key file these came from
    master: bytes = field(repr=False)
    identity: str = field(repr=False)  # AGE-SECRET-KEY-1…

    def derive(self, purpose: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"temoin {purpose}".encode()
        ).derive(self.master)

    def age_identity(self) -> x25519.Identity:
        return x25519.Identity.from_str(self.identity)

    def to_json(self) -> str:
        return json.dumps(
            {
                "archive": self.archive,
                "generation": self.generation,
                "digest": self.digest,
                "master": _b64(self.master),
                "identity": self.identity,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Keys:
        data = json.loads(text)
        return cls(
            str(data["archive"]),
            int(data["generation"]),
            str(data["digest"]),
            _unb64(data["master"]),
            str(data["identity"]),
        )


def key_path(root: Path) -> Path:
    return root / KEY_FILE


def is_encrypted(root: Path) -> bool:
    return key_path(root).exists()


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE or len(set(passphrase)) < 4:
        raise UsageError(
            f"the passphrase must have at least {MIN_PASSPHRASE} characters, and not the same "
            "few again and again"
        )


def create(root: Path, passphrase: str, cost: dict[str, int] | None = None) -> Keys:
    """Make the data keys and the key file that holds them under ``passphrase``."""
    check_passphrase(passphrase)
    master = secrets.token_bytes(32)
    identity = str(x25519.Identity.generate())
    archive = secrets.token_hex(16)
    return _write(root, passphrase, archive, 1, master, identity, cost or DEFAULT_COST)


def rewrap(root: Path, keys: Keys, passphrase: str, cost: dict[str, int] | None = None) -> Keys:
    """The same data keys under a new passphrase, one generation up."""
    check_passphrase(passphrase)
    return _write(
        root,
        passphrase,
        keys.archive,
        keys.generation + 1,
        keys.master,
        keys.identity,
        cost or DEFAULT_COST,
    )


def _write(
    root: Path,
    passphrase: str,
    archive: str,
    generation: int,
    master: bytes,
    identity: str,
    cost: dict[str, int],
) -> Keys:
    header: dict[str, Any] = {
        "format": FORMAT,
        "archive": archive,
        "generation": generation,
        "kdf": {"name": "argon2id", "salt": _b64(secrets.token_bytes(16)), **cost},
        "cipher": "AES-256-GCM",
    }
    kek = _kek(passphrase, header["kdf"])
    nonce = secrets.token_bytes(12)
    payload = json.dumps({"master": _b64(master), "identity": identity}).encode()
    sealed = AESGCM(kek).encrypt(nonce, payload, _aad(header))
    document = {**header, "nonce": _b64(nonce), "sealed": _b64(sealed)}
    data = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    path = key_path(root)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _sync_folder(root)
    return Keys(archive, generation, _digest(data), master, identity)


def read_header(root: Path) -> dict[str, Any]:
    """The key file's clear part (archive id, generation, Argon2id's parameters)."""
    path = key_path(root)
    try:
        document = json.loads(path.read_bytes())
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}")
        return dict(document)
    except FileNotFoundError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise WrongPassphrase(f"{KEY_FILE}: damaged, it cannot be read ({exc})") from exc


def open_keys(root: Path, passphrase: str) -> Keys:
    """Unwrap the data keys with ``passphrase``; a wrong one and a changed file read alike."""
    path = key_path(root)
    data = path.read_bytes()
    document = read_header(root)
    try:
        header = {k: document[k] for k in ("format", "archive", "generation", "kdf", "cipher")}
        kek = _kek(passphrase, header["kdf"])
        payload = AESGCM(kek).decrypt(
            _unb64(document["nonce"]), _unb64(document["sealed"]), _aad(header)
        )
        inner = json.loads(payload)
        return Keys(
            str(header["archive"]),
            int(header["generation"]),
            _digest(data),
            _unb64(inner["master"]),
            str(inner["identity"]),
        )
    except (InvalidTag, KeyError, ValueError, TypeError, HashingError) as exc:
        raise WrongPassphrase(
            f"{KEY_FILE}: the passphrase is wrong, or the key file was altered"
        ) from exc


def current_digest(root: Path) -> str | None:
    try:
        return _digest(key_path(root).read_bytes())
    except FileNotFoundError:
        return None


def check_not_rolled_back(keys: Keys, seen: dict[str, Any] | None) -> bool:
    """Whether ``keys`` come from the newest key file the archive has seen; raises when an older
    one (or another of the same generation) was put back. Returns True when ``seen`` must be
    brought up to these keys (a rewrap whose record was not yet written)."""
    if seen is None:
        raise KeyRolledBack(
            f"{KEY_FILE}: the archive's record of its key file (keys.seen) is missing; "
            "restore the archive from a copy"
        )
    generation = int(seen.get("generation", 0))
    if keys.generation < generation or (
        keys.generation == generation and keys.digest != seen.get("digest")
    ):
        raise KeyRolledBack(
            f"{KEY_FILE}: generation {keys.generation} is older than the one this archive has "
            f"seen ({generation}): an old key file was put back"
        )
    return keys.generation > generation


def destroy(root: Path) -> bool:
    """Remove the key file (and a rewrap's leftover). Overwritten once first, though on flash
    storage that is not to be relied on: what makes the data unreadable is that the data keys
    existed nowhere else."""
    found = False
    path = key_path(root)
    for candidate in (path, path.with_name(f".{path.name}.tmp")):
        with contextlib.suppress(FileNotFoundError):
            size = candidate.stat().st_size
            with contextlib.suppress(OSError), open(candidate, "r+b", buffering=0) as handle:
                handle.write(secrets.token_bytes(size))
                os.fsync(handle.fileno())
            candidate.unlink()
            found = True
    _sync_folder(root)
    return found


def _kek(passphrase: str, kdf: dict[str, Any]) -> bytes:
    if kdf.get("name") != "argon2id":
        raise ValueError(f"unknown key derivation {kdf.get('name')!r}")
    # The parameters are read before the tag is checked: an altered file must not make the
    # derivation take all the memory or hours (the setting allows at most 4 GiB).
    bounds = {"time_cost": 64, "memory_cost": 4 * 1024**2, "parallelism": 64}
    for name, most in bounds.items():
        if not 1 <= int(kdf[name]) <= most:
            raise ValueError(f"{name} {kdf[name]} is out of bounds")
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        _unb64(kdf["salt"]),
        time_cost=int(kdf["time_cost"]),
        memory_cost=int(kdf["memory_cost"]),
        parallelism=int(kdf["parallelism"]),
        hash_len=32,
        type=Type.ID,
    )


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
