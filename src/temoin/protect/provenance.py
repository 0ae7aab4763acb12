"""Provenance of derivatives: the archive's Ed25519 key, signed records, and their verification.

Each derivative's record (item, original's hash, derivative's hash, operations, detections, model
version, the decisions it followed) is signed as canonical JSON, so a published file can be tied
back to this archive and to what was done to it by anyone holding the public key
(``keys/archive.ed25519.pub``, PEM), without access to the originals.

The key pair is made on first use. The private key (``keys/archive.ed25519``, PKCS#8 PEM, mode
0600) never leaves the folder; the public key's fingerprint goes into the custody log, so a key
swapped afterwards (with every signature re-made) is still noticed by `temoin verify`.

In an encrypted archive both key files are sealed like every other file of the archive, and
derivatives lie under keyed names (their hashes are published: a plain name would say which
published file this laptop holds). What leaves (an export, a site, a bag) carries the public key
in clear: it is written there to be read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent, Derivative
from temoin.errors import KeyUnreadable, SealBroken
from temoin.events import Action
from temoin.keep.custody import CustodyLog, canonical
from temoin.keep.sealing import Sealer
from temoin.keep.verify import CHANGED, MISSING, UNTRACKED, Fault

KEYS = "keys"
PRIVATE = "archive.ed25519"
PUBLIC = "archive.ed25519.pub"
DERIVATIVES = "derivatives"


class Folder(Protocol):
    """An archive's folder and how its files are read and written (an ``ArchiveContext`` is one;
    the gate makes one from what a bare session knows)."""

    @property
    def root(self) -> Path: ...
    @property
    def sealer(self) -> Sealer: ...


class Signer(Folder, Protocol):
    """An archive that can record its key's creation."""

    @property
    def actor(self) -> str: ...
    @property
    def custody(self) -> CustodyLog: ...


def derivative_path(folder: Folder, sha256: str, suffix: str) -> str:
    """Where a derivative is stored, relative to the archive: under its hash, or in an encrypted
    archive under a keyed name of it (a derivative's hash is published)."""
    name = folder.sealer.name(sha256)
    return f"{DERIVATIVES}/{name[:2]}/{name}{suffix}"


def readable(folder: Folder, relative: str, sha256: str | None = None) -> Path:
    """A derivative's bytes as a file to read: itself, or a decrypted copy in memory checked
    against ``sha256`` (``SealBroken`` when it does not decrypt or holds other bytes)."""
    return folder.sealer.clear(folder.root / relative, sha256)


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: short enough to print, compare and publish."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signing_key(session: Session, ctx: Signer) -> Ed25519PrivateKey:
    """The archive's private key, made (with a custody event) the first time it is needed.

    The caller holds the write lock and commits.
    """
    folder = ctx.root / KEYS
    private_path = folder / PRIVATE
    if private_path.exists():
        key = _load_private(ctx.sealer, private_path)
        _record_unrecorded(session, ctx, key)
        return key
    folder.mkdir(mode=0o700, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ctx.sealer.write_bytes(private_path, pem, 0o600)
    ctx.sealer.write_bytes(folder / PUBLIC, public_pem(key.public_key()), 0o644)
    _record_key(session, ctx, key)
    return key


def existing_signing_key(ctx: Folder) -> Ed25519PrivateKey | None:
    """The archive's private key if it has one, read without the write lock (a server starting
    while an ingest runs); None when it must first be made, which takes the lock."""
    private_path = ctx.root / KEYS / PRIVATE
    return _load_private(ctx.sealer, private_path) if private_path.exists() else None


def _record_key(session: Session, ctx: Signer, key: Ed25519PrivateKey, **extra: str) -> None:
    ctx.custody.append(
        session,
        ctx.actor,
        Action.KEY_CREATED,
        None,
        algorithm="ed25519",
        fingerprint=fingerprint(key.public_key()),
        **extra,
    )


def _record_unrecorded(session: Session, ctx: Signer, key: Ed25519PrivateKey) -> None:
    """A run that died between writing the key and committing its event left a key no event
    records; verify would call it altered for ever. The archive's first key is recorded on its
    next use. A key that replaces a recorded one is not: that stays an alarm."""
    recorded = session.scalars(
        select(CustodyEvent.seq).where(CustodyEvent.action == str(Action.KEY_CREATED)).limit(1)
    ).first()
    if recorded is not None:
        return
    if session.scalars(select(Derivative.item_id).limit(1)).first() is not None:
        return  # derivatives were signed by some key: this one cannot be taken as the first
    _record_key(session, ctx, key, recorded_late="its first use died before recording it")


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key(folder: Folder) -> Ed25519PublicKey | None:
    """The archive's public key; None when it is missing, unreadable or does not decrypt (its
    signatures then fail, and verify says the key is gone or altered)."""
    try:
        pem = folder.sealer.read_bytes(folder.root / KEYS / PUBLIC)
        loaded = serialization.load_pem_public_key(pem)
    except (FileNotFoundError, ValueError, SealBroken):
        return None
    return loaded if isinstance(loaded, Ed25519PublicKey) else None


def export_public_key(folder: Folder) -> bytes:
    """The PEM to publish beside the derivatives, so readers can check their signatures (in
    clear: it leaves the archive to be read)."""
    key = public_key(folder)
    if key is None:
        raise KeyUnreadable("keys/archive.ed25519.pub: no public key yet (run `temoin redact`)")
    return public_pem(key)


def sign(key: Ed25519PrivateKey, record: dict[str, Any]) -> tuple[str, str]:
    """The record as canonical JSON and its signature in hex."""
    text = canonical(record)
    return text, key.sign(text.encode("utf-8")).hex()


def signature_ok(public: Ed25519PublicKey | None, record: str, signature: str) -> bool:
    if public is None:
        return False
    try:
        public.verify(bytes.fromhex(signature), record.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_derivative(
    row: Derivative, folder: Folder, public: Ed25519PublicKey | None
) -> list[Fault]:
    """What is wrong with one derivative: its file, its hash, its record or its signature."""
    name = f"derivative {row.sha256}"
    faults: list[Fault] = []
    if not signature_ok(public, row.record, row.signature):
        faults.append(Fault(CHANGED, name, "its signature does not match its record"))
    try:
        record = json.loads(row.record)
    except json.JSONDecodeError:
        record = {}
    if (
        record.get("sha256") != row.sha256
        or record.get("item") != row.item_id
        or record.get("original_sha256") != row.original_sha256
        or record.get("inputs") != row.inputs
    ):
        faults.append(Fault(CHANGED, name, "the catalog row differs from its signed record"))
    path = folder.root / row.path
    if not path.is_file():
        faults.append(Fault(MISSING, name, f"{row.path} is gone"))
        return faults
    try:
        digest, _ = folder.sealer.hash_stored(path)
    except SealBroken:
        faults.append(Fault(CHANGED, name, f"{row.path} does not decrypt: altered or damaged"))
        return faults
    except FileNotFoundError:  # removed by a redaction since the listing
        faults.append(Fault(MISSING, name, f"{row.path} is gone"))
        return faults
    if digest != row.sha256:
        faults.append(Fault(CHANGED, name, f"{row.path} now hashes to {digest[:16]}…"))
    return faults


def derivative_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Derivative)) or 0


