"""How an archive's own files are written and read: in clear (a plain archive) or sealed with age.

Every stage writes and reads the archive's files through one of these two, so an encrypted
archive differs from a plain one in this module and in the catalog's driver, nowhere else.

Sealed files are age files (age-encryption.org/v1, through pyrage) to the archive's X25519
identity: each file has its own random file key, and every 64 KiB chunk is authenticated, so a
flipped byte fails to decrypt. A file that decrypts is then checked against the name it is stored
under (the content hash the catalog records), so two files swapped are found too.

Vault files and derivatives are named by an HMAC of their content hash under a key of the
archive: the same layout and dedup, but a known photo's SHA-256 says nothing about whether it is
there.

Stages that hand a path to Pillow or PyAV get a decrypted copy in the runtime folder (memory, see
``keep.runtime``), made once per process and checked against its content hash.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pyrage

from temoin.errors import KeyWiped, SealBroken
from temoin.keep import keys as keyfile
from temoin.keep import runtime
from temoin.keep.keys import Keys

CHUNK = 1024 * 1024
_CLEAR_BUDGET = 2 * 1024**3  # decrypted copies one long-running process keeps before evicting
_CLEAR_IDLE = 10.0  # seconds a copy must have gone unused before it may be evicted
_LABEL = b"temoin-sealed:"  # then the file's place in the archive and a newline, then its bytes


class Sealer(Protocol):
    sealed: bool

    def name(self, sha256: str) -> str: ...
    def write_bytes(
        self, path: Path, data: bytes, mode: int = 0o600, *, label: Path | None = None
    ) -> None: ...
    def read_bytes(self, path: Path, *, label: Path | None = None) -> bytes: ...
    def place(self, clear: Path, final: Path) -> None: ...
    def seal_to(self, clear: Path, target: Path) -> None: ...
    def clear(self, path: Path, sha256: str | None = None) -> Path: ...
    def hash_stored(self, path: Path) -> tuple[str, int]: ...
    def scratch(self, fallback: Path) -> Path: ...
    def check(self) -> None: ...
    def close(self) -> None: ...


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """All of ``data`` under ``path`` or nothing: a temporary file, made durable, renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:  # all of it or an error: a full disk may take only part
            written = os.write(fd, view)
            if not written:
                raise OSError(errno.ENOSPC, "no byte could be written", str(tmp))
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.chmod(tmp, mode)  # the umask may have narrowed or the file existed with other bits
    os.replace(tmp, path)


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := handle.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


