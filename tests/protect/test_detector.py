"""CenterFace, as loaded here, finds the faces on real photos at every size the samples offer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from skimage import data

from temoin.protect.detector import (
    MODEL_VERSION,
    Box,
    FaceDetector,
    _model_bytes,
    _prepare_graph,
    merge_overlapping,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def sample(name: str) -> np.ndarray:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not available (../shared/samples)")
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=2)


def test_model_version_names_the_file() -> None:
    assert MODEL_VERSION.startswith("centerface-onnx-sha256:")
    assert len(MODEL_VERSION.split(":")[1]) == 16


def test_graph_fix_leaves_only_the_image_as_input() -> None:
    model = onnx.load_from_string(_prepare_graph(_model_bytes()))
    assert [i.name for i in model.graph.input] == ["input.1"]
    assert len(model.graph.output) == 3  # landmarks dropped


def test_astronaut_face_found_without_samples(detector: FaceDetector) -> None:
    boxes = detector.detect(data.astronaut())
    assert len(boxes) == 1
    face = boxes[0]
    assert face.score > 0.8
    # The face sits around x 180-270, y 60-180 on this 512x512 portrait.
    assert 150 < face.x0 < 210 and 240 < face.x1 < 300
    assert 30 < face.y0 < 90 and 150 < face.y1 < 210


def test_boxes_come_back_in_full_size_coordinates(detector: FaceDetector) -> None:
    image = data.astronaut()
    full = detector.detect(image)[0]
    shrunk = detector.detect(image, max_side=256)[0]
    assert abs(full.x0 - shrunk.x0) < 12 and abs(full.y1 - shrunk.y1) < 12


def test_nothing_on_a_blank_image(detector: FaceDetector) -> None:
    assert detector.detect(np.full((300, 500, 3), 127, np.uint8)) == []
    assert detector.detect(np.zeros((0, 0, 3), np.uint8)) == []


def test_grey_and_rgba_images_accepted(detector: FaceDetector) -> None:
    rgb = data.astronaut()
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    assert len(detector.detect(grey)) == 1
    assert len(detector.detect(rgba)) == 1


def test_overlapping_boxes_merge() -> None:
    boxes = [Box(0, 0, 10, 10, 0.9), Box(1, 1, 11, 11, 0.5), Box(50, 50, 60, 60, 0.4)]
    assert merge_overlapping(boxes) == [boxes[0], boxes[2]]


def test_normalised_round_trip() -> None:
    box = Box(10, 20, 110, 220, 0.7)
    again = Box.from_normalised(box.normalised(400, 300), 400, 300, 0.7)
    assert (again.x0, again.y0, again.x1, again.y1) == pytest.approx((10, 20, 110, 220))


@pytest.mark.parametrize(
    ("name", "at_least"),
    [
        ("nasa_astronaut_eileen_collins.png", 1),
        ("intel_headpose_pair.png", 2),
        ("intel_walking.png", 3),
        ("intel_classroom.png", 4),
        ("deface_city_crowd.jpg", 20),
    ],
)
def test_samples_recall(detector: FaceDetector, name: str, at_least: int) -> None:
    boxes = detector.detect(sample(name))
    assert len(boxes) >= at_least
    assert all(b.x1 > b.x0 and b.y1 > b.y0 for b in boxes)


def test_low_default_threshold_keeps_small_crowd_faces(detector: FaceDetector) -> None:
    crowd = sample("deface_city_crowd.jpg")
    assert len(detector.detect(crowd)) > len(detector.detect(crowd, threshold=0.5))
    assert min(b.width for b in detector.detect(crowd)) < 20
