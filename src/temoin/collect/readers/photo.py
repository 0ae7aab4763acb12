"""Photos (JPEG, PNG, WebP, HEIC/HEIF, AVIF, TIFF, DNG and camera raw): capture time, GPS, device
and orientation from EXIF and XMP.

The image is decoded once (a JPEG at 1/8 scale, in draft mode) to prove it is not truncated or
corrupt; one that is stays as evidence, marked damaged with the reason, and keeps the time, place
and orientation its metadata states. A raw's picture is unpacked by LibRaw (rawpy) instead. Pixel
floods are refused from the declared size before any decode. Pillow reads the metadata; exiftool
(``temoin.collect.exiftool``) is asked only for what Pillow cannot parse.
"""

from __future__ import annotations

import struct
import warnings
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import ExifTags, Image, UnidentifiedImageError

from temoin.collect.exiftool import (
    MISSING_NOTE,
    ExifToolBatch,
    describe,
    place,
    stated_times,
)
from temoin.collect.readers.base import PHOTO, MediaInfo
from temoin.collect.readers.stated import Stated, first, parse
from temoin.collect.readers.xmp import xmp_times
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
# Raws whose container is not a plain TIFF; TIFF-based ones (DNG, NEF, ARW) are told by their tags.
RAW_MIMES = {"image/x-canon-cr2"}
_RAW_TYPES = {"DNG", "CR2", "CR3", "NEF", "NRW", "ARW", "SR2", "ORF", "RW2", "PEF", "SRW", "RAF"}
_DNG_VERSION = 50706
_NEW_SUBFILE_TYPE = 254  # 1: this IFD is a reduced-resolution preview of the real picture


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
    exiftool: ExifToolBatch | None = None,
) -> MediaInfo:
    """Read one photo. ``exiftool`` is the ingest's fallback process; without one, a photo that
    needs it starts one of its own for the call."""
    fallback = _Fallback(path, exiftool)
    try:
        return _read(path, mime, max_pixels, max_decode_bytes, fallback)
    finally:
        fallback.close()


def _read(
    path: Path, mime: str, max_pixels: int, max_decode_bytes: int, fallback: _Fallback
) -> MediaInfo:
    damaged: str | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            with image:
                width, height = image.size
                _check_pixels(width, height, max_pixels)
                cost = _decode_bytes(image)
                if cost > max_decode_bytes:
                    raise Rejected(
                        f"a {width}x{height} {image.format} would take {cost // 1024**2:,} MiB "
                        f"to decode, over the limit of {max_decode_bytes // 1024**2:,} MiB "
                        "(setting max_decode_bytes)"
                    )
                fmt = image.format
                exif, unparsed = _pillow_exif(image)
                xmp = image.info.get("xmp")
                # read before decoding: Pillow turns a TIFF upright on load and drops its tag
                from_pillow, pillow_times = _pillow_metadata(image, exif)
                raw = _is_raw(image, mime)
                if not raw:
                    damaged = _damage(image, path)
    except Rejected:
        raise
    except UnidentifiedImageError as exc:
        limits = (max_pixels, max_decode_bytes)
        return _unopened(path, mime, marked("not a readable image"), exc, limits, fallback)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        reason = marked("corrupt or truncated image: %(why)s") % {"why": _first_line(exc)}
        return _unopened(path, mime, reason, exc, (max_pixels, max_decode_bytes), fallback)
    meta: dict[str, Any] = {"width": width, "height": height, "format": fmt}
    if raw:
        meta.update(_raw_meta(path, max_pixels, max_decode_bytes))
        if meta.get("raw") == "unreadable":  # kept, but it cannot be rendered: say so
            damaged = f"undecodable image: {meta['raw_note']}"
    found: dict[str, Stated | None] = {}
    if unparsed and (tags := fallback.tags()) is not None:
        meta.update({k: v for k, v in describe(tags).items() if k not in meta})
        if place(tags):
            meta["gps"] = place(tags)
        found.update(stated_times(tags))
    else:
        if unparsed:
            meta["metadata_note"] = fallback.note()
        meta.update(from_pillow)
        found.update(pillow_times)
    for name, stated in xmp_times(xmp).items():
        if found.get(name) is None:
            found[name] = stated
    return _info(mime, meta, found, damaged)


