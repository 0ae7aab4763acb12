"""Copies of a closed archive's catalog, as a backup tool takes and restores them, and the names
in its vault: for tests that put an older or a missing catalog beside a vault."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from temoin.archive import Archive
from temoin.keep.sealing import Sealed


def vault_names(root: Path) -> set[str]:
    """Every blob name in the archive's vault, whatever the catalog says."""
    return {p.name for p in (root / "vault").rglob("*") if p.is_file() and len(p.name) == 64}


def raw_catalog(archive: Archive) -> sqlite3.Connection:
    """The catalog file opened without temoin: by plain sqlite3, or for an encrypted archive by
    SQLCipher with the catalog's key, as someone holding the file (and, there, the key) could."""
    path = archive.root / "catalog.sqlite"
    sealer = archive.ctx.sealer
    if not isinstance(sealer, Sealed):
        return sqlite3.connect(path)
    from sqlcipher3 import dbapi2

    connection: sqlite3.Connection = dbapi2.connect(str(path))
    connection.execute(_key_pragma(sealer))
    return connection


def _key_pragma(sealer: Sealed) -> str:
    return f"PRAGMA key = \"x'{sealer.catalog_key.hex()}'\""


def back_up(root: Path, to: Path) -> None:
    """A consistent copy of the catalog (SQLite's own backup, through its write-ahead log); of an
    encrypted archive's, SQLCipher's backup under the same key, as its owner would take it."""
    if (root / "temoin.key").exists():
        from sqlcipher3 import dbapi2

        archive = Archive.open(root)
        try:
            sealer = archive.ctx.sealer
            assert isinstance(sealer, Sealed)
            pragma = _key_pragma(sealer)
        finally:
            archive.close()
        source, target = dbapi2.connect(str(root / "catalog.sqlite")), dbapi2.connect(str(to))
        for connection in (source, target):
            connection.execute(pragma)
        source.backup(target)
        source.close()
        target.close()
        return
    with sqlite3.connect(root / "catalog.sqlite") as plain, sqlite3.connect(to) as copy:
        plain.backup(copy)
    plain.close()
    copy.close()


def put_back(copy: Path, root: Path) -> None:
    """The copy in place of the catalog, with nothing of the newer one's log left beside it."""
    for suffix in ("-wal", "-shm"):
        (root / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, root / "catalog.sqlite")