def verify_derivatives(session: Session, folder: Folder) -> list[Fault]:
    """Faults in derivatives and their signatures, for `temoin verify` (keep stays unaware of
    protect: `Archive.verify` adds these to its report)."""
    faults: list[Fault] = []
    rows = list(session.scalars(select(Derivative).order_by(Derivative.item_id)))
    root = folder.root
    public = public_key(folder)
    created = [
        json.loads(e.detail).get("fingerprint")
        for e in session.scalars(
            select(CustodyEvent).where(CustodyEvent.action == str(Action.KEY_CREATED))
        )
    ]
    if created and public is None:
        faults.append(_no_public_key(folder))
    elif public is not None and fingerprint(public) not in created:
        faults.append(
            Fault(CHANGED, f"{KEYS}/{PUBLIC}", "no custody event records this key's creation")
        )
    for row in rows:
        faults.extend(check_derivative(row, folder, public))
    known = {row.path for row in rows}
    stored = root / DERIVATIVES
    if stored.is_dir():
        # Hidden names are listed too: a dot-file is as publishable as any other once copied out.
        # Only a rendering in progress writes there (into .tmp/), and it removes what it wrote.
        for path in sorted(stored.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or relative in known:
                continue
            hidden = any(part.startswith(".") for part in path.relative_to(stored).parts)
            why = "a hidden file the catalog lists as no derivative" if hidden else ""
            faults.append(Fault(UNTRACKED, relative, why or "the catalog lists no such derivative"))
    return faults


def _no_public_key(folder: Folder) -> Fault:
    """Why a key that custody records cannot be read: gone, or altered."""
    path, where = folder.root / KEYS / PUBLIC, f"{KEYS}/{PUBLIC}"
    try:
        folder.sealer.read_bytes(path)
    except FileNotFoundError:
        return Fault(MISSING, where, "the archive's public key is gone")
    except SealBroken:
        return Fault(CHANGED, where, "the archive's public key does not decrypt: altered")
    return Fault(CHANGED, where, "the archive's public key is no longer a readable Ed25519 key")


def _load_private(sealer: Sealer, path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(sealer.read_bytes(path), password=None)
    except (OSError, ValueError, TypeError, SealBroken) as exc:
        raise KeyUnreadable(f"{KEYS}/{PRIVATE}: cannot read the signing key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnreadable(f"{KEYS}/{PRIVATE}: not an Ed25519 key")
    return key
