"""Renditions for the site, made from derivatives only: smaller JPEGs for ``srcset`` and a video's
poster frame. Pillow writes no metadata unless asked, and nothing here asks."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import av
from PIL import Image

WIDTHS = (320, 640, 1280)  # a phone on a bad connection picks the smallest that fills its screen
POSTER_WIDTH = 1280
QUALITY = 78
VERSION = "1"  # part of every rendition's key: bump to remake them all


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the header alone (derivatives are already upright)."""
    with Image.open(path) as image:
        return image.size


def smaller_widths(width: int) -> list[int]:
    return [w for w in WIDTHS if w < width]


def resized(path: Path, width: int) -> bytes:
    with Image.open(path) as image:
        height = max(1, round(image.height * width / image.width))
        image.draft("RGB", (width, height))  # JPEG: decode at a fraction of the size, much faster
        small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    return _jpeg(small)


def poster(path: Path) -> bytes:
    """A frame about one second in (the first is often dark), scaled down to a poster."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        frame_image: Image.Image | None = None
        for index, frame in enumerate(container.decode(stream)):
            frame_image = frame.to_image()
            if index >= rate:
                break
    if frame_image is None:
        raise ValueError(f"{path.name}: no video frame to make a poster from")
    if frame_image.width > POSTER_WIDTH:
        height = round(frame_image.height * POSTER_WIDTH / frame_image.width)
        frame_image = frame_image.resize((POSTER_WIDTH, height), Image.Resampling.LANCZOS)
    return _jpeg(frame_image.convert("RGB"))


def duration(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.duration or 0) / av.time_base


def _jpeg(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY, progressive=True)
    return buffer.getvalue()
