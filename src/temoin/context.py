"""ArchiveContext: the small core every stage works through — below the stages, above the catalog.

A stage needs a handful of things of an archive: its folder and settings, who is acting, the vault,
the custody log, a catalog session and the write lock. This object holds exactly those, so a stage
never reaches up to the ``Archive`` façade (which sits above the stages and only calls them).

Every change of state goes through ``transaction()``: one place that holds the lock, opens the
session, appends custody events in the same transaction, commits and then records the custody
head — or rolls back and forgets the events it appended, so no later commit can name one that
never reached the catalog.
"""

from __future__ import annotations

import copy
import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from temoin.catalog.database import explain, is_current, make_engine, sessions, sqlite_url, upgrade
from temoin.catalog.models import CustodyEvent
from temoin.errors import (
    CatalogDamaged,
    CatalogMismatch,
    DiskFull,
    ReadOnlyArchive,
    TemoinError,
    UsageError,
    is_disk_full,
)
from temoin.events import Action
from temoin.keep import keys as keyfile
from temoin.keep.custody import CustodyLog
from temoin.keep.keys import Keys
from temoin.keep.match import mismatch
from temoin.keep.sealing import Plain, Sealed, Sealer
from temoin.keep.unlocking import declared_encrypted, unsealed
from temoin.keep.vault import Vault
from temoin.lock import AdvisoryLock, Lock, WriteLock
from temoin.settings import Settings

CATALOG = "catalog.sqlite"


@dataclass
class Transaction:
    """An open transaction: its session, and the log its changes are recorded in."""

    session: Session
    actor: str
    custody: CustodyLog

    def log(self, action: Action, item: str | None = None, **detail: Any) -> CustodyEvent:
        """Record `action` in the custody log, in this transaction (committed with the change)."""
        return self.custody.append(self.session, self.actor, action, item, **detail)