def _pillow_metadata(
    image: Image.Image, exif: Image.Exif
) -> tuple[dict[str, Any], dict[str, Stated | None]]:
    """Device, orientation, place and stated times as Pillow read them from the EXIF."""
    meta = _exif_meta(exif)
    # pillow-heif turns the picture upright and resets EXIF to 1; keep what the file declared
    declared = image.info.get("original_orientation")
    if isinstance(declared, int) and declared:
        meta["orientation"] = declared
    found = _exif_times(exif)
    gps = _gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
    if gps:
        meta["gps"] = gps
        if gps.get("time_utc"):
            found["gps:GPSDateTime"] = Stated(datetime.fromisoformat(gps["time_utc"]))
    return meta, found


def _info(
    mime: str, meta: dict[str, Any], found: dict[str, Stated | None], damaged: str | None
) -> MediaInfo:
    picked = first(found)
    if picked is not None and picked[0].day_only:
        meta["capture_precision"] = "day"
    return MediaInfo(
        kind=PHOTO,
        mime=mime,
        meta=meta,
        captured_at=picked[0].moment if picked else None,
        capture_source=picked[1] if picked else None,
        damaged=damaged,
    )


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise Rejected(
            f"image declares {width}x{height} pixels, over the limit of "
            f"{max_pixels:,}: refused as a decompression bomb"
        )


class _Fallback:
    """exiftool's answer for this one file, asked at most once and only when needed."""

    def __init__(self, path: Path, batch: ExifToolBatch | None) -> None:
        self.path = path
        self._batch = batch
        self._own: ExifToolBatch | None = None
        self._asked = False
        self._tags: dict[str, Any] | None = None

    def tags(self) -> dict[str, Any] | None:
        if not self._asked:
            self._asked = True
            if self._batch is None:
                self._own = self._batch = ExifToolBatch()
            self._tags = self._batch.read(self.path)
        return self._tags

    def note(self) -> str:
        if self._batch is not None and self._batch.missing:
            return MISSING_NOTE
        return "EXIF that neither Pillow nor exiftool could parse"

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


