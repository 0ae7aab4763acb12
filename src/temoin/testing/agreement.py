"""Does temoin read what exiftool reads? Capture time, GPS and orientation, field by field.

The reference is ``exiftool -j -n -G``: the first real time among the tags below, in this order
(the order the issue that asked for agreement names, and the one the photo reader follows), the
GPS position exiftool composes, and the EXIF orientation (1 when the file declares none). Times are
compared as written: the wall-clock time to the second, and the fraction and UTC offset whenever
exiftool states them. Used by the metadata tests and by ``bench/ingest.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temoin.collect.readers.base import PHOTO, MediaInfo

# (tag, its sub-seconds tag, its offset tag or a fixed offset)
REFERENCE_TIMES = (
    ("EXIF:DateTimeOriginal", "EXIF:SubSecTimeOriginal", "EXIF:OffsetTimeOriginal"),
    ("EXIF:CreateDate", "EXIF:SubSecTimeDigitized", "EXIF:OffsetTimeDigitized"),
    ("XMP:DateTimeOriginal", None, None),
    ("XMP:CreateDate", None, None),
    ("XMP:DateCreated", None, None),
    ("Composite:GPSDateTime", None, None),
    ("QuickTime:CreationDate", None, None),
    ("QuickTime:CreateDate", None, "+00:00"),  # UTC by the format's definition
    ("EXIF:ModifyDate", None, "EXIF:OffsetTime"),
)
_WRITTEN = re.compile(
    r"^(\d{4}):(\d{2}):(\d{2})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
)


@dataclass(frozen=True)
class Said:
    """A time as written: wall clock ("2016-10-24 07:00:00", or the day alone), fraction of a
    second, UTC offset ("+02:00")."""

    wall: str
    fraction: float | None = None
    offset: str | None = None


@dataclass
class Agreement:
    name: str
    time: bool
    gps: bool
    orientation: bool | None  # None where there is no orientation to compare (video)
    detail: str = ""


def exiftool_json(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """``exiftool -j -n -G`` over the files, by path as given."""
    if not paths:
        return {}
    done = subprocess.run(
        ["exiftool", "-j", "-n", "-G", "-q", "-q", *map(str, paths)],
        capture_output=True,
        check=False,
    )
    rows = json.loads(done.stdout or b"[]")
    return {row["SourceFile"]: row for row in rows}


def reference_time(tags: dict[str, Any]) -> tuple[str, Said] | None:
    for tag, subsec_tag, offset_tag in REFERENCE_TIMES:
        said = _said(tags.get(tag))
        if said is None:
            continue
        fraction, offset = said.fraction, said.offset
        if fraction is None and subsec_tag and tags.get(subsec_tag) not in (None, ""):
            fraction = float(f"0.{tags[subsec_tag]}")
        if offset is None and offset_tag:
            offset = offset_tag if offset_tag.startswith(("+", "-")) else tags.get(offset_tag)
        return tag, Said(said.wall, fraction, offset or None)
    return None


def _said(value: Any) -> Said | None:
    found = _WRITTEN.match(str(value or "").strip())
    if found is None or found[1] == "0000" or found[2] == "00":
        return None
    y, mo, d, h, mi, s, frac, zone = found.groups()
    wall = f"{y}-{mo}-{d}" if h is None else f"{y}-{mo}-{d} {h}:{mi}:{s or '00'}"
    offset = "+00:00" if zone == "Z" else zone
    return Said(wall, float(frac) if frac else None, offset)


def temoin_time(info: MediaInfo) -> Said | None:
    moment = info.captured_at
    if moment is None:
        return None
    day_only = info.meta.get("capture_precision") == "day"
    wall = f"{moment:%Y-%m-%d}" if day_only else f"{moment:%Y-%m-%d %H:%M:%S}"
    offset = None
    if moment.tzinfo is not None:
        delta = moment.utcoffset()
        assert delta is not None
        minutes = int(delta.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return Said(wall, moment.microsecond / 1e6 if moment.microsecond else None, offset)


def _same_time(ours: Said | None, theirs: Said | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if ours.wall != theirs.wall:
        return False
    if theirs.fraction and abs((ours.fraction or 0.0) - theirs.fraction) > 0.0015:
        return False
    return theirs.offset is None or ours.offset == theirs.offset


def compare(name: str, info: MediaInfo | None, tags: dict[str, Any]) -> Agreement:
    """How temoin's reading of one file (None: refused) agrees with exiftool's."""
    reference = reference_time(tags)
    theirs = reference[1] if reference else None
    ours = temoin_time(info) if info is not None else None
    time_ok = _same_time(ours, theirs)
    lat, lon = tags.get("Composite:GPSLatitude"), tags.get("Composite:GPSLongitude")
    gps = (info.meta.get("gps") if info is not None else None) or {}
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        gps_ok = (
            isinstance(gps.get("lat"), int | float)
            and abs(gps["lat"] - lat) < 1e-6
            and abs(gps["lon"] - lon) < 1e-6
        )
    else:
        gps_ok = not gps
    orientation_ok: bool | None = None
    if info is None or info.kind == PHOTO:
        declared = tags.get("EXIF:Orientation")
        expected = declared if isinstance(declared, int) and declared else 1
        got = info.meta.get("orientation") if info is not None else None
        orientation_ok = got == expected
    detail = ""
    if not (time_ok and gps_ok and orientation_ok in (True, None)):
        detail = (
            f"time {ours} vs {reference}; gps {gps.get('lat')},{gps.get('lon')} vs {lat},{lon}; "
            f"orientation {info.meta.get('orientation') if info else None} vs "
            f"{tags.get('EXIF:Orientation')}"
        )
    return Agreement(name, time_ok, gps_ok, orientation_ok, detail)


def rates(results: list[Agreement]) -> dict[str, float]:
    """Share of files that agree, per field and on all three."""
    if not results:
        return {}
    oriented = [r for r in results if r.orientation is not None]
    return {
        "time": sum(r.time for r in results) / len(results),
        "gps": sum(r.gps for r in results) / len(results),
        "orientation": sum(bool(r.orientation) for r in oriented) / max(1, len(oriented)),
        "all": sum(r.time and r.gps and r.orientation is not False for r in results) / len(results),
    }


def has_capture_time(tags: dict[str, Any]) -> bool:
    return reference_time(tags) is not None
