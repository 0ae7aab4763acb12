"""Irreversible covering of face regions.

A light blur is not enough: deblurring and face-recognition networks see through it. Two modes are
offered. ``mosaic`` keeps the scene readable: the enlarged box is cut into square blocks, each
block is its area's mean plus random brightness noise, shown flat. How many blocks span the face
depends on the face's size: four across a face of 24 px or more, three from 18 px, two below,
so that blocks are at least 6 px wide on any face of 12 px or more. Four blocks hold too little to recognise anyone; with
eight, OpenCV's Haar cascades still saw a face in some mosaics, a sign that the coarse
eye-nose-mouth layout survived. On a small face, blocks of a pixel or two would be no mosaic at
all, only a slightly coarser copy of a face that was small to begin with.
The noise is different on every video frame, so averaging frames does not converge on the true
block means; it is drawn from a seed taken from the original's own pixels (the photo, or a video's
first frame: see `photo.redact_photo` and `video.redact_video`), so the same original and the same
decisions always give the same derivative. ``mask`` fills the region with one flat colour and leaves nothing at all.

Boxes are enlarged by ``margin`` of their size on every side before covering. CenterFace boxes run
from hairline to chin and ear to ear at best; hair, ears and jaw also identify people, and video
boxes between detections are interpolated, so they lag behind a moving head. 0.25 per side (a
region 1.5 times the box) covers those; it is also the smallest round margin for which the ellipse
inscribed in the enlarged region still contains the whole detected rectangle
(corners at 0.5/0.75 of each semi-axis: 2 x 0.667^2 = 0.89 <= 1).

The default shape is the rectangle: it never leaves corners of a slightly misplaced box uncovered.
The ellipse looks less brutal and is available when the reviewer prefers it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import cv2
import numpy as np

from temoin.protect.detector import Box

Mode = Literal["mosaic", "mask"]
Shape = Literal["rect", "ellipse"]

DEFAULT_MARGIN = 0.25
_FACE_BLOCKS = 4  # blocks across the longer side of a face, at most
_MIN_FACE_BLOCKS = 2
_MIN_BLOCK = 6  # px: the smallest block side a mosaic uses while the face allows
_NOISE_SIGMA = 20.0  # per-block luma noise, in 8-bit levels
_MASK_RGB = (48, 48, 48)
_MASK_Y = 56  # the same grey as _MASK_RGB, in limited-range luma


def enlarge(box: Box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The integer pixel region ``(x0, y0, x1, y1)`` actually covered, clipped to the image.

    Rounds outwards so a covered region never ends up a pixel short of the box.
    """
    dx, dy = box.width * margin, box.height * margin
    x0 = max(0, math.floor(box.x0 - dx))
    y0 = max(0, math.floor(box.y0 - dy))
    x1 = min(width, math.ceil(box.x1 + dx))
    y1 = min(height, math.ceil(box.y1 + dy))
    return x0, y0, x1, y1


