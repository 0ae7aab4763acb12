"""Photos (JPEG, PNG, WebP, HEIC/HEIF, AVIF): capture time, GPS, device and orientation from EXIF.

The image is decoded once (a JPEG at 1/8 scale, in draft mode) to prove it is not truncated or
corrupt; one that is stays as evidence, marked damaged with the reason. Pixel floods are refused from
the declared size before any decode.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import ExifTags, Image, UnidentifiedImageError

from temoin.collect.readers.base import PHOTO, MediaInfo
from temoin.errors import Rejected
from temoin.i18n import marked

pillow_heif.register_heif_opener()
# We check the declared size ourselves, with the archive's own limit, before decoding.
Image.MAX_IMAGE_PIXELS = None

_BASE = ExifTags.Base
_GPS = ExifTags.GPS
DEFAULT_MAX_PIXELS = 200_000_000
JPEG_SCAN_LIMIT = 64 * 1024 * 1024  # larger JPEGs are only proved by decoding at 1/8 scale
_HEIF_MIMES = {"image/heic", "image/heif", "image/avif"}


def _number(value: Any) -> float | None:
    try:
        return float(Fraction(value)) if not isinstance(value, float) else value
    except (TypeError, ValueError, ZeroDivisionError):
        try:
            return float(value)
        except (TypeError, ValueError, ZeroDivisionError):
            return None


def _dms(values: Any, ref: Any) -> float | None:
    try:
        degrees, minutes, seconds = (_number(v) for v in values)
    except (TypeError, ValueError):
        return None
    if degrees is None or minutes is None or seconds is None:
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    return -decimal if str(ref).strip().upper() in {"S", "W"} else decimal


def _offset(text: Any) -> timezone | None:
    text = str(text or "").strip()
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        delta = timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))
    except ValueError:
        return None
    return timezone(-delta if text[0] == "-" else delta)


def _exif_time(value: Any, subsec: Any = None, offset: Any = None) -> datetime | None:
    text = str(value or "").strip().rstrip("\x00")
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    digits = "".join(ch for ch in str(subsec or "") if ch.isdigit())[:6]
    if digits:
        moment = moment.replace(microsecond=int(digits.ljust(6, "0")))
    tz = _offset(offset)
    return moment.replace(tzinfo=tz) if tz else moment


def _gps(gps: dict[int, Any]) -> dict[str, Any] | None:
    lat = _dms(gps.get(_GPS.GPSLatitude), gps.get(_GPS.GPSLatitudeRef))
    lon = _dms(gps.get(_GPS.GPSLongitude), gps.get(_GPS.GPSLongitudeRef))
    if lat is None or lon is None:
        return None
    place: dict[str, Any] = {"lat": round(lat, 7), "lon": round(lon, 7)}
    alt = _number(gps.get(_GPS.GPSAltitude))
    if alt is not None:
        place["alt"] = -alt if gps.get(_GPS.GPSAltitudeRef) in (1, b"\x01") else alt
    stamp, day = gps.get(_GPS.GPSTimeStamp), gps.get(_GPS.GPSDateStamp)
    if stamp and day:
        try:
            h, m, s = (_number(v) or 0.0 for v in stamp)
            base = datetime.strptime(str(day).strip("\x00 "), "%Y:%m:%d").replace(tzinfo=UTC)
            when = base + timedelta(hours=h, minutes=m, seconds=s)
            place["time_utc"] = when.isoformat()
        except (TypeError, ValueError):
            pass
    return place


def _clean(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip("\x00 ")
    if isinstance(value, str):
        return value.strip("\x00 ")
    return value


def _jpeg_is_complete(path: Path) -> bool:
    """True when the main image's scan ends with its EOI marker.

    Walking the marker segments to the first scan and finding EOI after it proves the file was
    not cut short, at a tenth of the cost of decoding it. Within entropy-coded data 0xFF is always
    stuffed, so the first FF D9 after the scan is the real end, even when a phone appends a motion
    video or a maker trailer after it (a plain "ends with FF D9" test would refuse those).
    """
    data = path.read_bytes()
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:  # start of scan: the compressed picture follows
            return data.find(b"\xff\xd9", position) != -1
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        position += 2 + length
    return False


def _damage(image: Image.Image, path: Path) -> str | None:
    """Why the picture cannot be shown whole, or None when it decodes.

    A JPEG is decoded at 1/8 scale: the whole entropy-coded stream is still read (bad Huffman
    tables or a cut scan are found) without paying for full-size pixels.
    """
    small = path.stat().st_size <= JPEG_SCAN_LIMIT
    if image.format == "JPEG" and small and not _jpeg_is_complete(path):
        return "truncated image: the JPEG ends before its picture data does"
    if image.format == "JPEG":
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return f"undecodable image: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0] or type(exc).__name__


def _heif_damage(path: Path) -> str | None:
    """Why libheif cannot open a HEIC/AVIF whose boxes say more than the file holds, or None.

    An iPhone photo cut in transfer keeps its header; its picture data points past the end.
    """
    try:
        pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
    except (OSError, ValueError, RuntimeError) as exc:
        reason = _first_line(exc)
        if "end of file" in reason.lower() or "file bounds" in reason.lower():
            return f"truncated image: {reason}"
    return None


def _decode_bytes(image: Image.Image) -> int:
    """What proving the picture takes in memory: 4 bytes a pixel (Pillow keeps RGB in 32 bits),
    at 1/8 scale for a JPEG (draft mode), and twice over for HEIF (libheif's copy, then ours)."""
    width, height = image.size
    if image.format == "JPEG":
        return (width // 8 + 1) * (height // 8 + 1) * 4
    return width * height * 4 * (2 if image.format in ("HEIF", "AVIF") else 1)


def read_photo(
    path: Path,
    mime: str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decode_bytes: int = 384 * 1024**2,
) -> MediaInfo:
    damaged: str | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            with image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Rejected(
                        f"image declares {width}x{height} pixels, over the limit of "
                        f"{max_pixels:,}: refused as a decompression bomb"
                    )
                cost = _decode_bytes(image)
                if cost > max_decode_bytes:
                    raise Rejected(
                        f"a {width}x{height} {image.format} would take {cost // 1024**2:,} MiB "
                        f"to decode, over the limit of {max_decode_bytes // 1024**2:,} MiB "
                        "(setting max_decode_bytes)"
                    )
                exif = image.getexif()
                fmt = image.format
                damaged = _damage(image, path)
    except Rejected:
        raise
    except UnidentifiedImageError as exc:
        if mime in _HEIF_MIMES and (reason := _heif_damage(path)) is not None:
            return MediaInfo(kind=PHOTO, mime=mime, meta={"format": "HEIF"}, damaged=reason)
        raise Rejected(marked("not a readable image")) from exc
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise Rejected(
            marked("corrupt or truncated image: %(why)s") % {"why": _first_line(exc)}
        ) from exc
    meta: dict[str, Any] = {"width": width, "height": height, "format": fmt}
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    for key, tag in (("make", _BASE.Make), ("model", _BASE.Model), ("software", _BASE.Software)):
        if exif.get(tag):
            meta[key] = _clean(exif.get(tag))
    serial = detail.get(_BASE.BodySerialNumber)
    if serial:
        meta["serial"] = _clean(serial)
    orientation = exif.get(_BASE.Orientation)
    meta["orientation"] = int(orientation) if orientation else 1
    gps = _gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
    if gps:
        meta["gps"] = gps
    captured, source = None, None
    for value, subsec, offset, name in (
        (
            detail.get(_BASE.DateTimeOriginal),
            detail.get(_BASE.SubsecTimeOriginal),
            detail.get(_BASE.OffsetTimeOriginal),
            "exif:DateTimeOriginal",
        ),
        (
            detail.get(_BASE.DateTimeDigitized),
            detail.get(_BASE.SubsecTimeDigitized),
            detail.get(_BASE.OffsetTimeDigitized),
            "exif:DateTimeDigitized",
        ),
        (exif.get(_BASE.DateTime), None, detail.get(_BASE.OffsetTime), "exif:DateTime"),
    ):
        captured = _exif_time(value, subsec, offset)
        if captured is not None:
            source = name
            break
    return MediaInfo(
        kind=PHOTO,
        mime=mime,
        meta=meta,
        captured_at=captured,
        capture_source=source,
        damaged=damaged,
    )
