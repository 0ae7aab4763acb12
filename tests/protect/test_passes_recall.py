"""Detection passes find the same face where it is, and the coverage judge reads pixels."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from temoin.errors import UsageError
from temoin.protect.anonymize import anonymize
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.passes import look, merge_widest
from temoin.protect.profiles import PASS_NAMES, PROFILES, profile, rank
from temoin.protect.recall import (
    COVERED_BELOW,
    ReferenceFace,
    confirmed,
    is_covered,
    reference_faces,
    similarity,
)
from temoin.settings import load_settings


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=2)


def iou(p: Box, q: Box) -> float:
    iw = min(p.x1, q.x1) - max(p.x0, q.x0)
    ih = min(p.y1, q.y1) - max(p.y0, q.y0)
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / (p.area + q.area - iw * ih)


def off_centre() -> np.ndarray:
    """The astronaut on a wider canvas, face left of centre: a mirror pass that forgot to flip
    its boxes back would put the face on the right. 1100 px wide, so the doubled pass works in
    two overlapping tiles and must shift the second one's boxes back."""
    canvas = np.full((512, 1100, 3), 90, np.uint8)
    canvas[:, :512] = data.astronaut()
    return canvas


@pytest.mark.parametrize("name", PASS_NAMES)
def test_every_pass_puts_the_face_where_it_is(detector: FaceDetector, name: str) -> None:
    image = off_centre()
    (plain,) = look(detector, image, ["plain"])
    found = look(detector, image, [name])
    assert found, f"{name} found nothing"
    assert max(iou(plain, b) for b in found) > 0.5, (name, found, plain)


def test_tiles_overlap_and_cover_the_picture() -> None:
    from temoin.protect.passes import _tiles

    tiles = _tiles(2200, 1024, 1920)
    assert tiles == [(0, 0, 1920, 1024), (280, 0, 2200, 1024)]
    assert all(x1 - x0 <= 1920 for x0, _, x1, _ in _tiles(8000, 6000, 1920))


def test_passes_merge_into_one_box_per_face_covering_all_they_saw(detector: FaceDetector) -> None:
    image = off_centre()
    each = [b for name in PASS_NAMES for b in look(detector, image, [name])]
    (merged,) = look(detector, image, PASS_NAMES)
    assert merged.x0 <= min(b.x0 for b in each) + 1e-6
    assert merged.x1 >= max(b.x1 for b in each) - 1e-6
    assert len(merge_widest([Box(0, 0, 10, 10), Box(100, 100, 110, 110)])) == 2


def test_profiles_are_ranked_and_checked_at_open(tmp_path) -> None:
    assert rank("thorough") > rank("fast") > rank(None)
    assert profile("fast").video_passes(0) != profile("fast").video_passes(1)  # they alternate
    assert set(PROFILES["thorough"].video_cycle[0]) >= {"plain", "mirror", "half"}
    (tmp_path / "temoin.toml").write_text('recall = "sloppy"\n')
    with pytest.raises(UsageError, match="unknown recall profile 'sloppy'"):
        load_settings(tmp_path / "temoin.toml")


def test_judge_reads_covered_half_covered_and_untouched_faces(detector: FaceDetector) -> None:
    image = data.astronaut()
    (face,) = detector.detect(image)
    covered = anonymize(image, [face], rng=np.random.default_rng(1))
    left_half = Box(face.x0, face.y0, (face.x0 + face.x1) / 2, face.y1)
    half = anonymize(image, [left_half], margin=0.0, rng=np.random.default_rng(1))
    recompressed = np.clip(
        image.astype(int) + np.random.default_rng(2).integers(-3, 4, image.shape), 0, 255
    ).astype(np.uint8)
    assert is_covered(image, covered, face)
    assert not is_covered(image, half, face)  # half a face is a face
    assert similarity(image, recompressed, face) > 0.95
    assert similarity(image, covered, face) < COVERED_BELOW


def test_reference_finds_the_face_and_doubtful_finds_need_the_next_frame(
    detector: FaceDetector,
) -> None:
    faces = reference_faces(data.astronaut(), detector)
    assert any(f.by == "centerface" and f.box.score > 0.8 for f in faces)
    weak = ReferenceFace(Box(0, 0, 40, 40, 0.25), "centerface")
    haar = ReferenceFace(Box(100, 100, 140, 140, 3.0), "haar")
    sure = ReferenceFace(Box(200, 200, 260, 260, 0.9), "centerface")
    assert confirmed([weak, haar, sure], []) == [sure]
    assert confirmed([weak, haar, sure], [weak, haar]) == [weak, haar, sure]
