"""Copies of a closed archive's catalog, as a backup tool takes and restores them, and the names
in its vault: for tests that put an older or a missing catalog beside a vault."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def vault_names(root: Path) -> set[str]:
    """Every blob name in the archive's vault, whatever the catalog says."""
    return {p.name for p in (root / "vault").rglob("*") if p.is_file() and len(p.name) == 64}


def back_up(root: Path, to: Path) -> None:
    """A consistent copy of the catalog (SQLite's own backup, through its write-ahead log); of an
    encrypted archive's, SQLCipher's backup under the same key, as its owner would take it."""
    if (root / "temoin.key").exists():
        from sqlcipher3 import dbapi2

        from temoin.archive import Archive
        from temoin.keep.sealing import Sealed

        archive = Archive.open(root)
        try:
            sealer = archive.ctx.sealer
            assert isinstance(sealer, Sealed)
            pragma = f"PRAGMA key = \"x'{sealer.catalog_key.hex()}'\""
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
