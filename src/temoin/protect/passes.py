"""Several looks at one picture with the one model, and the named profiles that choose them.

CenterFace, run once on a picture as it is, has blind spots that real footage finds quickly. The
same network finds many of those faces when the picture is shown to it differently:

* ``mirror``: the picture flipped left to right. A profile facing one way is often missed while
  its mirror image is found (the network did not learn both sides equally well).
* ``half``: the picture at half size. Close-ups larger than about a third of the frame outgrow
  what the network's heatmap expects; at half size they fall back into its range.
* ``edge``: the picture with a band of its own border pixels added all round. A face cut by the
  frame edge loses the context the network uses around it; the stretched border gives some back.
* ``double``: the picture at twice the scale of the plain pass, in overlapping tiles. Distant faces
  of 10-15 px sit at the lower limit of what the network sees.

Each pass costs a full inference on its copy, so which passes run is a named profile
(`temoin.protect.profiles`), recorded in every derivative's signed record. Results are merged by non-maximum suppression; where two passes
disagree about a face's extent, the larger box wins, since covering too much is acceptable and
covering too little is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from temoin.protect.detector import Box, FaceDetector, merge_overlapping
from temoin.protect.profiles import PassName

_EDGE_SHARE = 0.12  # border added on every side, as a share of the picture's shorter side
_MIN_HALF_SIDE = 96  # below this short side, a half-size copy holds no face worth finding


def look(
    detector: FaceDetector,
    rgb: np.ndarray,
    passes: Sequence[PassName],
    *,
    threshold: float = 0.2,
    max_side: int = 1920,
    widest: bool = True,
) -> list[Box]:
    """Faces found by any of ``passes`` on an RGB picture, in its pixel coordinates.

    ``widest`` merges overlapping finds into their union (for covering); without it, the best
    scored box of each face is kept as found (for measuring).
    """
    found: list[Box] = []
    for name in passes:
        found += _PASSES[name](detector, rgb, threshold, max_side)
    return merge_widest(found) if widest else merge_overlapping(found)


def merge_widest(boxes: list[Box], iou: float = 0.3) -> list[Box]:
    """NMS keeps the best-scored box per face; its extent becomes the union of the boxes it beat.

    Passes see the same face at different sizes (a mirrored profile's box may include an ear the
    plain pass cut off): the union covers what any of them saw.
    """
    kept = merge_overlapping(boxes, iou)
    merged: list[Box] = []
    for best in kept:
        same = [b for b in boxes if best.iou(b) >= iou]
        merged.append(
            Box(
                min(b.x0 for b in same),
                min(b.y0 for b in same),
                max(b.x1 for b in same),
                max(b.y1 for b in same),
                best.score,
            )
        )
    return merged


def _plain(detector: FaceDetector, rgb: np.ndarray, threshold: float, max_side: int) -> list[Box]:
    return detector.detect(rgb, threshold=threshold, max_side=max_side)


def _mirror(detector: FaceDetector, rgb: np.ndarray, threshold: float, max_side: int) -> list[Box]:
    width = rgb.shape[1]
    found = detector.detect(rgb[:, ::-1], threshold=threshold, max_side=max_side)
    return [Box(width - b.x1, b.y0, width - b.x0, b.y1, b.score) for b in found]


def _half(detector: FaceDetector, rgb: np.ndarray, threshold: float, max_side: int) -> list[Box]:
    height, width = rgb.shape[:2]
    if min(height, width) < _MIN_HALF_SIDE:
        return []
    small = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    found = detector.detect(small, threshold=threshold, max_side=max_side)
    sx, sy = width / small.shape[1], height / small.shape[0]
    return [b.scaled(sx, sy) for b in found]


def _edge(detector: FaceDetector, rgb: np.ndarray, threshold: float, max_side: int) -> list[Box]:
    height, width = rgb.shape[:2]
    band = max(8, round(min(height, width) * _EDGE_SHARE))
    padded = cv2.copyMakeBorder(rgb, band, band, band, band, cv2.BORDER_REPLICATE)
    found = detector.detect(padded, threshold=threshold, max_side=max_side + 2 * band)
    boxes = []
    for b in found:
        box = Box(
            max(0.0, b.x0 - band),
            max(0.0, b.y0 - band),
            min(float(width), b.x1 - band),
            min(float(height), b.y1 - band),
            b.score,
        )
        if box.width > 0 and box.height > 0:
            boxes.append(box)
    return boxes


def _double(detector: FaceDetector, rgb: np.ndarray, threshold: float, max_side: int) -> list[Box]:
    """Twice the plain pass's scale (at most twice the picture's own size), in overlapping tiles.

    The plain pass shrinks pictures longer than ``max_side``; this one looks at them with twice
    as many pixels per face, tile by tile: about four plain passes' worth of pixels, a little
    more where tiles overlap (six tiles of 1920 px for a 12-megapixel phone photo).
    """
    height, width = rgb.shape[:2]
    scale = min(2.0, 2.0 * min(1.0, max_side / max(height, width)))
    big_w, big_h = round(width * scale), round(height * scale)
    big = cv2.resize(
        rgb, (big_w, big_h), interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    )
    found: list[Box] = []
    for x0, y0, x1, y1 in _tiles(big_w, big_h, max_side):
        tile = big[y0:y1, x0:x1]
        for b in detector.detect(tile, threshold=threshold, max_side=max_side):
            found.append(
                Box(
                    (b.x0 + x0) / scale,
                    (b.y0 + y0) / scale,
                    (b.x1 + x0) / scale,
                    (b.y1 + y0) / scale,
                    b.score,
                )
            )
    return found


def _tiles(width: int, height: int, side: int) -> list[tuple[int, int, int, int]]:
    def spans(length: int) -> list[tuple[int, int]]:
        if length <= side:
            return [(0, length)]
        step = side * 3 // 4  # tiles overlap by a quarter: a face cut by one lies whole in the next
        starts = [*range(0, length - side, step), length - side]
        return [(s, s + side) for s in starts]

    return [(x0, y0, x1, y1) for y0, y1 in spans(height) for x0, x1 in spans(width)]


_PASSES: dict[PassName, Callable[[FaceDetector, np.ndarray, float, int], list[Box]]] = {
    "plain": _plain,
    "mirror": _mirror,
    "half": _half,
    "edge": _edge,
    "double": _double,
}
