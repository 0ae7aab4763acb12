"""The archive's write lock: one writer at a time, refused at once (never waited for) when held.

A command that finds the lock held says so in one line (``ArchiveLocked``) instead of queueing
behind a writer that may run for an hour. The web app's own jobs wait politely on top of this
(``serve.writes``).

With an SQLite catalog the lock is an ``flock`` on ``.lock`` in the archive folder. With a
PostgreSQL catalog the writers may be on other machines, where a local file locks nothing: the
lock is then a PostgreSQL advisory lock, held by a connection of its own for as long as the lock
is held. Either is released when its holder dies (the kernel closes the file; the server ends the
session of a dead client), so a killed ingest never leaves the archive locked. Both are
reentrant within one thread, so a verb that holds the lock may call another that takes it too.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from temoin.errors import ArchiveLocked


class Lock(Protocol):
    """What ``ArchiveContext`` needs of a write lock, whichever kind."""

    def held_here(self) -> bool: ...

    def hold(self) -> AbstractContextManager[bool]: ...

    def writer_active(self) -> bool: ...


class _Reentrant:
    """The per-thread depth both kinds share: the first hold takes the lock (``_held``), the
    ones inside it only count."""

    def __init__(self) -> None:
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
        with self._held():
            self._local.depth = 1
            try:
                yield True
            finally:
                self._local.depth = 0

    def _held(self) -> AbstractContextManager[None]:
        raise NotImplementedError


class WriteLock(_Reentrant):
    """Shared by every view of one open archive (see ``ArchiveContext.acting_as``)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    @contextmanager
    def _held(self) -> Iterator[None]:
        with open(self.path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise ArchiveLocked() from exc
            try:
                yield
            finally:
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


# One archive, one database (an archive refuses a catalog that is another's), and advisory locks
# are kept per database: one fixed key, in a namespace of temoin's own, names this archive's lock.
ADVISORY_KEY = int.from_bytes(
    hashlib.sha256(b"temoin archive write lock").digest()[:8], "big", signed=True
)


class AdvisoryLock(_Reentrant):
    """The write lock of an archive whose catalog is on a PostgreSQL server."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        super().__init__()
        self.engine = engine
        self.key = key

    @contextmanager
    def _held(self) -> Iterator[None]:
        # Autocommit: the lock belongs to the session, and no transaction stays open beside it.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            took = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
        except BaseException:
            connection.invalidate()  # it may hold the lock: its server session must end
            connection.close()
            raise
        if not took:
            connection.close()
            raise ArchiveLocked()
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except DBAPIError:
                connection.invalidate()  # a lost session holds nothing any more
            except BaseException:
                # Not unlocked (an interrupt): end the server session, which frees the lock,
                # rather than return a connection holding it to the pool.
                connection.invalidate()
                raise
            finally:
                connection.close()

    def writer_active(self) -> bool:
        """Whether a writer holds the lock: read from ``pg_locks``, never taken, so a probe
        cannot make a writer starting at that moment be refused."""
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        with self.engine.connect() as connection:
            held = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid) AND objsubid = 1"
                ),
                {"high": high, "low": low},
            ).scalar()
        return bool(held)
