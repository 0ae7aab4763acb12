"""The times a photo states, and the one order in which they are tried as its capture time.

A photo may state several times. The one the camera wrote when the shutter closed
(EXIF ``DateTimeOriginal``) comes first; the time the picture was digitised comes next (the same
moment on a phone, the scan on a film camera); then what editing software copied into XMP, which
is often all that survives an export; then the satellite time of the last GPS fix; then the
QuickTime keys some HEIC files carry; and last EXIF ``DateTime``, which is when the file was last
*modified*, not taken. The Pillow path and the exiftool fallback both fill the same names, so a
file gets the same capture time whichever read it.

The names are the capture sources recorded on the item; the sort stage turns each family into a
confidence (``temoin.sort.clock``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

ORDER = (
    "exif:DateTimeOriginal",
    "exif:DateTimeDigitized",
    "xmp:DateTimeOriginal",
    "xmp:CreateDate",
    "xmp:DateCreated",
    "gps:GPSDateTime",
    "quicktime:CreationDate",
    "quicktime:CreateDate",
    "exif:DateTime",
)

# "2016:10:24 07:00:00", "2016-10-24T07:00:00.250+02:00", "2016-10-24T07:00Z", "2016-10-24"
_STAMP = re.compile(
    r"^(?P<y>\d{4})[:-](?P<mo>\d{2})[:-](?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class Stated:
    """One stated time: aware when the file gives its offset, naive (the device's local time)
    otherwise. ``day_only`` when the file gives a date and no time (XMP ``DateCreated`` may)."""

    moment: datetime
    day_only: bool = False


def offset(text: object) -> timezone | None:
    """An EXIF ``OffsetTime*`` value ("+02:00") as a zone, or None when absent or malformed."""
    found = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", str(text or "").strip().rstrip("\x00"))
    if found is None:
        return None
    sign, hours, minutes = found.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)


def parse(value: object, subsec: object = None, zone: object = None) -> Stated | None:
    """A stated time from EXIF, XMP or exiftool text, or None when it is not one.

    Cameras without a set clock write zeros or blanks ("0000:00:00 00:00:00"); those are no time.
    ``subsec`` is an EXIF ``SubSecTime*`` value, ``zone`` an ``OffsetTime*`` one; a zone written
    in the text itself wins over ``zone``.
    """
    text = str(value or "").strip().rstrip("\x00").strip()
    found = _STAMP.match(text)
    if found is None:
        return None
    parts = found.groupdict()
    try:
        moment = datetime(
            int(parts["y"]),
            int(parts["mo"]),
            int(parts["d"]),
            int(parts["h"] or 0),
            int(parts["mi"] or 0),
            int(parts["s"] or 0),
        )
    except ValueError:
        return None
    digits = parts["frac"] or "".join(ch for ch in str(subsec or "") if ch.isdigit())
    if digits:
        moment = moment.replace(microsecond=int(digits[:6].ljust(6, "0")))
    written = parts["zone"]
    tz = UTC if written == "Z" else offset(written) if written else offset(zone)
    if tz is not None:
        moment = moment.replace(tzinfo=tz)
    return Stated(moment, day_only=parts["h"] is None)


def first(found: Mapping[str, Stated | None]) -> tuple[Stated, str] | None:
    """The capture time and its source name: the first of ``ORDER`` the file states."""
    for name in ORDER:
        stated = found.get(name)
        if stated is not None:
            return stated, name
    return None