class Plain:
    """A plain archive: files are what they hold, named by their content hash."""

    sealed = False

    def name(self, sha256: str) -> str:
        return sha256

    def write_bytes(
        self, path: Path, data: bytes, mode: int = 0o600, *, label: Path | None = None
    ) -> None:
        write_atomic(path, data, mode)

    def read_bytes(self, path: Path, *, label: Path | None = None) -> bytes:
        return path.read_bytes()

    def place(self, clear: Path, final: Path) -> None:
        with open(clear, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(clear, final)

    def seal_to(self, clear: Path, target: Path) -> None:
        shutil.copyfile(clear, target)

    def clear(self, path: Path, sha256: str | None = None) -> Path:
        return path

    def hash_stored(self, path: Path) -> tuple[str, int]:
        return hash_file(path)

    def scratch(self, fallback: Path) -> Path:
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None


class _Hasher:
    """A write-only file that hashes what age decrypts into it (verify reads no clear copy)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        return None


def _refused(exc: Exception) -> bool:
    """Whether age refused the file's bytes. Its streaming calls report a chunk that fails its
    authentication (a flipped byte, a file cut short) as a bare OSError, not a DecryptError;
    the system's own errors (a missing file, a full disk) name their ``os error``."""
    if isinstance(exc, pyrage.DecryptError):
        return True
    return type(exc) is OSError and "(os error" not in str(exc)


class Sealed:
    """An encrypted archive, unlocked in this process."""

    sealed = True

    def __init__(self, root: Path, keys: Keys) -> None:
        self.root = root
        self.keys = keys
        self._identity = keys.age_identity()
        self._recipient = self._identity.to_public()
        self._names = keys.derive("vault names")
        self.catalog_key = keys.derive("catalog")
        self._lock = threading.Lock()
        self._clear_root: Path | None = None
        self._copies: dict[Path, tuple[Path, int, float]] = {}
        self._budget = 0
        self._closed = False

    # -- names ------------------------------------------------------------------------------

    def name(self, sha256: str) -> str:
        return hmac.new(self._names, sha256.encode("ascii"), hashlib.sha256).hexdigest()

    # -- small files, whole ------------------------------------------------------------------

    def write_bytes(
        self, path: Path, data: bytes, mode: int = 0o600, *, label: Path | None = None
    ) -> None:
        """Seal ``data`` as ``path``. The sealed bytes start with the file's place in the archive
        (``label``, for a file written under a temporary name first): a sealed file copied over
        another one (an old ``keys.seen`` over the new one, one upload's part into another
        upload) then fails to read as it."""
        self.check()
        header = _LABEL + self._place_of(label or path).encode("utf-8") + b"\n"
        write_atomic(path, pyrage.encrypt(header + data, [self._recipient]), mode)

    def read_bytes(self, path: Path, *, label: Path | None = None) -> bytes:
        self.check()
        sealed = path.read_bytes()
        try:
            clear: bytes = pyrage.decrypt(sealed, [self._identity])
        except pyrage.DecryptError as exc:
            raise SealBroken(f"{self._where(path)}: does not decrypt: altered or damaged") from exc
        header = _LABEL + self._place_of(label or path).encode("utf-8") + b"\n"
        if not clear.startswith(header):
            raise SealBroken(
                f"{self._where(path)}: is another file of the archive put in its place"
            )
        return clear[len(header) :]

    def _place_of(self, path: Path) -> str:
        with contextlib.suppress(ValueError):
            return path.absolute().relative_to(self.root.absolute()).as_posix()
        return path.name

    # -- large files ---------------------------------------------------------------------------

    def place(self, clear: Path, final: Path) -> None:
        """Seal the clear file ``clear`` (in the runtime folder) as ``final``, durably, and drop
        the clear one."""
        tmp = final.with_name(f".{final.name}.{os.getpid()}.part")
        try:
            self.seal_to(clear, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
            clear.unlink(missing_ok=True)

    def seal_to(self, clear: Path, target: Path) -> None:
        """Seal ``clear`` into ``target`` (a temporary name the caller renames), nothing more."""
        self.check()
        pyrage.encrypt_file(str(clear), str(target), [self._recipient])

    def clear(self, path: Path, sha256: str | None = None) -> Path:
        """A decrypted copy of the sealed file ``path`` in memory, checked against ``sha256``.

        Copies are kept for this process (a page shows the same photo many times) and evicted
        when they have not been used for a while and too many are held."""
        self.check()
        info = path.stat()  # FileNotFoundError as for a plain file
        with self._lock:
            known = self._copies.get(path)
            if known is not None and known[0].exists():
                self._copies[path] = (known[0], known[1], time.monotonic())
                return known[0]
            self._copies.pop(path, None)  # moved away by its reader (a bag), or evicted
        folder = self.scratch(Path())
        copy = folder / f"{secrets.token_hex(8)}{''.join(path.suffixes[-1:])}"
        part = copy.with_name(f".{copy.name}.part")
        try:
            pyrage.decrypt_file(str(path), str(part), [self._identity])
        except (pyrage.DecryptError, OSError) as exc:
            part.unlink(missing_ok=True)
            if not _refused(exc):
                raise
            raise SealBroken(f"{self._where(path)}: does not decrypt: altered or damaged") from exc
        if sha256 is not None:
            digest, _ = hash_file(part)
            if digest != sha256:
                part.unlink(missing_ok=True)
                raise SealBroken(
                    f"{self._where(path)}: holds other bytes than its name says "
                    "(swapped with another file?)"
                )
        os.replace(part, copy)
        with self._lock:
            if self._closed:  # locked or wiped while it decrypted: no copy may outlive that
                copy.unlink(missing_ok=True)
                raise KeyWiped(f"{self.root.name}: the archive was locked or wiped")
            raced = self._copies.get(path)
            if raced is not None and raced[0].exists():  # another thread decrypted it too
                copy.unlink(missing_ok=True)
                return raced[0]
            self._copies[path] = (copy, info.st_size, time.monotonic())
            self._budget += info.st_size
            if self._budget > _CLEAR_BUDGET:
                self._evict()
        return copy

    def _evict(self) -> None:
        now = time.monotonic()
        for source, (copy, size, used) in sorted(self._copies.items(), key=lambda i: i[1][2]):
            if self._budget <= _CLEAR_BUDGET // 2 or now - used < _CLEAR_IDLE:
                break
            copy.unlink(missing_ok=True)
            del self._copies[source]
            self._budget -= size

    def hash_stored(self, path: Path) -> tuple[str, int]:
        """The SHA-256 and size of what ``path`` decrypts to, without writing it anywhere."""
        self.check()
        sink = _Hasher()
        try:
            with open(path, "rb") as handle:
                pyrage.decrypt_io(handle, sink, [self._identity])
        except (pyrage.DecryptError, OSError) as exc:
            if not _refused(exc):
                raise
            raise SealBroken(f"{self._where(path)}: does not decrypt: altered or damaged") from exc
        return sink.digest.hexdigest(), sink.size

    def scratch(self, fallback: Path) -> Path:
        """This process's folder for clear files (in memory), made on first use; never again
        once the archive was closed, locked or wiped in this process."""
        with self._lock:
            if self._closed:
                raise KeyWiped(f"{self.root.name}: the archive was locked or wiped")
            if self._clear_root is None:
                runtime.sweep_dead(self.keys.archive)
                folder = runtime.archive_folder(self.keys.archive, self.root)
                folder.mkdir(mode=0o700, exist_ok=True)
                self._clear_root = folder / f"clear-{os.getpid()}-{secrets.token_hex(4)}"
            self._clear_root.mkdir(mode=0o700, parents=True, exist_ok=True)
            return self._clear_root

    # -- the key still there -----------------------------------------------------------------

    def check(self) -> None:
        """Refuse to go on once the key file is gone or replaced (`temoin wipe`, `passphrase`
        elsewhere): this process forgets its copies and stops."""
        if self._closed:
            raise KeyWiped(f"{self.root.name}: the archive was locked or wiped")
        if not keyfile.key_path(self.root).exists():
            self.close()
            raise KeyWiped(f"{self.root.name}: the archive's key was destroyed (temoin wipe)")

    def watch(self, on_wiped: Callable[[], None], every: float = 0.25) -> None:
        """Call ``on_wiped`` (on a thread of its own) once the key file is gone: a command that
        decodes a long video checks no key in between, and a wipe must not wait for it."""

        def run() -> None:
            path = keyfile.key_path(self.root)
            while not self._closed:
                if not path.exists():
                    self.close()
                    on_wiped()
                    return
                time.sleep(every)

        threading.Thread(target=run, name="temoin-key-watch", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._clear_root is not None:
                shutil.rmtree(self._clear_root, ignore_errors=True)
                self._clear_root = None
            self._copies.clear()

    def _where(self, path: Path) -> str:
        with contextlib.suppress(ValueError):
            return path.relative_to(self.root).as_posix()
        return path.name
