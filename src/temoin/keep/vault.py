"""The vault: every original stored once under its SHA-256, written so a power cut cannot half-write it.

Layout: ``vault/ab/cd/abcd…`` (two fan-out levels keep folders small on phones' exFAT cards and
laptops alike), temporary files in ``vault/tmp/``. A blob is written to a temporary file while it is
hashed (one read pass), made durable, renamed into place, made read-only, and its folder made
durable; only then may the catalog row that names it be committed. So a row without its blob cannot
happen, and a blob without a row (a crash between the two) is collected by the next ingest.

Blobs are staged and flushed in batches: one ``syncfs`` makes every staged file durable before any
is renamed, and a second makes the renames durable before the caller commits. Two syncs a batch
instead of two fsyncs a file is what lets a dump of thousands of photos go at disk speed.

Before a batch is renamed into place its names are written to ``vault/placing`` (the journal), and
the journal is emptied once the catalog rows naming them have committed. A blob the catalog does
not list may be deleted only if the journal names it: anything else in the vault may be a committed
original that an older or foreign catalog simply does not know, and is never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import BinaryIO

HEX = set("0123456789abcdef")
EARLY_SYNC_BYTES = 8 * 1024 * 1024
JOURNAL = "placing"
SKIPPED = {"tmp", JOURNAL}  # the vault's own bookkeeping, not blobs


class ShortWrite(OSError):
    """The stored bytes are not the bytes read: never let such a blob be named by the catalog."""


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's names, to the disk: what a rename makes durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobWriter:
    """A blob being written: feed it chunks, then `Vault.commit` or `discard` it."""

    def __init__(self, tmp_path: Path, file: BinaryIO) -> None:
        self.tmp_path = tmp_path
        self._file = file
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        """All of ``chunk`` or an error: an unbuffered write may store only part of it (a file-size
        limit, a full disk) and says so only in the count it returns."""
        view = memoryview(chunk).cast("B")
        self._hash.update(view)
        self.size += len(view)
        while view:
            written = self._file.write(view)
            if not written:
                raise OSError(errno.ENOSPC, "no byte could be written", str(self.tmp_path))
            view = view[written:]

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        """Finish the file and read it back (size, then hash) before anything may name it.

        Done here, on the worker thread that wrote it, so the read-back of one blob overlaps the
        copying of others."""
        if not self._file.closed:
            # A large blob is flushed here, on the worker thread that wrote it, so the disk is
            # busy while other files are read and hashed; the batch sync then finds little to do.
            if self.size >= EARLY_SYNC_BYTES:
                os.fdatasync(self._file.fileno())
            self._file.close()
            _check_stored(self)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp_path.unlink()


class Vault:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.journal = root / JOURNAL
        self._staged: list[BlobWriter] = []

    def create(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def writer(self) -> BlobWriter:
        fd, name = tempfile.mkstemp(prefix="blob-", suffix=".part", dir=self.tmp)
        return BlobWriter(Path(name), os.fdopen(fd, "wb", buffering=0))

    def stage(self, writer: BlobWriter) -> None:
        """Queue a finished blob; it reaches its place at the next `flush`."""
        writer.close()
        self._staged.append(writer)

    def flush(self) -> None:
        """Make staged blobs durable and move them into place; call before committing their rows.

        If it fails part way (a full disk), the batch is dropped: what was placed is in the journal
        (collected by the next ingest), the rest of its temporary files go, and a later batch in
        a long-running process does not try to move them again."""
        if not self._staged:
            return
        try:
            self._place_staged()
        finally:
            self.discard_staged()

    def _place_staged(self) -> None:
        _syncfs(self.tmp)  # every staged file's bytes are on disk before any rename
        fresh = [w for w in self._staged if not self.path_for(w.sha256).exists()]
        for writer in fresh:  # read back in full when it was closed; its size once more here
            if os.stat(writer.tmp_path).st_size != writer.size:
                raise ShortWrite(errno.EIO, "a staged blob changed size", str(writer.tmp_path))
        self._note_placing([w.sha256 for w in fresh])
        placed: set[Path] = set()
        for writer in fresh:
            final = self.path_for(writer.sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(writer.tmp_path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            os.replace(writer.tmp_path, final)
            placed.add(final.parent)
        if placed:
            _syncfs(self.root)  # and so are the names in their folders

    def discard_staged(self) -> None:
        """Forget the batch; temporary files not moved into place go (stored earlier, or never
        placed), blobs already in place stay."""
        for writer in self._staged:
            writer.discard()
        self._staged.clear()

    def settled(self) -> None:
        """The rows naming every placed blob have committed: the journal has nothing to say."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)

    def placing(self) -> set[str]:
        """Blobs placed by a batch whose commit has not been seen (an interrupted write's)."""
        try:
            text = self.journal.read_text("ascii", errors="replace")
        except FileNotFoundError:
            return set()
        return {line for line in text.split() if len(line) == 64 and set(line) <= HEX}

    def _note_placing(self, names: list[str]) -> None:
        if not names:
            return
        with open(self.journal, "a", encoding="ascii") as handle:
            handle.write("".join(f"{name}\n" for name in names))
            handle.flush()
            os.fsync(handle.fileno())

    def clear_tmp(self) -> int:
        """Remove partial writes left by an interrupted run; returns how many."""
        count = 0
        if self.tmp.is_dir():
            for entry in os.scandir(self.tmp):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    count += 1
        return count

    def remove(self, sha256: str) -> None:
        """Only for blobs no catalog row names (orphans of a crash); never for stored originals."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return  # the interrupted write never got it into place
        fsync_path(path.parent)

    def walk(self) -> Generator[tuple[str, Path], None, None]:
        """Every file in the vault outside tmp/, with the name it claims (which may be bogus)."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            if here == self.root:
                dirnames[:] = [d for d in dirnames if d not in SKIPPED]
                filenames = [f for f in filenames if f not in SKIPPED]
            for name in filenames:
                yield name, here / name

    def holds_anything(self) -> bool:
        """Whether any file at all is in the vault (its bookkeeping aside)."""
        walk = self.walk()
        try:
            return next(walk, None) is not None
        finally:
            walk.close()  # closes os.walk's open folder listings too

    def is_well_placed(self, name: str, path: Path) -> bool:
        return len(name) == 64 and set(name) <= HEX and path == self.path_for(name)


def _check_stored(writer: BlobWriter) -> None:
    """Read back what reached the disk before anything may name it: its size, then its hash."""
    size = os.stat(writer.tmp_path).st_size
    if size != writer.size:
        writer.discard()
        # a write cut short without an error is a full disk or a file-size limit in practice
        raise ShortWrite(
            errno.ENOSPC,
            f"a write was cut short: {size:,} of {writer.size:,} bytes reached the disk",
            str(writer.tmp_path),
        )
    digest, _ = hash_file(writer.tmp_path)
    if digest != writer.sha256:
        writer.discard()
        raise ShortWrite(
            errno.EIO, "the bytes on disk differ from those read", str(writer.tmp_path)
        )


def _syncfs(folder: Path) -> None:
    """Flush the whole file system holding `folder` (Linux syncfs; a full sync elsewhere)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _LIBC is not None and _LIBC.syncfs(fd) == 0:
            return
        os.sync()
    finally:
        os.close(fd)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syncfs  # noqa: B018 - probe that the symbol exists
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


def hash_file(path: Path, chunk: int = 1024 * 1024) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(chunk)
        view = memoryview(buffer)
        while n := handle.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size
