"""Capture time, GPS and orientation as exiftool reads them, from files exiftool itself tagged.

The corpus (``temoin.testing.exifcorpus``) holds what cameras, phones, scanners and editors leave:
EXIF in either byte order, XMP-only times, GPS-only times, zeroed clocks, an EXIF block under an old
maker's header, damaged pictures with whole metadata, HEIC with orientation, TIFF and DNG.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from temoin.archive import Archive
from temoin.collect.exiftool import MISSING_NOTE, ExifToolBatch
from temoin.collect.ingest import Ingest, plan
from temoin.collect.readers import read
from temoin.collect.readers.base import MediaInfo
from temoin.collect.sniff import sniff
from temoin.errors import Rejected
from temoin.protect.photo import load_upright_rgb, upright_size
from temoin.testing.agreement import compare, exiftool_json, has_capture_time, rates
from temoin.testing.exifcorpus import SHOTS, make_exif_corpus
from temoin.testing.photos import make_photo

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
PARIS = timezone(timedelta(hours=2))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {path.name: path for path in make_exif_corpus(folder)}


def _read(path: Path, batch: ExifToolBatch | None = None) -> MediaInfo:
    found = sniff(path, path.name)
    return read(found.kind, path, found.mime, max_pixels=200_000_000, exiftool=batch)


def _agreement(paths: list[Path]) -> list:
    reference = exiftool_json(paths)
    results = []
    with ExifToolBatch() as batch:
        for path in paths:
            try:
                info: MediaInfo | None = _read(path, batch)
            except Rejected:
                info = None
            results.append(compare(path.name, info, reference[str(path)]))
    return results


def test_every_generated_file_agrees_with_exiftool(corpus: dict[str, Path]) -> None:
    paths = sorted(corpus.values())
    assert len(paths) == len(SHOTS) >= 30
    reference = exiftool_json(paths)
    assert sum(has_capture_time(reference[str(p)]) for p in paths) >= 28
    results = _agreement(paths)
    wrong = [f"{r.name}: {r.detail}" for r in results if r.detail]
    assert not wrong, "\n".join(wrong)
    assert rates(results) == {"time": 1.0, "gps": 1.0, "orientation": 1.0, "all": 1.0}


def test_the_shared_samples_agree_with_exiftool() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("the shared samples are not present")
    paths = sorted(p for p in SAMPLES.iterdir() if p.is_file() and p.suffix.lower() != ".md")
    if not paths:
        pytest.skip("the shared samples folder is empty")
    results = _agreement(paths)
    wrong = [f"{r.name}: {r.detail}" for r in results if r.detail]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("name", "damage", "taken", "orientation"),
    [
        ("cut-in-scan.jpg", "truncated image", datetime(2016, 10, 24, 7, 18, tzinfo=PARIS), 6),
        ("cut-before-frame.jpg", "truncated image", datetime(2016, 10, 24, 7, 19, tzinfo=PARIS), 8),
        ("bad-frame-header.jpg", "undecodable image", datetime(2016, 10, 24, 7, 20), 3),
        ("bad-huffman.jpg", "undecodable image", datetime(2016, 10, 24, 7, 21), 6),
    ],
)  # fmt: skip
def test_a_damaged_photo_keeps_its_stated_time_place_and_orientation(
    corpus: dict[str, Path], name: str, damage: str, taken: datetime, orientation: int
) -> None:
    info = _read(corpus[name])
    assert info.damaged is not None and info.damaged.startswith(damage)
    assert (info.captured_at, info.capture_source) == (taken, "exif:DateTimeOriginal")
    assert info.meta["orientation"] == orientation
    if name != "bad-huffman.jpg":
        assert info.meta["gps"]["lat"] == pytest.approx(50.958132, abs=1e-6)


def test_an_xmp_time_wins_over_the_exif_modified_time(corpus: dict[str, Path]) -> None:
    info = _read(corpus["edited-in-photoshop.jpg"])
    assert info.capture_source == "xmp:DateTimeOriginal"
    assert info.captured_at == datetime(2016, 10, 24, 7, 10, 0, 500000, tzinfo=PARIS)
    exported = _read(corpus["exported.jpg"])
    assert (exported.capture_source, exported.captured_at) == (
        "xmp:CreateDate",
        datetime(2016, 10, 24, 7, 11),
    )
    day = _read(corpus["scanned-day.jpg"])
    assert day.capture_source == "xmp:DateCreated" and day.meta["capture_precision"] == "day"
    gps = _read(corpus["gps-logger.jpg"])
    assert (gps.capture_source, gps.captured_at) == (
        "gps:GPSDateTime",
        datetime(2016, 10, 24, 5, 13, 30, tzinfo=UTC),
    )
    assert _read(corpus["P1000007.JPG"]).capture_source == "exif:DateTimeDigitized"  # zeros


def test_an_old_maker_exif_header_is_read_through_exiftool_once(
    corpus: dict[str, Path],
) -> None:
    with ExifToolBatch() as batch:
        plain = _read(corpus["PXL_20161024_070000.jpg"], batch)
        assert batch.started == 0  # Pillow read it: no exiftool process
        kodak = _read(corpus["kodak-header.jpg"], batch)
        again = _read(corpus["cut-before-frame.jpg"], batch)
        assert batch.started == 1
    assert plain.captured_at == datetime(2016, 10, 24, 7, 0, 0, 250000, tzinfo=PARIS)
    assert kodak.captured_at == datetime(2016, 10, 24, 7, 15)
    assert (kodak.meta["orientation"], kodak.meta["make"]) == (6, "EASTMAN KODAK COMPANY")
    assert again.damaged is not None


def test_without_exiftool_the_fallback_is_skipped_with_a_note(corpus: dict[str, Path]) -> None:
    absent = ExifToolBatch(executable="exiftool-not-installed-here")
    kodak = _read(corpus["kodak-header.jpg"], absent)
    assert kodak.meta["metadata_note"] == MISSING_NOTE
    assert kodak.captured_at is None and kodak.meta["orientation"] == 1
    with pytest.raises(Rejected, match="not a readable image"):
        _read(corpus["cut-before-frame.jpg"], absent)
    assert absent.missing and absent.started == 0


def test_heic_orientation_is_the_one_the_file_declares(corpus: dict[str, Path]) -> None:
    assert _read(corpus["IMG_0022.HEIC"]).meta["orientation"] == 6
    assert _read(corpus["IMG_0023.HEIC"]).meta["orientation"] == 8
    # pillow-heif turns the pixels upright itself: the redaction sees them once turned
    assert load_upright_rgb(corpus["IMG_0022.HEIC"]).shape[:2] == (320, 240)


def test_tiff_and_dng_are_photos_that_render_upright(corpus: dict[str, Path]) -> None:
    tiff, dng = corpus["scan.tif"], corpus["IMG_0030.dng"]
    assert sniff(tiff, tiff.name).kind == sniff(dng, dng.name).kind == "photo"
    info = _read(dng)
    assert (info.meta["format"], info.meta["raw"], info.damaged) == ("RAW", "libraw", None)
    assert (info.meta["orientation"], info.capture_source) == (6, "exif:DateTimeOriginal")
    for path in (tiff, dng):  # both declare orientation 6: a 320x240 picture shown 240 wide
        rgb = load_upright_rgb(path)
        assert rgb.shape == (320, 240, 3) and rgb.dtype == np.uint8 and rgb.std() > 10
        assert upright_size(path) == (240, 320)


def test_ingest_starts_exiftool_only_for_a_file_that_needs_it(
    archive: Archive, corpus: dict[str, Path], tmp_path: Path
) -> None:
    ordinary = tmp_path / "ordinary"
    for i in range(3):
        make_photo(ordinary / f"IMG_{i}.jpg", seed=i, taken=datetime(2016, 10, 24, 7, i))
    with archive.writing():
        first = Ingest(archive.ctx, "phone")
        first.run(plan([ordinary]))
    assert first.exiftool.started == 0 and first.report.stored == 3
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("kodak-header.jpg", "cut-before-frame.jpg", "IMG_0030.dng", "scan.tif"):
        (mixed / name).write_bytes(corpus[name].read_bytes())
    with archive.writing():
        second = Ingest(archive.ctx, "camera")
        report = second.run(plan([mixed]))
    assert second.exiftool.started == 1 and not second.exiftool.missing
    assert (report.stored, report.rejected) == (4, [])
    assert [Path(d.path).name for d in report.damaged] == ["cut-before-frame.jpg"]
    items = {i["name"]: i for i in archive.list_items(kind="photo")}
    assert items["kodak-header.jpg"]["capture_source"] == "exif:DateTimeOriginal"
    assert items["cut-before-frame.jpg"]["time_utc"] == "2016-10-24T05:19:00Z"
    assert items["IMG_0030.dng"]["time_utc"] == "2016-10-24T05:30:00Z"


@pytest.mark.parametrize(
    ("suffix", "mime"),
    [(".rst", "text/x-rst"), (".org", "text/org"), (".markdown", "text/markdown")],
)
def test_rst_org_and_markdown_notes_are_text(
    archive: Archive, tmp_path: Path, suffix: str, mime: str
) -> None:
    note = tmp_path / f"notes{suffix}"
    note.write_text("07:10 the buses leave the camp\n", encoding="utf-8")
    assert (sniff(note, note.name).kind, sniff(note, note.name).mime) == ("text", mime)
    report = archive.ingest([note], source="diary")
    assert (report.stored, report.rejected) == (1, [])
    [item] = archive.list_items(kind="text")
    assert item["mime"] == mime


def test_a_dng_libraw_cannot_develop_is_kept_marked_with_its_metadata(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    """A TIFF that says it is a DNG but holds no raw data: its time is kept, and the item says
    it cannot be rendered rather than failing later in redaction."""
    from exiftool import ExifTool

    fake = tmp_path / "IMG_0031.dng"
    fake.write_bytes(corpus["scan.tif"].read_bytes())
    with ExifTool() as tool:
        tool.execute("-overwrite_original", "-q", "-DNGVersion=1 4 0 0", str(fake))
    info = _read(fake)
    assert info.damaged == (
        "undecodable image: LibRaw cannot read it: Unsupported file format or not RAW file"
    )
    assert info.meta["raw"] == "unreadable"
    assert (info.capture_source, info.meta["orientation"]) == ("exif:DateTimeOriginal", 6)
