"""Redacted derivatives of photos: upright, faces covered, every byte of metadata gone.

Orientation is applied before detection because a sideways phone photo hides most faces from the
detector (25 boxes fall to 6 on the crowd sample). The derivative is always a fresh JPEG built
from pixels only, so nothing of the source's EXIF, XMP, IPTC, GPS, maker notes, comments or
thumbnails can ride along; an embedded colour profile is applied to the pixels first so colours
survive its removal. The source file is never modified.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from temoin.errors import RedactionFailed
from temoin.protect.anonymize import DEFAULT_MARGIN, Mode, Shape, anonymize
from temoin.protect.detector import Box, FaceDetector
from temoin.protect.passes import look
from temoin.protect.profiles import DEFAULT_PROFILE, PROFILES, PassName

pillow_heif.register_heif_opener()

JPEG_QUALITY = 88
NormBox = tuple[float, float, float, float]  # x, y, w, h as fractions of the upright image


@dataclass(frozen=True)
class Detection:
    """One region considered on a derivative, and what was done with it."""

    box: NormBox
    score: float
    anonymised: bool
    source: str = "detector"  # "detector" or "manual"; video adds "tracked" and "held"
    track: int | None = None  # on video, the number of the face track the box belongs to


@dataclass
class PhotoResult:
    width: int
    height: int
    detections: list[Detection] = field(default_factory=list)
    model_version: str = ""

    @property
    def anonymised(self) -> list[Detection]:
        return [d for d in self.detections if d.anonymised]

    @property
    def kept(self) -> list[Detection]:
        """Faces left visible because ``keep`` said so (consent); the review queue shows these."""
        return [d for d in self.detections if not d.anonymised]


def load_upright_rgb(src: Path) -> np.ndarray:
    """The photo's pixels as the viewer sees them: oriented, sRGB, 8-bit RGB.

    A DNG or camera raw is developed by LibRaw (camera white balance, sRGB, turned by its own
    orientation), since what Pillow sees in one is a small preview at best.
    """
    try:
        with Image.open(src) as image:
            if not _is_raw(image):
                image.load()
                upright = ImageOps.exif_transpose(image)
                return np.asarray(_to_srgb(upright))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raw = _develop_raw(src)
        if raw is None:
            raise RedactionFailed(f"{src.name}: cannot read as an image ({exc})") from exc
        return raw
    raw = _develop_raw(src)
    if raw is None:
        raise RedactionFailed(f"{src.name}: a raw photo LibRaw cannot develop")
    return raw


def upright_size(src: Path) -> tuple[int, int]:
    """Width and height as the viewer sees the photo (EXIF orientations 5-8 swap them), read
    from the header where Pillow can; a raw is developed to know."""
    try:
        with Image.open(src) as image:
            if not _is_raw(image):
                width, height = image.size
                if image.format == "TIFF":  # Pillow gives a TIFF's size already turned upright
                    return width, height
                orientation = image.getexif().get(0x0112, 1)
                return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
        pass
    rgb = load_upright_rgb(src)
    return rgb.shape[1], rgb.shape[0]


def _is_raw(image: Image.Image) -> bool:
    """A TIFF that is a DNG (DNGVersion) or a raw whose first picture is only a preview."""
    tags = getattr(image, "tag_v2", None)
    return image.format == "TIFF" and tags is not None and (50706 in tags or tags.get(254) == 1)


def _develop_raw(src: Path) -> np.ndarray | None:
    import rawpy

    try:
        with rawpy.imread(str(src)) as raw:
            return np.ascontiguousarray(raw.postprocess(use_camera_wb=True, output_bps=8))
    except (rawpy.LibRawError, OSError, ValueError):
        return None


def redact_photo(
    src: Path,
    dst: Path,
    *,
    detector: FaceDetector,
    keep: Callable[[Box], bool] | None = None,
    extra_boxes: Iterable[NormBox] = (),
    margin: float = DEFAULT_MARGIN,
    mode: Mode = "mosaic",
    shape: Shape = "rect",
    threshold: float = 0.2,
    passes: tuple[PassName, ...] = PROFILES[DEFAULT_PROFILE].photo,
) -> PhotoResult:
    """Write a JPEG of ``src`` to ``dst`` with every face covered except those ``keep`` accepts.

    ``keep`` sees each box in pixels of the upright image, so the consent register can match it;
    ``extra_boxes`` are regions a reviewer drew (normalised, upright image) and are always covered.
    ``passes`` are the looks of `temoin.protect.passes` run on the picture. ``dst`` appears whole
    or not at all.
    """
    rgb = load_upright_rgb(Path(src))
    height, width = rgb.shape[:2]
    found = look(detector, rgb, passes, threshold=threshold)
    manual = [Box.from_normalised(b, width, height) for b in extra_boxes]
    covered: list[Box] = []
    detections: list[Detection] = []
    for box in found:
        hide = keep is None or not keep(box)
        detections.append(Detection(box.normalised(width, height), box.score, hide))
        if hide:
            covered.append(box)
    for box in manual:
        detections.append(Detection(box.normalised(width, height), 1.0, True, "manual"))
        covered.append(box)
    # The mosaic's noise is seeded from the picture itself: the same photo and the same decisions
    # give the same derivative, byte for byte, and the seed comes from pixels nobody outside sees.
    seed = int.from_bytes(hashlib.sha256(rgb.tobytes()).digest()[:8], "big")
    redacted = anonymize(
        rgb, covered, margin=margin, mode=mode, shape=shape, rng=np.random.default_rng(seed)
    )
    _write_bare_jpeg(redacted, Path(dst))
    return PhotoResult(width, height, detections, detector.model_version)


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            target = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image.convert("RGB"), source, target)
            if converted is not None:
                return converted
        except ImageCms.PyCMSError:
            pass  # a broken profile: the pixels as stored are the best we have
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def _write_bare_jpeg(rgb: np.ndarray, dst: Path) -> None:
    """A JPEG from pixels alone; written beside ``dst`` then renamed, so no half file is seen."""
    tmp = dst.with_name(f".{dst.name}.part")
    try:
        Image.fromarray(rgb, "RGB").save(
            tmp, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling="4:2:0"
        )
        os.replace(tmp, dst)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RedactionFailed(f"{dst.name}: cannot write ({exc})") from exc
