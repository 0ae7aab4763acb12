"""An archive's catalog lives inside its own folder, whatever characters the folder's name holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import SQLITE_ONLY, run_cli

from temoin.archive import Archive
from temoin.testing.photos import make_photo


@SQLITE_ONLY
@pytest.mark.parametrize("names", [("a?b", "a?c"), ("a%20b", "a b"), ("a#b", "a#c")])
def test_archives_with_url_characters_keep_their_own_catalog(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    """`?` once cut the URL (two archives shared `a`'s catalog); `%20` was decoded to a space."""
    for seed, name in enumerate(names):
        root = tmp_path / name
        assert run_cli("init", str(root)).code == 0
        make_photo(tmp_path / f"dump-{seed}" / "IMG.jpg", seed=seed)
        result = run_cli("-A", str(root), "ingest", str(tmp_path / f"dump-{seed}"))
        assert result.code == 0, result.err
    for name in names:
        root = tmp_path / name
        assert (root / "catalog.sqlite").stat().st_size > 0
        status = run_cli("-A", str(root), "status", "--json")
        assert status.code == 0, status.err
        assert status.json()["originals"] == 1  # its own photo, not the other archive's too
        verify = run_cli("-A", str(root), "verify")
        assert verify.code == 0, verify.err + verify.out
    # nothing was made outside the archives' folders (no stray `a` catalog, no decoded folder)
    made = {p.name for p in tmp_path.iterdir() if not p.name.startswith("dump-")}
    assert made == set(names)


@SQLITE_ONLY
def test_a_catalog_path_is_never_parsed_as_a_url(tmp_path: Path) -> None:
    archive = Archive.create(tmp_path / "x?mode=memory#frag")
    try:
        assert archive.engine.url.database == str(
            tmp_path / "x?mode=memory#frag" / "catalog.sqlite"
        )
    finally:
        archive.close()
    assert (tmp_path / "x?mode=memory#frag" / "catalog.sqlite").is_file()


def test_migrations_run_from_a_folder_whose_name_holds_a_percent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alembic reads its options like an ini file, where a bare `%` is an interpolation error."""
    import shutil

    from temoin.catalog import database

    moved = tmp_path / "site-packages 100%" / "migrations"
    shutil.copytree(database.MIGRATIONS, moved, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(database, "MIGRATIONS", moved)
    engine = database.make_engine(database.sqlite_url(tmp_path / "catalog.sqlite"))
    try:
        database.upgrade(engine)
        assert database.is_current(engine)
    finally:
        engine.dispose()
