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

from temoin.keep.sealing import Plain, Sealer
from temoin.keep.sealing import hash_file as hash_file

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

    def __init__(
        self,
        tmp_path: Path,
        file: BinaryIO,
        sealer: Sealer | None = None,
        sealed_tmp: Path | None = None,
    ) -> None:
        self.tmp_path = tmp_path
        self.clear_path = tmp_path  # the bytes as read, for sniffing and readers
        self._file = file
        self._hash = hashlib.sha256()
        self.size = 0
        self.stored_size = 0  # what lies in the vault: the size, or the sealed file's
        self._sealer = sealer
        self._sealed_tmp = sealed_tmp

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
            if self.size >= EARLY_SYNC_BYTES and self._sealer is None:
                os.fdatasync(self._file.fileno())
            self._file.close()
            if self._sealer is None:
                _check_stored(self)
            if self._sealer is not None and self._sealed_tmp is not None:
                # The clear copy was written in memory (the runtime folder); what goes to the
                # vault is its age file. Each of its chunks is authenticated, so a disk that
                # changes a byte later is caught on read and by verify.
                # The clear copy stays (in memory) for the readers until the blob is placed.
                self.tmp_path = self._sealed_tmp
                self._sealer.seal_to(self.clear_path, self.tmp_path)
            self.stored_size = os.stat(self.tmp_path).st_size

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        for path in (self.tmp_path, self._sealed_tmp, self.clear_path):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


class Vault:
    def __init__(self, root: Path, sealer: Sealer | None = None) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.journal = root / JOURNAL
        self.sealer: Sealer = sealer or Plain()
        self._staged: list[BlobWriter] = []

    def create(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)

    def name(self, sha256: str) -> str:
        """The file name an original is stored under: its hash, or in an encrypted archive a
        keyed hash of it (see ``keep.sealing``)."""
        return self.sealer.name(sha256)

    def stored(self, sha256: str) -> Path:
        """Where the original lies in the vault (sealed, in an encrypted archive)."""
        name = self.sealer.name(sha256)
        return self.root / name[:2] / name[2:4] / name

    def path_for(self, sha256: str) -> Path:
        """A file holding the original's bytes, to read: the vault's own in a plain archive, a
        decrypted copy in memory, checked against ``sha256``, in an encrypted one."""
        return self.sealer.clear(self.stored(sha256), sha256)

    def hash_stored(self, sha256: str) -> tuple[str, int]:
        """The hash and size of what the vault holds for ``sha256`` (decrypted, when sealed)."""
        return self.sealer.hash_stored(self.stored(sha256))

    def writer(self) -> BlobWriter:
        if not self.sealer.sealed:
            fd, name = tempfile.mkstemp(prefix="blob-", suffix=".part", dir=self.tmp)
            return BlobWriter(Path(name), os.fdopen(fd, "wb", buffering=0))
        self.sealer.check()
        scratch = self.sealer.scratch(self.tmp)
        fd, name = tempfile.mkstemp(prefix="blob-", suffix=".clear", dir=scratch)
        sealed_fd, sealed = tempfile.mkstemp(prefix="blob-", suffix=".part", dir=self.tmp)
        os.close(sealed_fd)
        return BlobWriter(Path(name), os.fdopen(fd, "wb", buffering=0), self.sealer, Path(sealed))

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
            self.sealer.check()  # a wiped archive places nothing more
            self._place_staged()
        finally:
            self.discard_staged()

    def _place_staged(self) -> None:
        _syncfs(self.tmp)  # every staged file's bytes are on disk before any rename
        fresh = [w for w in self._staged if not self.stored(w.sha256).exists()]
        for writer in fresh:  # read back in full when it was closed; its size once more here
            if os.stat(writer.tmp_path).st_size != writer.stored_size:
                raise ShortWrite(errno.EIO, "a staged blob changed size", str(writer.tmp_path))
        self._note_placing([w.sha256 for w in fresh])
        placed: set[Path] = set()
        for writer in fresh:
            final = self.stored(writer.sha256)
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
            text = self.sealer.read_bytes(self.journal).decode("ascii", errors="replace")
        except FileNotFoundError:
            return set()
        return {line for line in text.split() if len(line) == 64 and set(line) <= HEX}

    def _note_placing(self, names: list[str]) -> None:
        if not names:
            return
        if self.sealer.sealed:  # the hashes themselves would tell what is here: sealed whole
            before = sorted(self.placing())
            text = "".join(f"{name}\n" for name in before + names)
            self.sealer.write_bytes(self.journal, text.encode("ascii"))
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
        path = self.stored(sha256)
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
                # and the sealed journal while it is written again (see `_note_placing`)
                filenames = [
                    f
                    for f in filenames
                    if f not in SKIPPED
                    and not (f.startswith(f".{JOURNAL}.") and f.endswith(".tmp"))
                ]
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
        return (
            len(name) == 64 and set(name) <= HEX and path == self.root / name[:2] / name[2:4] / name
        )


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
