"""The archive's write lock: one writer at a time, refused at once (never waited for) when held.

A command that finds the lock held says so in one line (``ArchiveLocked``) instead of queueing
behind a writer that may run for an hour. The web app's own jobs wait politely on top of this
(``serve.writes``).

The lock is an ``flock`` on ``.lock`` in the archive folder: it is released by the kernel when its
holder dies, so a killed ingest never leaves the archive locked. It is reentrant within one
thread, so a verb that holds it may call another that takes it too.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temoin.errors import ArchiveLocked


class WriteLock:
    """Shared by every view of one open archive (see ``ArchiveContext.acting_as``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()  # this thread's depth of holding

    def held_here(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Hold the lock; yields True when this call took it, False when this thread had it."""
        if self.held_here():
            self._local.depth += 1
            try:
                yield False
            finally:
                self._local.depth -= 1
            return
        with open(self.path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise ArchiveLocked() from exc
            self._local.depth = 1
            try:
                yield True
            finally:
                self._local.depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)

    def writer_active(self) -> bool:
        """Whether a writer holds the lock (probed, never waited for)."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