class ArchiveContext:
    """One open archive as the stages see it."""

    def __init__(self, root: Path, settings: Settings, keys: Keys | None = None) -> None:
        self.root = root
        self.settings = settings
        self.actor = settings.actor or _os_user()
        self.account_id: int | None = None  # a web account acting (see `acting_as`); never the CLI
        self.sealer: Sealer = Plain()
        if keyfile.is_encrypted(root) or declared_encrypted(root):
            if settings.database_url:
                raise UsageError(
                    f"{root.name}: an encrypted archive keeps its catalog in the archive folder "
                    "(SQLCipher); database_url cannot be set for it"
                )
            self.sealer = unsealed(root, keys)
        self.vault = Vault(root / "vault", self.sealer)
        self.custody = CustodyLog(root / "custody.head", self.sealer)
        catalog = root / CATALOG
        if settings.database_url:
            url = make_url(settings.database_url)
            self.catalog_name = url.render_as_string(hide_password=True)
        else:
            url, self.catalog_name = sqlite_url(catalog), CATALOG
            self._refuse_a_new_catalog_over_originals(catalog)
            if self.custody.head_file.exists() and not _has_bytes(catalog):
                raise CatalogDamaged(
                    f"{CATALOG}: missing or empty, but custody.head says this archive holds "
                    "events; restore it from a copy"
                )
        self.read_only = settings.read_only or not _writable(root, catalog)
        key = self.sealer.catalog_key if isinstance(self.sealer, Sealed) else None
        self.engine = make_engine(url, read_only=self.read_only, key=key)
        # Writers on other machines share a server, not a folder: there the server holds the lock.
        self.lock: Lock = (
            AdvisoryLock(self.engine) if self.is_postgres else WriteLock(root / ".lock")
        )
        try:
            if not self.read_only:
                upgrade(self.engine)
            elif not is_current(self.engine):
                raise ReadOnlyArchive(
                    f"{root.name}: the archive is read-only and its catalog needs an upgrade "
                    "that would write to it; open it once where it can be written"
                )
        except SQLAlchemyError as exc:
            self.engine.dispose()
            explained = self.explain(exc)
            if explained is None:
                raise
            raise explained from exc
        self._sessions = sessions(self.engine)

    def _refuse_a_new_catalog_over_originals(self, catalog: Path) -> None:
        """Opening would create an empty catalog; over a vault that holds originals, an empty
        catalog would disown every one of them."""
        if catalog.exists():
            return
        if self.custody.read_head() is not None or self.vault.holds_anything():
            raise CatalogMismatch(
                f"{catalog.name} is missing but this archive holds originals: restore the catalog "
                "from a copy (temoin will not start a new one over them)"
            )

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def encrypted(self) -> bool:
        return self.sealer.sealed

    def close(self) -> None:
        self.engine.dispose()
        self.sealer.close()

    def readable(self, relative: str | Path, sha256: str | None = None) -> Path:
        """A file of the archive (a derivative, say) as a path whose bytes can be read: itself,
        or in an encrypted archive a decrypted copy in memory, checked against ``sha256``."""
        return self.sealer.clear(self.root / relative, sha256)

    def scratch(self, fallback: str) -> Path:
        """A folder for clear files while they are made (a rendering): ``fallback`` in the
        archive folder for a plain archive, memory for an encrypted one."""
        return self.sealer.scratch(self.root / fallback)

    def explain(self, exc: BaseException) -> TemoinError | None:
        """The one-line error for a failure of this archive's catalog or disk; None for others.

        Front ends call this at their boundary, so a full disk or a damaged catalog reads as a
        sentence that names the file, not as a traceback.
        """
        if isinstance(exc, SQLAlchemyError):
            return explain(exc, self.catalog_name)
        if is_disk_full(exc):
            return DiskFull.writing(exc.filename or self.root.name)
        return None

    def acting_as(self, actor: str, account: int | None = None) -> ArchiveContext:
        """The same archive (engine, vault, custody log, lock) with `actor` named in what follows.

        The web app serves many people from one open archive; each request acts under its
        signed-in person's name without reopening the catalog. `account` is that person's account
        id: what they ingest is theirs by it, since a name is something the CLI's actor can share.
        """
        clone = copy.copy(self)
        clone.actor = actor
        clone.account_id = account
        return clone

    # -- sessions, the lock, transactions -------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A catalog session that knows its archive's folder (``session.info["archive_root"]``)
        and how its files are read (``archive_sealer``): the gate reads derivatives from there,
        and a catalog on a server names no folder."""
        with self._sessions() as session:
            session.info["archive_root"] = str(self.root)
            session.info["archive_sealer"] = self.sealer
            yield session

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the archive's write lock; the first hold checks the catalog is this vault's and
        cleans up what an interrupted writer left behind."""
        if self.read_only:
            raise ReadOnlyArchive(
                f"{self.root.name}: the archive is read-only (a write-protected card?): it can be "
                "verified and listed, not changed; copy it somewhere writable to go on"
            )
        with self.lock.hold() as took:
            if took:
                self._check_catalog()
                self.vault.create()
                self.vault.clear_tmp()  # partial writes of an interrupted writer
            yield

    @contextmanager
    def transaction(self, *, locked: bool = True) -> Iterator[Transaction]:
        """Hold the lock (unless `locked` is False: rows that are not the archive's record, such
        as a job's progress), open a session, and commit it when the block ends.

        The custody head is written by the commit itself (see ``keep.custody``); an exception
        rolls back, which forgets the events the block appended.
        """
        if locked:
            with self.writing(), self._transaction() as tx:
                yield tx
        else:
            with self._transaction() as tx:
                yield tx

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        with self.session() as session:
            try:
                yield Transaction(session, self.actor, self.custody)
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def writer_active(self) -> bool:
        return self.lock.writer_active()

    def _check_catalog(self) -> None:
        """Refuse to write through a catalog that is not this vault's: an older copy, a new empty
        one, or another archive's. Anything written through it would be measured against the
        wrong record, and what it does not know could be taken for leftovers."""
        with self.session() as session:
            problem = mismatch(session, self.vault, self.custody)
        if problem is not None:
            raise CatalogMismatch(
                f"the catalog does not match this vault ({problem}): restore it or run "
                "`temoin verify`"
            )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _has_bytes(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _writable(root: Path, catalog: Path) -> bool:
    """Whether this archive can be written: its folder, and its catalog where there is one.

    ``os.access`` sees read-only mounts and file modes, and answers without writing anything.
    """
    if not os.access(root, os.W_OK):
        return False
    return not catalog.exists() or os.access(catalog, os.W_OK)
