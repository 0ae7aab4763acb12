"""A second opinion on published files, from a detector that shares nothing with the first.

CenterFace decides what gets covered; auditing its output with CenterFace would repeat its blind
spots. OpenCV's Haar cascades (frontal and profile, the profile one also run on the mirrored image
because it only knows one side) are old, weak and independent: trained on other data with other
features. They find fewer faces than CenterFace, so a clean audit is no proof, but any face they
do find on a derivative is a face CenterFace or the tracker let through. Small images are doubled
first because the cascades' smallest window (24 px) is larger than a distant face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np

from temoin.protect.photo import load_upright_rgb

_CASCADES = {
    "frontal": "haarcascade_frontalface_default.xml",
    "profile": "haarcascade_profileface.xml",
}
_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp"}
_MIN_NEIGHBOURS = 8  # 5 flags mosaics and hands; 8 still finds every clear face on the samples
_SCALE_STEP = 1.1
_MIN_FACE = 24  # px, the cascades' window
_UPSCALE_BELOW = 400  # images whose short side is below this are doubled first
_MAX_SIDE = 1024  # larger images are shrunk: the audit stays fast on 12-megapixel photos


@dataclass(frozen=True)
class Finding:
    """A face the audit still sees: where, how sure, and on which frame (None for photos)."""

    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the upright image or frame
    confidence: float  # the cascade's last-stage weight; above ~2 is a clear face
    cascade: str
    frame: int | None = None


def audit_file(path: Path, *, video_samples: int = 12) -> list[Finding]:
    """Every face the Haar cascades find on a photo, or on evenly spaced frames of a video."""
    path = Path(path)
    if path.suffix.lower() in _VIDEO_SUFFIXES:
        return audit_video(path, samples=video_samples)
    return audit_image(load_upright_rgb(path))


def audit_image(
    rgb: np.ndarray,
    frame: int | None = None,
    *,
    upscale: bool = True,
    min_neighbours: int = _MIN_NEIGHBOURS,
) -> list[Finding]:
    """Faces the cascades find on one upright RGB image, in its pixel coordinates."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    short, long_ = min(grey.shape), max(grey.shape)
    factor = 2.0 if upscale and short < _UPSCALE_BELOW else 1.0
    factor = min(factor, _MAX_SIDE / long_)
    if factor != 1.0:
        grey = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    grey = cv2.equalizeHist(grey)
    findings: list[Finding] = []
    width = grey.shape[1]
    for name, mirrored in (("frontal", False), ("profile", False), ("profile", True)):
        image = cv2.flip(grey, 1) if mirrored else grey
        boxes, _, weights = _cascade(name).detectMultiScale3(
            image,
            scaleFactor=_SCALE_STEP,
            minNeighbors=min_neighbours,
            minSize=(_MIN_FACE, _MIN_FACE),
            outputRejectLevels=True,
        )
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            x = width - x - w if mirrored else x
            box = tuple(round(v / factor) for v in (x, y, w, h))
            findings.append(Finding(box, float(weight), name, frame))
    return findings


def audit_video(path: Path, *, samples: int = 12) -> list[Finding]:
    """Faces on ``samples`` frames spread over the video, confirmed on the frame after.

    Frames are not doubled, and a finding counts only if the next frame shows a face at the same
    place: a face left uncovered stays for several frames, while the cascades' false alarms on
    mosaics (whose noise is redrawn every frame) come and go. Without this, blocky footage gave
    a stray hit on about one redacted clip in five.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 0
        step = max(2, total // samples) if total else 2
        findings: list[Finding] = []
        pending: list[Finding] = []
        for index, frame in enumerate(container.decode(stream)):
            if index % step not in (0, 1):
                continue
            found = audit_image(
                _upright_rgb(frame), frame=index, upscale=False, min_neighbours=_MIN_NEIGHBOURS
            )
            if index % step == 0:
                pending = found
                continue
            findings += [f for f in pending if any(_iou(f.box, g.box) > 0.3 for g in found)]
            pending = []
    return findings


def _upright_rgb(frame: av.VideoFrame) -> np.ndarray:
    rgb = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    folder = cv2.data.haarcascades  # type: ignore[attr-defined]  # not in OpenCV's stubs
    cascade = cv2.CascadeClassifier(str(Path(folder) / _CASCADES[name]))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {_CASCADES[name]} is missing from this install")
    return cascade
