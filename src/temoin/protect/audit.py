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


def audit_image(rgb: np.ndarray, frame: int | None = None) -> list[Finding]:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    short, long_ = min(grey.shape), max(grey.shape)
    factor = 2.0 if short < _UPSCALE_BELOW else 1.0
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
            minNeighbors=_MIN_NEIGHBOURS,
            minSize=(_MIN_FACE, _MIN_FACE),
            outputRejectLevels=True,
        )
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            x = width - x - w if mirrored else x
            box = tuple(round(v / factor) for v in (x, y, w, h))
            findings.append(Finding(box, float(weight), name, frame))  # type: ignore[arg-type]
    return findings


def audit_video(path: Path, *, samples: int = 12) -> list[Finding]:
    """Faces on ``samples`` frames spread over the whole video (all frames if it is shorter)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 0
        step = max(1, total // samples) if total else 1
        findings: list[Finding] = []
        for index, frame in enumerate(container.decode(stream)):
            if index % step:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            turns = round((frame.rotation or 0) / 90) % 4
            if turns:
                rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
            findings += audit_image(rgb, frame=index)
    return findings


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / _CASCADES[name]))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {_CASCADES[name]} is missing from this install")
    return cascade
