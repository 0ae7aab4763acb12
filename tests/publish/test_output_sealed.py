"""In an encrypted archive, its copy of a published folder's manifest and the journal of files
being placed are sealed (they list what was published) and still do their work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import TEST_PASSPHRASE

from temoin.archive import Archive
from temoin.keep.sealing import Sealer
from temoin.publish.output import MANIFEST, Output, folder_key, kept_manifest

AGE = b"age-encryption.org/v1\n"


@pytest.fixture
def sealer(tmp_path: Path, no_catalog_server: None) -> Iterator[tuple[Path, Sealer]]:
    archive = Archive.create(
        tmp_path / "archive",
        passphrase=TEST_PASSPHRASE,
        kdf_cost={"time_cost": 1, "memory_cost": 8192, "parallelism": 1},
    )
    try:
        yield archive.root, archive.ctx.sealer
    finally:
        archive.close()


def test_the_kept_manifest_and_journal_are_sealed_and_still_remove_a_withdrawn_photo(
    sealer: tuple[Path, Sealer], tmp_path: Path
) -> None:
    root, seal = sealer
    site = tmp_path / "site"
    kept = kept_manifest(root, site, seal)
    assert kept.parent == root / "published"
    assert kept.stem != folder_key(site)  # a keyed name: a guessed path's hash finds nothing

    first = Output(site, kept, seal)
    first.page("index.html", b"<p>day</p>")
    first.page("items/0123456789abcdef.html", b"<p>withdrawn later</p>")
    journal = kept.with_suffix(".pending").read_bytes()
    assert journal.startswith(AGE) and b"0123456789abcdef" not in journal
    first.finish()
    assert kept.read_bytes().startswith(AGE)
    assert b"0123456789abcdef" not in kept.read_bytes()
    assert not kept.with_suffix(".pending").exists()

    (site / MANIFEST).unlink()  # left out of a copy to the host
    killed = Output(site, kept, seal)
    killed.page("index.html", b"<p>day</p>")
    killed.page("media/photo.jpg", b"a face that consent later withdrew")
    # the process dies here: only the sealed journal lists media/photo.jpg

    after = Output(site, kept, seal)
    after.page("index.html", b"<p>day</p>")
    assert after.finish() == ["items/0123456789abcdef.html", "media/photo.jpg"]
    assert sorted(p.name for p in site.rglob("*") if p.is_file()) == [MANIFEST, "index.html"]
    assert [p.name for p in (root / "published").iterdir()] == [kept.name]
