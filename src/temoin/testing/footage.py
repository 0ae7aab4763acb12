"""Hard footage for the face stages, filmed by a virtual camera over real still pictures.

The faces that escape a detector on real footage are close-ups, faces cut by the frame's edge,
faces turned away and faces that appear between two detections. These factories make clips with
exactly those moments, from pictures that are public (the astronaut shipped in scikit-image's
wheel, or the shared samples in tests and benchmarks): a camera that zooms in until a face fills
half the frame, pans until it leaves through an edge, and cuts hard from one shot to the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import cv2
import numpy as np

_BACKGROUND = 90  # grey the camera sees beyond the picture's edges


@dataclass(frozen=True)
class Key:
    """Where the virtual camera looks at one moment of a shot (in the picture's pixels)."""

    t: float  # seconds from the shot's start
    cx: float  # centre of the view
    cy: float
    view_height: float  # how many of the picture's lines the view spans (smaller = closer)


@dataclass(frozen=True)
class Shot:
    picture: np.ndarray  # RGB
    seconds: float
    keys: Sequence[Key]


def camera_frames(shot: Shot, size: tuple[int, int], fps: int) -> Iterator[np.ndarray]:
    """The shot's frames: the view moves linearly between keys and holds after the last."""
    width, height = size
    count = max(1, round(shot.seconds * fps))
    for index in range(count):
        key = _at(shot.keys, index / fps)
        scale = height / key.view_height
        # affine map from picture to frame: the view's centre lands on the frame's centre
        matrix = np.array(
            [
                [scale, 0, width / 2 - key.cx * scale],
                [0, scale, height / 2 - key.cy * scale],
            ],
            np.float32,
        )
        yield cv2.warpAffine(
            shot.picture,
            matrix,
            (width, height),
            flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(_BACKGROUND, _BACKGROUND, _BACKGROUND),
        )


def write_clip(
    path: Path,
    shots: Sequence[Shot],
    *,
    size: tuple[int, int] = (1280, 720),
    fps: int = 25,
    crf: int = 18,
) -> Path:
    """An H.264 MP4 of the shots one after the other, with hard cuts between them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        index = 0
        for shot in shots:
            for rgb in camera_frames(shot, size, fps):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts, frame.time_base = index, Fraction(1, fps)
                out.mux(stream.encode(frame))
                index += 1
        out.mux(stream.encode(None))
    return path


def turned(
    picture: np.ndarray, box: tuple[int, int, int, int], *, squeeze: float = 0.45
) -> np.ndarray:
    """The picture with the face in ``box`` (x, y, w, h) seen turned away to one side.

    A perspective warp narrows the face and shortens its far side, as a head turning towards a
    profile does; the rest of the picture is untouched. It is not a real profile, but it moves
    the face away from the frontal views a detector knows best.
    """
    x, y, w, h = box
    out = picture.copy()
    src = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
    far = h * 0.12  # the far side is shorter by this much at top and bottom
    right = x + w * squeeze
    dst = np.array([[x, y], [right, y + far], [right, y + h - far], [x, y + h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(picture, matrix, (picture.shape[1], picture.shape[0]))
    mask = np.zeros(picture.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, dst.astype(np.int32), 255)
    # what the narrowed face no longer hides is painted in from the background around it
    uncovered = np.zeros_like(mask)
    uncovered[y : y + h, x : x + w] = 255
    uncovered[mask > 0] = 0
    out = cv2.inpaint(out, uncovered, 7, cv2.INPAINT_TELEA)
    out[mask > 0] = warped[mask > 0]
    return out


def _at(keys: Sequence[Key], t: float) -> Key:
    if t <= keys[0].t:
        return keys[0]
    for before, after in pairwise(keys):
        if before.t <= t <= after.t:
            share = (t - before.t) / max(after.t - before.t, 1e-9)
            return Key(
                t,
                before.cx + (after.cx - before.cx) * share,
                before.cy + (after.cy - before.cy) * share,
                before.view_height + (after.view_height - before.view_height) * share,
            )
    return keys[-1]
