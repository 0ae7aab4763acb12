"""Zip floods: a small zip nesting zips of zeros is stopped by one budget and by its ratio."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from temoin.archive import Archive
from temoin.testing.photos import make_photo

MIB = 1024 * 1024


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _flood(path: Path, photo: bytes, *, inner_zips: int, entries: int) -> Path:
    """A photo first, then zips each holding `entries` files of 1 MiB of zeros."""
    inner = _zip_bytes({f"zeros{i:04d}.bin": bytes(MIB) for i in range(entries)})
    outer = {"DCIM/IMG_1.jpg": photo} | {f"part{i}.zip": inner for i in range(inner_zips)}
    path.write_bytes(_zip_bytes(outer))
    return path


def _open(root: Path, **limits: int) -> Archive:
    Archive.create(root, timezone="Europe/Paris").close()
    return Archive.open(root, overrides=limits)


def test_nested_zips_share_one_budget_and_what_was_stored_stays(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_1.jpg", seed=1).read_bytes()
    flood = _flood(tmp_path / "flood.zip", photo, inner_zips=6, entries=3)
    assert flood.stat().st_size < 100_000
    # each inner zip (3 MiB) is under the total limit and the ratio is not what is tested here
    archive = _open(tmp_path / "archive", zip_max_total_bytes=8 * MIB, zip_max_ratio=100_000)
    try:
        report = archive.ingest([flood], source="phone")
        assert report.stored == 1  # the photo, read before the flood
        budget = [r for r in report.rejected if "counting the zips inside it" in r.reason]
        assert budget and all("\n" not in r.reason for r in report.rejected)
        assert "flood.zip" in budget[0].path
        inflated = sum(1 for r in report.rejected if r.path.endswith(".bin"))
        assert inflated * MIB <= 8 * MIB  # nothing past the budget was inflated
        [item] = archive.list_items(kind="photo")
        assert item["name"] == "IMG_1.jpg"
        assert archive.verify().ok
    finally:
        archive.close()


def test_a_zip_of_many_small_zero_files_is_refused_by_its_overall_ratio(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_1.jpg", seed=2).read_bytes()
    entries = {f"zeros{i:04d}.bin": bytes(MIB) for i in range(8)}  # none over 1 MiB alone
    (tmp_path / "flat.zip").write_bytes(_zip_bytes(entries))
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump/IMG_1.jpg").write_bytes(photo)
    (tmp_path / "dump/flat.zip").write_bytes((tmp_path / "flat.zip").read_bytes())
    archive = _open(tmp_path / "archive", zip_max_ratio=200)
    try:
        report = archive.ingest([tmp_path / "dump"], source="phone")
        assert report.stored == 1
        [refused] = report.rejected
        assert refused.path.endswith("dump/flat.zip")
        assert "times overall" in refused.reason and "decompression bomb" in refused.reason
    finally:
        archive.close()
