"""The README's first command: the demo runs every stage and publishes a site exposing nobody."""

from __future__ import annotations

import hashlib
from pathlib import Path

from temoin.archive import Archive
from temoin.demo import run
from temoin.protect.scrub import assert_clean


def test_demo_runs_every_stage_and_publishes(tmp_path: Path, capsys) -> None:
    assert run(tmp_path / "demo") == 0
    printed = capsys.readouterr().out
    site = tmp_path / "demo" / "site"
    assert f"published at {(site / 'index.html').as_uri()}" in printed
    pages = list(site.rglob("*.html"))
    assert (site / "support.html").exists() and len(pages) > 5
    story = next((site / "stories").rglob("index.html")).read_text()
    assert "1051" in story and "helicopters over the camp" in story
    archive = Archive.open(tmp_path / "demo" / "calais-2016")
    try:
        assert archive.verify().ok
        originals = {p.name for p in archive.vault.root.rglob("*") if p.is_file()}
    finally:
        archive.close()
    # nothing published is an original, and no published photo carries metadata
    published = {hashlib.sha256(p.read_bytes()).hexdigest() for p in site.rglob("*") if p.is_file()}
    assert not published & originals
    for photo in (site / "media").glob("*.jpg"):
        assert assert_clean(photo) == [], photo
