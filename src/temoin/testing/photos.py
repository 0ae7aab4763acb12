"""Real photos for tests, the demo and the benchmarks: JPEG/PNG/WebP/HEIC with the EXIF phones write.

Pixels are a smooth gradient with a seeded pattern so every photo differs (distinct SHA-256) while
staying cheap to encode; `astronaut()` gives a real face (public-domain NASA photo shipped inside
scikit-image's wheel) for the face stages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

_BASE = ExifTags.Base
_GPS = ExifTags.GPS


def pattern(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28, size=3)
    freq = rng.uniform(0.005, 0.03, size=3)
    channels = [127 + 120 * np.sin(freq[i] * (x + y * (i + 1)) + phase[i]) for i in range(3)]
    pixels = np.stack(channels, axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut(), "RGB")


def make_exif(
    *,
    taken: datetime | None = None,
    offset: str | None = None,
    make: str | None = "Fairphone",
    model: str | None = "FP2",
    serial: str | None = None,
    orientation: int | None = None,
    gps: tuple[float, float] | None = None,
    gps_time: datetime | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[_BASE.Make] = make
    if model:
        exif[_BASE.Model] = model
    if orientation:
        exif[_BASE.Orientation] = orientation
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif[_BASE.DateTime] = stamp
        detail[_BASE.DateTimeOriginal] = stamp
        detail[_BASE.DateTimeDigitized] = stamp
        if taken.microsecond:
            detail[_BASE.SubsecTimeOriginal] = f"{taken.microsecond // 1000:03d}"
        if offset:
            detail[_BASE.OffsetTimeOriginal] = offset
            detail[_BASE.OffsetTime] = offset
    if serial:
        detail[_BASE.BodySerialNumber] = serial
    if gps is not None:
        lat, lon = gps
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[_GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        info[_GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        info[_GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        for tag, value in ((_GPS.GPSLatitude, abs(lat)), (_GPS.GPSLongitude, abs(lon))):
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = (value - degrees - minutes / 60) * 3600
            info[tag] = (float(degrees), float(minutes), round(seconds, 4))
        if gps_time is not None:
            info[_GPS.GPSDateStamp] = gps_time.strftime("%Y:%m:%d")
            info[_GPS.GPSTimeStamp] = (
                float(gps_time.hour),
                float(gps_time.minute),
                float(gps_time.second),
            )
    return exif


def make_photo(
    path: Path,
    *,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
    image: Image.Image | None = None,
    quality: int = 85,
    **exif_fields: object,
) -> Path:
    """Write a photo; the format follows the suffix (.jpg, .png, .webp, .heic)."""
    picture = image if image is not None else pattern(*size, seed=seed)
    exif = make_exif(**exif_fields)  # type: ignore[arg-type]
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in {".jpg", ".jpeg"}:
        picture.save(path, "JPEG", quality=quality, exif=exif)
    elif suffix == ".png":
        picture.save(path, "PNG", exif=exif)
    elif suffix == ".webp":
        picture.save(path, "WEBP", quality=quality, exif=exif)
    elif suffix in {".heic", ".heif"}:
        import pillow_heif

        pillow_heif.register_heif_opener()
        picture.save(path, "HEIF", quality=quality, exif=exif.tobytes())
    else:
        raise ValueError(f"no photo format for {suffix}")
    return path