def anonymize(
    rgb: np.ndarray,
    boxes: Iterable[Box],
    *,
    margin: float = DEFAULT_MARGIN,
    mode: Mode = "mosaic",
    shape: Shape = "rect",
    inplace: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Cover every box on an HxWx3 uint8 image; only the boxes' regions are touched.

    ``inplace`` saves a full-frame copy per call. ``rng`` exists for tests that need repeatable
    noise; left out, noise comes from fresh OS entropy.
    """
    _check(mode, shape)
    out = rgb if inplace else rgb.copy()
    height, width = out.shape[:2]
    noise = rng if rng is not None else np.random.default_rng()
    for box in boxes:
        x0, y0, x1, y1 = enlarge(box, margin, width, height)
        if x1 <= x0 or y1 <= y0:
            continue
        region = out[y0:y1, x0:x1]
        cols, rows = _grid(x1 - x0, y1 - y0, box)
        if mode == "mosaic":
            cover = _mosaic(region, cols, rows, noise, _NOISE_SIGMA)
        else:
            cover = _flat(region, _MASK_RGB)
        _paste(region, cover, shape)
    return out


def anonymize_yuv420(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray],
    boxes: Iterable[Box],
    *,
    margin: float = DEFAULT_MARGIN,
    mode: Mode = "mosaic",
    shape: Shape = "rect",
    rng: np.random.Generator | None = None,
) -> None:
    """Cover boxes in place on the Y, U and V planes of a 4:2:0 frame (chroma at half size).

    Video is decoded and encoded as YUV; covering the planes directly avoids two full-frame
    colour conversions per frame, which cost more than detection itself. Regions are widened to
    even coordinates so luma and chroma cover exactly the same pixels. Noise goes on luma only.
    """
    _check(mode, shape)
    luma, cb, cr = planes
    height, width = luma.shape[:2]
    noise = rng if rng is not None else np.random.default_rng()
    for box in boxes:
        x0, y0, x1, y1 = enlarge(box, margin, width, height)
        x0, y0 = x0 - x0 % 2, y0 - y0 % 2
        x1, y1 = min(width, x1 + x1 % 2), min(height, y1 + y1 % 2)
        if x1 <= x0 or y1 <= y0:
            continue
        cols, rows = _grid(x1 - x0, y1 - y0, box)
        cx0, cy0, cx1, cy1 = x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2
        for plane, (a0, b0, a1, b1), sigma, flat in (
            (luma, (x0, y0, x1, y1), _NOISE_SIGMA, _MASK_Y),
            (cb, (cx0, cy0, cx1, cy1), 0.0, 128),
            (cr, (cx0, cy0, cx1, cy1), 0.0, 128),
        ):
            region = plane[b0:b1, a0:a1]
            if region.size == 0:
                continue
            if mode == "mosaic":
                cover = _mosaic(region, cols, rows, noise, sigma)
            else:
                cover = _flat(region, (flat,))
            _paste(region, cover, shape)


def _check(mode: str, shape: str) -> None:
    if mode not in ("mosaic", "mask"):
        raise ValueError(f"unknown anonymisation mode {mode!r}")
    if shape not in ("rect", "ellipse"):
        raise ValueError(f"unknown anonymisation shape {shape!r}")


def blocks_across(face_side: float) -> int:
    """How many mosaic blocks span a face of this many pixels (its longer side)."""
    return int(min(_FACE_BLOCKS, max(_MIN_FACE_BLOCKS, face_side // _MIN_BLOCK)))


def _grid(width: int, height: int, box: Box) -> tuple[int, int]:
    """Columns and rows of square blocks over a region, sized after the face inside it."""
    face = max(box.width, box.height, 1.0)
    block = max(1.0, face / blocks_across(face))
    return max(1, round(width / block)), max(1, round(height / block))


def _mosaic(
    region: np.ndarray, cols: int, rows: int, rng: np.random.Generator, sigma: float
) -> np.ndarray:
    h, w = region.shape[:2]
    cols, rows = min(cols, w), min(rows, h)
    small = cv2.resize(region, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)
    if sigma > 0:
        # One draw per block shared by all channels: changes brightness, not hue, so the
        # mosaic stays sober while its values no longer average back to the true ones.
        small += (
            rng.normal(0.0, sigma, size=(rows, cols))
            .astype(np.float32)
            .reshape((rows, cols) + (1,) * (small.ndim - 2))
        )
    small = np.clip(small, 0, 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).reshape(region.shape)


def _flat(region: np.ndarray, colour: tuple[int, ...]) -> np.ndarray:
    cover = np.empty_like(region)
    channels = region.shape[2] if region.ndim == 3 else 1
    cover[...] = np.asarray(colour[:channels], dtype=region.dtype).reshape(-1)[:channels]
    return cover


def _paste(region: np.ndarray, cover: np.ndarray, shape: Shape) -> None:
    if shape == "rect":
        region[...] = cover
        return
    inside = _ellipse_mask(region.shape[1], region.shape[0])
    region[inside] = cover[inside]


def _ellipse_mask(width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    centre = ((width - 1) / 2, (height - 1) / 2)
    cv2.ellipse(mask, (centre, (float(width), float(height)), 0.0), 255, thickness=-1)
    return mask.astype(bool)
