"""Photo derivatives: upright, every face covered beyond recovery, no metadata left."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.ExifTags import IFD
from skimage import data

from temoin.protect.anonymize import DEFAULT_MARGIN, anonymize, anonymize_yuv420, enlarge
from temoin.protect.audit import audit_file
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.photo import RedactionFailed, redact_photo
from temoin.protect.scrub import assert_clean

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=2)


def sideways_phone_jpeg(rgb: np.ndarray, path: Path) -> Path:
    """A JPEG as a phone held upright writes it: pixels stored turned, EXIF orientation 6, GPS."""
    stored = Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F], exif[0x0110], exif[0x0131] = "Apple", "iPhone 12", "16.1"
    exif[0x0132] = "2024:05:01 10:00:00"
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (50.0, 57.0, 36.0), "E", (1.0, 51.0, 0.0)
    stored.save(path, "JPEG", exif=exif, quality=95, comment=b"taken at the camp")
    return path


def flatness(rgb: np.ndarray, box: tuple[int, ...]) -> float:
    """Share of neighbouring pixels that are (almost) equal: a face has few, a mosaic nearly all.

    Unlike edge energy, this does not depend on the random brightness of the mosaic's blocks.
    """
    x0, y0, x1, y1 = box
    grey = rgb[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
    across = (np.abs(np.diff(grey, axis=1)) < 3).mean()
    down = (np.abs(np.diff(grey, axis=0)) < 3).mean()
    return float(across + down) / 2


def pixel_box(xywh: tuple[float, float, float, float], width: int, height: int) -> tuple[int, ...]:
    x, y, w, h = xywh
    return (round(x * width), round(y * height), round((x + w) * width), round((y + h) * height))


def test_sideways_photo_is_turned_found_covered_and_stripped(
    tmp_path: Path, detector: FaceDetector
) -> None:
    upright = np.ascontiguousarray(data.astronaut()[:, 60:460])  # 512 high, 400 wide
    src = sideways_phone_jpeg(upright, tmp_path / "IMG_0001.jpg")
    assert any("GPS" in p for p in assert_clean(src))

    result = redact_photo(src, tmp_path / "out.jpg", detector=detector)

    out = np.asarray(Image.open(tmp_path / "out.jpg"))
    assert out.shape[:2] == (512, 400)  # upright, as the phone's owner saw it
    assert (result.width, result.height) == (400, 512)
    assert len(result.anonymised) == 1
    face = pixel_box(result.anonymised[0].box, 400, 512)
    assert face[1] < 150  # the face is at the top: detection ran on upright pixels
    assert flatness(upright, face) < 0.4 and flatness(out, face) > 0.85
    assert (
        np.abs(
            out[face[1] : face[3], face[0] : face[2]]
            - upright[face[1] : face[3], face[0] : face[2]].astype(int)
        ).mean()
        > 20
    )
    assert assert_clean(tmp_path / "out.jpg") == []
    assert audit_file(tmp_path / "out.jpg") == []
    assert all(b.score < 0.5 for b in detector.detect(out))


def test_keep_leaves_consenting_faces_and_manual_boxes_are_covered(
    tmp_path: Path, detector: FaceDetector
) -> None:
    src = tmp_path / "portrait.png"
    Image.fromarray(data.astronaut()).save(src)
    manual = (0.0, 0.8, 0.2, 0.2)  # a badge a reviewer wants hidden
    result = redact_photo(
        src, tmp_path / "out.jpg", detector=detector, keep=lambda box: True, extra_boxes=[manual]
    )
    assert [d.source for d in result.kept] == ["detector"]
    assert [d.source for d in result.anonymised] == ["manual"]
    assert result.anonymised[0].box == pytest.approx(manual)
    out = np.asarray(Image.open(tmp_path / "out.jpg")).astype(int)
    face = pixel_box(result.kept[0].box, 512, 512)
    original = data.astronaut().astype(int)
    region = (slice(face[1], face[3]), slice(face[0], face[2]))
    assert np.abs(out[region] - original[region]).mean() < 6  # only JPEG noise
    badge = (0, 420, 100, 510)
    assert flatness(out.astype(np.uint8), badge) > 0.85
    assert flatness(data.astronaut(), badge) < 0.6


def test_png_with_alpha_and_webp_come_out_as_jpeg(tmp_path: Path, detector: FaceDetector) -> None:
    rgba = np.dstack([data.astronaut(), np.full((512, 512), 200, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png", pnginfo=None)
    Image.fromarray(data.astronaut()).save(tmp_path / "b.webp", exif=Image.Exif())
    for name in ("a.png", "b.webp"):
        result = redact_photo(tmp_path / name, tmp_path / f"{name}.jpg", detector=detector)
        assert len(result.anonymised) == 1
        with Image.open(tmp_path / f"{name}.jpg") as out:
            assert out.format == "JPEG" and out.mode == "RGB"
        assert assert_clean(tmp_path / f"{name}.jpg") == []


def test_unreadable_file_fails_cleanly(tmp_path: Path, detector: FaceDetector) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(RedactionFailed):
        redact_photo(tmp_path / "bad.jpg", tmp_path / "out.jpg", detector=detector)
    assert not (tmp_path / "out.jpg").exists()


def test_mask_mode_and_ellipse_cover_the_whole_detected_box() -> None:
    image = np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    box = Box(50, 60, 110, 140)
    masked = anonymize(image, [box], mode="mask", shape="ellipse")
    inner = masked[60:140, 50:110]
    assert (inner == inner[0, 0]).all()  # the ellipse of a 0.25 margin contains the box
    assert (masked[:40] == image[:40]).all()  # outside untouched
    x0, y0, x1, y1 = enlarge(box, DEFAULT_MARGIN, 200, 200)
    assert (x0, y0, x1, y1) == (35, 40, 125, 160)


def test_yuv_planes_covered_like_rgb() -> None:
    rng = np.random.default_rng(2)
    luma = rng.integers(16, 235, (120, 160), dtype=np.uint8)
    cb, cr = (rng.integers(16, 240, (60, 80), dtype=np.uint8) for _ in range(2))
    before = luma.copy()
    anonymize_yuv420((luma, cb, cr), [Box(41, 31, 81, 71)])
    region = luma[20:82, 30:92]
    assert np.unique(region).size <= 36  # at most 6x6 blocks
    assert (luma[:18] == before[:18]).all()


@pytest.mark.parametrize(
    "name",
    [
        "deface_city_crowd.jpg",
        "intel_classroom.png",
        "intel_headpose_pair.png",
        "intel_walking.png",
        "nasa_astronaut_eileen_collins.png",
    ],
)
def test_samples_all_faces_covered(tmp_path: Path, detector: FaceDetector, name: str) -> None:
    src = SAMPLES / name
    if not src.exists():
        pytest.skip("../shared/samples not available")
    dst = tmp_path / "out.jpg"
    result = redact_photo(src, dst, detector=detector)
    assert result.anonymised and not result.kept
    original = np.asarray(Image.open(src).convert("RGB"))
    out = np.asarray(Image.open(dst))
    h, w = out.shape[:2]
    after = detector.detect(out)
    for found in result.anonymised:
        face = pixel_box(found.box, w, h)
        region = (slice(face[1], face[3]), slice(face[0], face[2]))
        assert np.abs(out[region].astype(int) - original[region]).mean() > 8
        # Mosaics can still look face-like to CenterFace at its low threshold, but never clearly.
        overlapping = [b.score for b in after if _overlap(b, face) > 0.3]
        assert max(overlapping, default=0.0) < max(0.6, found.score)
    assert assert_clean(dst) == []
    assert audit_file(dst) == []


def _overlap(box: Box, face: tuple[int, ...]) -> float:
    iw = min(box.x1, face[2]) - max(box.x0, face[0])
    ih = min(box.y1, face[3]) - max(box.y0, face[1])
    return max(0.0, iw) * max(0.0, ih) / max(box.area, 1.0)


def test_same_photo_same_decisions_same_derivative(tmp_path: Path, detector: FaceDetector) -> None:
    """Reproducible bytes: rendering again after an unrelated change yields the same file and so
    the same signature, instead of a new derivative that would need approving again."""
    src = tmp_path / "a.png"
    Image.fromarray(data.astronaut()).save(src)
    redact_photo(src, tmp_path / "one.jpg", detector=detector)
    redact_photo(src, tmp_path / "two.jpg", detector=detector)
    assert (tmp_path / "one.jpg").read_bytes() == (tmp_path / "two.jpg").read_bytes()
