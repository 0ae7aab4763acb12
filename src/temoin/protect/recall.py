"""Did a derivative cover every face? An independent reference, judged from the output's pixels.

Checking temoin's boxes against its own detection would repeat its blind spots, and checking them
against temoin's own box list would trust what is being tested. Both are avoided as far as this
machine allows:

* **The reference** is found on the *original* picture or frame, on every frame, at the picture's
  full resolution (video redaction looks at a 360- or 540-line copy, on some frames only), by
  CenterFace on the plain, mirrored and half-size picture, and by OpenCV's Haar cascades, a second
  model trained on other data with other features (frontal, and profile facing either way). The
  CenterFace part shares the network with the redaction, so faces that network cannot see at any
  size are caught only by the cascades (or by a person looking). Haar findings fire on hands and
  foliage now and then, and CenterFace's weakest ones (score under 0.4) on flat walls: on video,
  those count only when the next frame repeats them; what remains wrong is for a person to set
  aside by eye.
* **Coverage** is judged by comparing the derivative's pixels with the original's inside each
  reference box. Both crops are brought to a face-sized 32x32 grid, where eyes, nose and mouth are
  a few cells wide, and band-passed there (a difference of Gaussians at 0.7 and 1.5 cells keeps
  details two to five cells wide, and drops lighting and the mosaic's flat blocks). The
  correlation of the two band-passed crops is taken over the whole box and over each of its
  halves; a face counts as covered only when all five are low. A box covered on one half only
  still shows half a face, and that half correlates.

Measured on the project's clips: faces left visible correlate at 0.97 or more after JPEG quality
70; under temoin's mosaic the median is 0.18, with a few large flat blocks over strong edges near
0.8; a face mosaicked on one half only gives 0.98 in the median, 0.56 at worst (small faces whose
visible half holds little detail). SSIM on the same grid separated them less well: blurry,
upscaled faces under the mosaic kept an SSIM of 0.6-0.7, as high as half-covered ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from temoin.protect.audit import audit_image
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.passes import look

COVERED_BELOW = 0.8  # correlation of facial detail under which a face counts as destroyed
MIN_FACE = 10  # px: reference faces smaller than this are not counted (nobody is recognisable)
_GRID = 32
_BAND = (0.7, 1.5)  # Gaussians, in cells of the grid: details 2-5 cells wide (eyes, mouth, nose)
_REFERENCE_PASSES = ("plain", "mirror", "half")
_REFERENCE_MAX_SIDE = 4096  # full resolution: the reference never shrinks a picture to detect
_HAAR_NEIGHBOURS = 8
_SURE_SCORE = 0.4  # CenterFace reference faces below this need the next frame to agree


@dataclass(frozen=True)
class ReferenceFace:
    box: Box  # pixels of the original, upright
    by: str  # "centerface" or "haar"


def reference_faces(
    rgb: np.ndarray, detector: FaceDetector, *, haar: bool = True, min_face: int = MIN_FACE
) -> list[ReferenceFace]:
    """Faces on one original picture, as the reference sees them (Haar ones that CenterFace's
    reference also found are listed once, as CenterFace's)."""
    found = [
        ReferenceFace(b, "centerface")
        for b in look(detector, rgb, _REFERENCE_PASSES, max_side=_REFERENCE_MAX_SIDE, widest=False)
    ]
    if haar:
        for finding in audit_image(rgb, min_neighbours=_HAAR_NEIGHBOURS):
            x, y, w, h = finding.box
            box = Box(float(x), float(y), float(x + w), float(y + h), finding.confidence)
            if not any(box.iou(f.box) > 0.3 for f in found):
                found.append(ReferenceFace(box, "haar"))
    return [f for f in found if min(f.box.width, f.box.height) >= min_face]


def confirmed(
    faces: list[ReferenceFace], following: Iterable[ReferenceFace]
) -> list[ReferenceFace]:
    """Drop doubtful findings that the next frame does not repeat: false alarms flicker."""
    nearby = [f.box for f in following]
    return [f for f in faces if not _doubtful(f) or any(f.box.iou(other) > 0.3 for other in nearby)]


def reference_frames(
    frames: Iterable[np.ndarray], detector: FaceDetector
) -> list[list[ReferenceFace]]:
    """The reference on every frame of a video, doubtful finds confirmed by the next frame (the
    last frame by the one before it)."""
    found = [reference_faces(rgb, detector) for rgb in frames]
    return [
        confirmed(here, found[i + 1] if i + 1 < len(found) else found[i - 1] if i else [])
        for i, here in enumerate(found)
    ]


def _doubtful(face: ReferenceFace) -> bool:
    return face.by == "haar" or face.box.score < _SURE_SCORE


def similarity(original: np.ndarray, derivative: np.ndarray, box: Box) -> float:
    """How much of the face's structure in ``box`` survives in the derivative: the highest
    correlation, at the scale of facial features, over the box and each of its halves."""
    height, width = original.shape[:2]
    x0, y0 = max(0, int(box.x0)), max(0, int(box.y0))
    x1, y1 = min(width, int(np.ceil(box.x1))), min(height, int(np.ceil(box.y1)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    a = _band(_grid(original[y0:y1, x0:x1]))
    b = _band(_grid(derivative[y0:y1, x0:x1]))
    half = _GRID // 2
    whole = slice(None)
    parts = [
        (whole, whole),
        (whole, slice(0, half)),
        (whole, slice(half, None)),
        (slice(0, half), whole),
        (slice(half, None), whole),
    ]
    return max(_correlation(a[p], b[p]) for p in parts)


def is_covered(original: np.ndarray, derivative: np.ndarray, box: Box) -> bool:
    return similarity(original, derivative, box) < COVERED_BELOW


def _grid(crop: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    area = grey.shape[0] * grey.shape[1]
    interpolation = cv2.INTER_AREA if area >= _GRID * _GRID else cv2.INTER_LINEAR
    return cv2.resize(grey, (_GRID, _GRID), interpolation=interpolation).astype(np.float32)


def _band(grid: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(grid, (0, 0), _BAND[0]) - cv2.GaussianBlur(grid, (0, 0), _BAND[1])


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 1e-6 else 0.0
