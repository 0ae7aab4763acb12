"""One photo's decoding at ingest is bounded: a JPEG at 1/8 scale, other formats by their size."""

from __future__ import annotations

from pathlib import Path

from temoin.archive import Archive
from temoin.testing.photos import make_photo


def test_a_photo_too_large_to_decode_is_refused_and_a_jpeg_that_size_is_not(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump"
    make_photo(dump / "panorama.png", size=(1600, 1000), seed=1)  # 6.1 MiB decoded
    make_photo(dump / "panorama.webp", size=(1600, 1000), seed=2)
    make_photo(dump / "IMG_1.jpg", size=(1600, 1000), seed=3)  # 1/64 of that at 1/8 scale
    make_photo(dump / "small.png", size=(800, 600), seed=4)  # 1.8 MiB decoded
    Archive.create(tmp_path / "archive").close()
    archive = Archive.open(tmp_path / "archive", overrides={"max_decode_bytes": 4 * 1024**2})
    try:
        report = archive.ingest([dump], source="phone")
        assert report.stored == 2
        reasons = {Path(r.path).name: r.reason for r in report.rejected}
        assert set(reasons) == {"panorama.png", "panorama.webp"}
        assert reasons["panorama.png"] == (
            "a 1600x1000 PNG would take 6 MiB to decode, over the limit of 4 MiB "
            "(setting max_decode_bytes)"
        )
    finally:
        archive.close()
