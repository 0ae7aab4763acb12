"""Opening the catalog: engine settings that make SQLite durable, migrations to the latest schema,
and the catalog's failures put into words.

A folder's name is never pasted into a URL: ``?``, ``#`` and ``%`` mean something there, so an
archive called ``a?b`` would otherwise open ``a`` (shared with ``a?c``) and ``a%20b`` another
folder. Paths become URLs through SQLAlchemy's ``URL.create`` or ``urllib``'s quoting, never by
hand.
"""

from __future__ import annotations

import hashlib
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from temoin.errors import (
    ArchiveLocked,
    CatalogDamaged,
    CatalogUnreachable,
    DiskFull,
    ReadOnlyArchive,
    TemoinError,
)

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> URL:
    """The URL of an SQLite catalog at ``path``, whatever characters the path holds."""
    return URL.create("sqlite", database=str(path))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (verify, the web app) run beside the writer; FULL makes a commit durable
    # before it returns, so an item is never reported stored and then lost to a power cut.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _readonly_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Asking for WAL on a read-only file would be a write; the rest only shape this connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str | URL, *, read_only: bool = False, key: bytes | None = None) -> Engine:
    """An engine for the catalog; ``read_only`` opens an SQLite file without writing a byte.

    A write-protected card must still verify: SQLite is then opened through a ``file:`` URI in
    ``mode=ro``, or ``immutable=1`` when no write-ahead log is there and none could be made.

    With ``key`` (an encrypted archive) the file is SQLCipher's: every page, of the database, its
    write-ahead log and its journal, is encrypted and authenticated with that raw 256-bit key.
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    module = _sqlcipher() if key is not None else sqlite3
    if read_only and url.database:
        opener = partial(_connect_read_only, Path(url.database), module)
        engine = create_engine(url, creator=opener, module=module)
        if key is not None:
            event.listen(engine, "connect", partial(_sqlcipher_key, key))
        event.listen(engine, "connect", _readonly_pragmas)
        return engine
    engine = create_engine(url, connect_args={"check_same_thread": False}, module=module)
    if key is not None:
        event.listen(engine, "connect", partial(_sqlcipher_key, key))
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlcipher() -> Any:
    from sqlcipher3 import dbapi2

    return dbapi2


def _sqlcipher_key(key: bytes, dbapi_connection: Any, _record: Any) -> None:
    # The key must be the first statement on a connection. A raw key (x'…') skips SQLCipher's own
    # passphrase derivation: the key is already derived from the archive's data key.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    cursor.execute("PRAGMA cipher_log_level = NONE")  # failures are raised, not printed
    cursor.execute("PRAGMA temp_store = MEMORY")  # sorts and temporary tables never hit the disk
    cursor.close()


def _connect_read_only(path: Path, module: Any = sqlite3) -> Any:
    wal = path.with_name(f"{path.name}-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"  # a log that exists must be read
    uri = f"file:{quote(str(path.absolute()))}?{mode}"
    return module.connect(uri, uri=True, check_same_thread=False)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    # Alembic's options are interpolated like an ini file: a `%` in the install path must not be.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the newest migration (reads only)."""
    config = _alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


# Servers opening one PostgreSQL catalog at once after an upgrade take turns to migrate it.
_MIGRATING = int.from_bytes(hashlib.sha256(b"temoin catalog migration").digest()[:8], "big") >> 1


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; cheap when it already is."""
    if is_current(engine):
        return
    if engine.dialect.name != "postgresql":
        command.upgrade(_alembic_config(engine), "head")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATING})
        try:
            if not is_current(engine):  # another server may have done it while we waited
                command.upgrade(_alembic_config(engine), "head")
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATING})


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# -- the catalog's failures, in words -------------------------------------------------------------

_SQLITE_FULL = 13
_SQLITE_IOERR = 10
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_CANTOPEN = 14
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_IOERR_READ = 10 | (1 << 8)
_SQLITE_IOERR_SHORT_READ = 10 | (2 << 8)


def explain(exc: BaseException, name: str) -> TemoinError | None:
    """The one-line error for a failure of the catalog called ``name``; None when it is not one.

    SQLite reports a full disk as SQLITE_FULL, but a full quota or a file-size limit (EDQUOT,
    EFBIG) only as a write I/O error: both are said as a disk that is full or failing.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if orig is not None and type(orig).__module__.startswith("psycopg"):
        return _explain_postgres(orig, name)
    if not isinstance(orig, sqlite3.Error) and not type(orig).__module__.startswith("sqlcipher3"):
        return None
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    if primary == _SQLITE_FULL:
        return DiskFull.writing(name)
    if primary == _SQLITE_IOERR and code in (_SQLITE_IOERR_READ, _SQLITE_IOERR_SHORT_READ):
        return CatalogDamaged(f"{name}: cannot be read ({orig}); restore it from a copy")
    if primary == _SQLITE_IOERR:
        return DiskFull(
            f"{name}: disk full or failing: the catalog could not be written ({orig}); "
            "free some space and run the command again (nothing already stored was lost)"
        )
    if primary == _SQLITE_READONLY:
        return ReadOnlyArchive(f"{name}: the archive is read-only; it can be verified, not changed")
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CatalogDamaged(f"{name}: damaged or not a temoin catalog ({orig}); restore a copy")
    if primary == _SQLITE_CANTOPEN:
        return CatalogDamaged(f"{name}: cannot be opened ({orig})")
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return ArchiveLocked()
    return None


# PostgreSQL's SQLSTATE codes (Appendix A of its manual), by what they mean to a user.
_PG_DISK_FULL = {"53100"}  # disk_full
_PG_LOCKED = {"55P03", "40P01"}  # lock_not_available (lock_timeout), deadlock_detected
_PG_READ_ONLY = {"25006"}  # read_only_sql_transaction (a hot standby, a read-only user)
_PG_REFUSED = {"28000", "28P01", "3D000", "53300", "57P01", "57P02", "57P03"}
# invalid authorization, wrong password, no such database, too many connections, shut down


def _explain_postgres(orig: BaseException, name: str) -> TemoinError | None:
    """A failure of a PostgreSQL catalog in one line naming the server and database.

    A connection that fails before the server answers (refused, no such socket, host unknown)
    carries no SQLSTATE: psycopg's OperationalError says it in its first line.
    """
    state = getattr(orig, "sqlstate", None)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if state in _PG_DISK_FULL:
        return DiskFull.writing(name)
    if state in _PG_LOCKED:
        return ArchiveLocked()
    if state in _PG_READ_ONLY:
        return ReadOnlyArchive(f"{name}: the catalog's server only allows reading ({first})")
    if (
        state in _PG_REFUSED
        or (state or "").startswith("08")
        or (state is None and type(orig).__name__ == "OperationalError")
    ):
        return CatalogUnreachable(
            f"{name}: cannot reach the catalog's database server ({first}); check that it is "
            "running and that database_url names it"
        )
    return None
