"""A write-protected card still verifies and lists; writing is refused in one line.

The archive's files are made read-only for real with chmod. Run as root, chmod does not stop
anything, so the test also sets TEMOIN_READ_ONLY=1, which takes the same read-only path
(SQLite opened through a ``file:`` URI with ``immutable=1`` or ``mode=ro``, no migration, no
head written); run as another user, the read-only folder alone is detected.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.testing.photos import make_photo
from temoin.testing.trees import tree_state


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        os.chmod(path, (mode | stat.S_IWUSR) if writable else (mode & ~bits))


@pytest.fixture
def card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "card"
    archive = Archive.create(root)
    for i in range(3):
        make_photo(tmp_path / "dump" / f"IMG_{i}.jpg", seed=i)
    archive.ingest([tmp_path / "dump"], source="phone")
    archive.close()
    _chmod_tree(root, writable=False)
    if os.geteuid() == 0:  # chmod binds no one here: say read-only explicitly
        monkeypatch.setenv("TEMOIN_READ_ONLY", "1")
    yield root
    _chmod_tree(root, writable=True)


def test_a_read_only_archive_verifies_lists_and_is_left_untouched(card: Path) -> None:
    before = tree_state(card)
    verify = run_cli("-A", str(card), "verify")
    assert verify.code == 0, verify.out + verify.err
    assert "3 originals" in verify.out
    status = run_cli("-A", str(card), "status", "--json")
    assert status.code == 0 and status.json()["originals"] == 3
    listing = run_cli("-A", str(card), "ls", "--json")
    assert listing.code == 0 and len(listing.json()) == 3
    assert run_cli("-A", str(card), "timeline").code == 0
    assert tree_state(card) == before  # not a byte written
    assert not [p for p in card.iterdir() if p.name.endswith(("-wal", "-shm"))]


def test_ingest_into_a_read_only_archive_says_so(card: Path, tmp_path: Path) -> None:
    make_photo(tmp_path / "more" / "IMG_9.jpg", seed=9)
    result = run_cli("-A", str(card), "ingest", str(tmp_path / "more"))
    assert result.code == 3
    [line] = result.err.strip().splitlines()
    assert line.startswith("error: card: the archive is read-only")
    caption = run_cli("-A", str(card), "caption", "0", "x")
    assert caption.code in (3, 5)  # read-only, or no such item: never a traceback
    assert "Traceback" not in caption.err
