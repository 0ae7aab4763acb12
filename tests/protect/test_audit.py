"""The Haar audit sees faces on originals and none on our derivatives."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from temoin.protect.audit import audit_file
from temoin.protect.detector import FaceDetector
from temoin.protect.photo import redact_photo
from temoin.protect.video import redact_video

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=2)


def test_astronaut_found_then_gone(tmp_path: Path, detector: FaceDetector) -> None:
    Image.fromarray(data.astronaut()).save(tmp_path / "a.png")
    findings = audit_file(tmp_path / "a.png")
    assert any(170 < f.box[0] + f.box[2] / 2 < 260 and f.box[1] < 150 for f in findings)
    assert all(f.frame is None for f in findings)
    redact_photo(tmp_path / "a.png", tmp_path / "a.jpg", detector=detector)
    assert audit_file(tmp_path / "a.jpg") == []


@pytest.mark.parametrize(
    ("name", "at_least"),
    [("intel_walking.png", 3), ("intel_classroom.png", 2), ("deface_city_crowd.jpg", 5)],
)
def test_samples_found_then_gone(
    tmp_path: Path, detector: FaceDetector, name: str, at_least: int
) -> None:
    src = SAMPLES / name
    if not src.exists():
        pytest.skip("../shared/samples not available")
    assert len(audit_file(src)) >= at_least
    redact_photo(src, tmp_path / "out.jpg", detector=detector)
    assert audit_file(tmp_path / "out.jpg") == []


def test_video_found_then_gone(tmp_path: Path) -> None:
    src = SAMPLES / "intel_walking_and_pause.mp4"
    if not src.exists():
        pytest.skip("../shared/samples not available")
    findings = audit_file(src, video_samples=6)
    assert len({f.frame for f in findings}) >= 4
    redact_video(src, tmp_path / "out.mp4", detector=FaceDetector(threads=1))
    assert audit_file(tmp_path / "out.mp4", video_samples=41) == []