def _pillow_exif(image: Image.Image) -> tuple[Image.Exif, bool]:
    """Pillow's reading of the EXIF, and whether the file holds EXIF that Pillow could not parse
    (a malformed block, or one under an older maker's header Pillow does not recognise)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exif = image.getexif()
            exif.get_ifd(ExifTags.IFD.Exif)
            exif.get_ifd(ExifTags.IFD.GPSInfo)
        except (SyntaxError, ValueError, TypeError, KeyError, IndexError, OSError, struct.error):
            return Image.Exif(), True
    if any("EXIF" in str(w.message) for w in caught):
        return exif, True
    return exif, len(exif) == 0 and _declares_exif(image)


def _declares_exif(image: Image.Image) -> bool:
    if image.info.get("exif"):
        return True
    applist = getattr(image, "applist", [])
    return any(marker == "APP1" and b"Exif" in body[:8] for marker, body in applist)


def _exif_meta(exif: Image.Exif) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    for key, tag in (("make", _BASE.Make), ("model", _BASE.Model), ("software", _BASE.Software)):
        if exif.get(tag):
            meta[key] = _clean(exif.get(tag))
    serial = detail.get(_BASE.BodySerialNumber)
    if serial:
        meta["serial"] = _clean(serial)
    orientation = exif.get(_BASE.Orientation)
    try:
        meta["orientation"] = int(orientation) if orientation else 1
    except (TypeError, ValueError):
        meta["orientation"] = 1
    return meta


def _exif_times(exif: Image.Exif) -> dict[str, Stated | None]:
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    return {
        "exif:DateTimeOriginal": parse(
            _clean(detail.get(_BASE.DateTimeOriginal)),
            _clean(detail.get(_BASE.SubsecTimeOriginal)),
            _clean(detail.get(_BASE.OffsetTimeOriginal)),
        ),
        "exif:DateTimeDigitized": parse(
            _clean(detail.get(_BASE.DateTimeDigitized)),
            _clean(detail.get(_BASE.SubsecTimeDigitized)),
            _clean(detail.get(_BASE.OffsetTimeDigitized)),
        ),
        "exif:DateTime": parse(
            _clean(exif.get(_BASE.DateTime)), None, _clean(detail.get(_BASE.OffsetTime))
        ),
    }


def _is_raw(image: Image.Image, mime: str) -> bool:
    """A camera raw or DNG: what Pillow opened is a preview (or nothing it can draw), and the
    picture itself is for LibRaw."""
    if mime in RAW_MIMES:
        return True
    if image.format != "TIFF":
        return False
    tags = getattr(image, "tag_v2", {})
    return _DNG_VERSION in tags or tags.get(_NEW_SUBFILE_TYPE) == 1


def _raw_meta(path: Path, max_pixels: int, max_decode_bytes: int) -> dict[str, Any]:
    """Prove the raw data unpacks, within the archive's limits; say when it does not."""
    import rawpy

    raw = rawpy.RawPy()
    try:
        raw.open_file(str(path))  # the header: sizes are known before anything is unpacked
        width, height = raw.sizes.raw_width, raw.sizes.raw_height
        _check_pixels(width, height, max_pixels)
        if width * height * 2 > max_decode_bytes:
            raise Rejected(
                f"a {width}x{height} raw would take {width * height * 2 // 1024**2:,} MiB "
                "to unpack, over the limit (setting max_decode_bytes)"
            )
        raw.unpack()
        shown = raw.sizes.width, raw.sizes.height
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        said = exc.args[0] if exc.args else exc
        why = said.decode("utf-8", "replace") if isinstance(said, bytes) else _first_line(exc)
        return {"raw": "unreadable", "raw_note": f"LibRaw cannot read it: {why}"}
    finally:
        raw.close()
    return {"raw": "libraw", "width": shown[0], "height": shown[1], "format": "RAW"}


def _unopened(
    path: Path,
    mime: str,
    reason: str,
    exc: BaseException,
    limits: tuple[int, int],
    fallback: _Fallback,
) -> MediaInfo:
    """A photo Pillow cannot open: a raw only LibRaw reads, a cut HEIC, or a JPEG whose picture
    is damaged but whose EXIF still says when and where. Anything else is refused."""
    max_pixels, max_decode_bytes = limits
    heif_reason = _heif_damage(path) if mime in _HEIF_MIMES else None
    tags = fallback.tags()
    found = stated_times(tags) if tags else {}
    where = place(tags) if tags else None
    meta: dict[str, Any] = describe(tags) if tags else {}
    if where:
        meta["gps"] = where
    if mime in RAW_MIMES or (tags and tags.get("File:FileType") in _RAW_TYPES):
        meta.update({"format": "RAW"})
        meta.update(_raw_meta(path, max_pixels, max_decode_bytes))
        if meta.get("raw") == "libraw":
            return _info(mime, meta, found, None)
    if heif_reason is not None:
        return _info(mime, {"format": "HEIF", **meta}, found, heif_reason)
    if tags and (first(found) is not None or where):
        if mime == "image/jpeg" and not _jpeg_is_complete(path):
            damage = "truncated image: the JPEG ends before its picture data does"
        elif isinstance(exc, UnidentifiedImageError):
            damage = "undecodable image: its frame header cannot be read"
        else:
            damage = f"undecodable image: {_first_line(exc)}"
        meta.setdefault("format", str(tags.get("File:FileType") or "unknown"))
        meta["metadata_from"] = "exiftool"
        return _info(mime, meta, found, damage)
    raise Rejected(reason) from exc
