"""A damaged catalog is named in one line by every command, never answered with a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import SQLITE_ONLY, run_cli

from temoin.archive import Archive
from temoin.testing.photos import make_photo

pytestmark = SQLITE_ONLY  # damages the catalog.sqlite file


@pytest.fixture
def root(tmp_path: Path) -> Path:
    archive = Archive.create(tmp_path / "archive")
    for i in range(3):
        make_photo(tmp_path / "dump" / f"IMG_{i}.jpg", seed=i)
    archive.ingest([tmp_path / "dump"], source="phone")
    archive.close()
    return tmp_path / "archive"


def _garbage(catalog: Path) -> None:
    catalog.write_bytes(b"\x00garbage, not SQLite\xff" * 4096)


def _truncated(catalog: Path) -> None:
    with open(catalog, "r+b") as handle:
        handle.truncate(catalog.stat().st_size // 3)


def _emptied(catalog: Path) -> None:
    catalog.write_bytes(b"")


@pytest.mark.parametrize("damage", [_garbage, _truncated, _emptied])
@pytest.mark.parametrize("command", [["verify"], ["status"], ["ls"], ["ingest", "dump"]])
def test_a_damaged_catalog_is_one_line_error(
    root: Path, damage: Callable[[Path], None], command: list[str]
) -> None:
    catalog = root / "catalog.sqlite"
    damage(catalog)
    damaged = catalog.read_bytes()
    result = run_cli("-A", str(root), *command, cwd=root.parent)
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert line.startswith("error: catalog.sqlite: ")
    assert "damaged" in line or "missing or empty" in line
    assert catalog.read_bytes() == damaged  # nothing written over what is left of it
