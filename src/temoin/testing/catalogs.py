"""Copies of a closed archive's catalog, as a backup tool takes and restores them, and the names
in its vault: for tests that put an older or a missing catalog beside a vault."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from temoin.keep.keys import is_encrypted


def vault_names(root: Path) -> set[str]:
    """Every blob name in the archive's vault, whatever the catalog says."""
    return {p.name for p in (root / "vault").rglob("*") if p.is_file() and len(p.name) == 64}


def back_up(root: Path, to: Path) -> None:
    """A consistent copy of the catalog (SQLite's own backup, through its write-ahead log).

    An encrypted archive's catalog (SQLCipher's pages) is copied as it lies, as a backup tool
    copies it: the archive is closed, so its log is in the file."""
    if is_encrypted(root):
        shutil.copyfile(root / "catalog.sqlite", to)
        return
    with sqlite3.connect(root / "catalog.sqlite") as source, sqlite3.connect(to) as target:
        source.backup(target)
    source.close()
    target.close()


def put_back(copy: Path, root: Path) -> None:
    """The copy in place of the catalog, with nothing of the newer one's log left beside it."""
    for suffix in ("-wal", "-shm"):
        (root / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, root / "catalog.sqlite")
