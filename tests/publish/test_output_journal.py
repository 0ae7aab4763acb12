"""The published folder's bookkeeping: a build killed before its manifest, or a manifest cut
short, never leaves temoin's own files unknown (a withdrawn photo would linger on the host)."""

from __future__ import annotations

from pathlib import Path

from temoin.publish.output import MANIFEST, Output


def test_files_placed_by_a_build_killed_before_its_manifest_are_still_ours(
    tmp_path: Path,
) -> None:
    site, kept = tmp_path / "site", tmp_path / "archive" / "published" / "k.json"
    first = Output(site, kept)
    first.page("index.html", b"<p>day</p>")
    first.finish()
    killed = Output(site, kept)
    killed.page("index.html", b"<p>day</p>")
    killed.page("media/photo.jpg", b"a face that consent later withdrew")
    # the process dies here: no manifest lists media/photo.jpg
    (site / "media" / "mine.jpg").write_bytes(b"the host's own file")

    after = Output(site, kept)
    after.page("index.html", b"<p>day</p>")
    assert after.finish() == ["media/photo.jpg"]
    assert not (site / "media" / "photo.jpg").exists()
    assert (site / "media" / "mine.jpg").read_bytes() == b"the host's own file"
    assert not kept.with_suffix(".pending").exists()


def test_a_manifest_cut_short_falls_back_to_the_archives_copy(tmp_path: Path) -> None:
    site, kept = tmp_path / "site", tmp_path / "archive" / "published" / "k.json"
    first = Output(site, kept)
    first.page("index.html", b"<p>day</p>")
    first.page("items/0123456789abcdef.html", b"<p>withdrawn later</p>")
    first.finish()
    manifest = site / MANIFEST
    manifest.write_bytes(manifest.read_bytes()[:40])

    after = Output(site, kept)
    after.page("index.html", b"<p>day</p>")
    assert after.finish() == ["items/0123456789abcdef.html"]
    assert not (site / "items" / "0123456789abcdef.html").exists()


def test_a_failed_build_takes_back_only_what_it_added(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "stories").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<p>the live site, from before</p>")
    failed = Output(site, tmp_path / "archive" / "published" / "k.json")
    failed.page("index.html", b"<p>new</p>")  # replaces a file that was there
    failed.page("stories/new.html", b"<p>new story</p>")
    failed.abandon()  # the disk filled up
    assert (site / "index.html").is_file()  # not deleted: it was there before this build
    assert not (site / "stories" / "new.html").exists()
