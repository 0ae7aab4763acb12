"""Read the capture time that phones and messaging apps write into file names.

Material reaches the archive after passing through WhatsApp, Signal or Telegram, which strip EXIF;
the file name is then often the only clock left. Each pattern says how much it can be trusted:
WhatsApp Android names carry only the day, Pixel names are in UTC, the rest are local wall time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from temoin.sort.diary import find_date

__all__ = ["NameTime", "day_from_filename", "time_from_filename"]


@dataclass(frozen=True)
class NameTime:
    """A time read from a file name.

    `time` is naive local time, except when `utc` is True (then it is aware, in UTC). When
    `date_only` is True only the day is known and `time` is at midnight.
    """

    time: datetime
    pattern: str
    date_only: bool = False
    utc: bool = False


_Y = r"(?P<Y>(?:19[7-9]|20\d)\d)"
_M = r"(?P<M>\d\d)"
_D = r"(?P<D>\d\d)"
_h = r"(?P<h>\d\d)"
_m = r"(?P<m>\d\d)"
_s = r"(?P<s>\d\d)"
_ms = r"(?P<ms>\d{3})"
_END = r"(?![\d])"  # a timestamp never runs into more digits
_AMPM = r"(?:[ \u202f\u00a0]?(?P<ap>[AaPp][Mm]))?"

# Order matters: the most specific names first, the bare Samsung name last.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(regex))
    for name, regex in (
        ("pixel", rf"^PXL_{_Y}{_M}{_D}_{_h}{_m}{_s}{_ms}{_END}"),
        ("whatsapp-android", r"^(?:IMG|VID|PTT|AUD|STK|DOC)-" + rf"{_Y}{_M}{_D}-WA\d+"),
        ("android-camera", rf"^(?:IMG|VID|PANO|MVIMG|BURST)_{_Y}{_M}{_D}_{_h}{_m}{_s}{_END}"),
        ("android-screenshot", rf"^Screenshot_{_Y}{_M}{_D}-{_h}{_m}{_s}{_END}"),
        (
            "android-screenshot-dashed",
            rf"^Screenshot_{_Y}-{_M}-{_D}-{_h}-{_m}-{_s}{_END}",
        ),
        (
            "macos-screenshot",
            rf"^Screen ?[Ss]hot {_Y}-{_M}-{_D} at (?P<h>\d{{1,2}})\.{_m}\.{_s}{_AMPM}{_END}",
        ),
        ("signal", rf"^signal-{_Y}-{_M}-{_D}-{_h}{_m}{_s}{_END}"),
        ("signal-dashed", rf"^signal-{_Y}-{_M}-{_D}-{_h}-{_m}-{_s}(?:-{_ms})?{_END}"),
        ("telegram", rf"^(?:photo|video|file|audio)_\d+@{_D}-{_M}-{_Y}_{_h}-{_m}-{_s}{_END}"),
        (
            "whatsapp-ios",
            r"^\d{8}-(?:PHOTO|VIDEO|AUDIO|STICKER|GIF|CONTACT)-"
            + rf"{_Y}-{_M}-{_D}-{_h}-{_m}-{_s}{_END}",
        ),
        (
            "whatsapp-desktop",
            r"^WhatsApp (?:Image|Video|Audio|Ptt|Document|Sticker) "
            + rf"{_Y}-{_M}-{_D} at (?P<h>\d{{1,2}})\.{_m}\.{_s}{_AMPM}{_END}",
        ),
        ("samsung", rf"^{_Y}{_M}{_D}_{_h}{_m}{_s}{_END}"),
    )
)


def time_from_filename(name: str) -> NameTime | None:
    """The time a file name states, or None when it states none or an impossible one.

    `name` may be a bare name or a path with either separator; only the last part is read.
    """
    base = re.split(r"[\\/]", name)[-1]
    for pattern, regex in _PATTERNS:
        m = regex.match(base)
        if m is None:
            continue
        parts = m.groupdict()
        date_only = parts.get("h") is None
        hour = int(parts["h"]) if not date_only else 0
        ampm = parts.get("ap")
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        try:
            when = datetime(
                int(parts["Y"]),
                int(parts["M"]),
                int(parts["D"]),
                hour,
                int(parts["m"]) if not date_only else 0,
                int(parts["s"]) if not date_only else 0,
                int(parts["ms"]) * 1000 if parts.get("ms") else 0,
            )
        except ValueError:
            return None  # month 13 or 30 February: a name that only looks like a timestamp
        utc = pattern == "pixel"
        if utc:
            when = when.replace(tzinfo=UTC)
        return NameTime(time=when, pattern=pattern, date_only=date_only, utc=utc)
    return None


def day_from_filename(name: str) -> date | None:
    """The day a file name states, in a phone's pattern or as a person names a note
    ("notes 24-10-2016.txt", "journal_20161024.md", "24 octobre 2016.txt"); None otherwise."""
    named = time_from_filename(name)
    if named is not None:
        return named.time.date()
    base = re.split(r"[\\/]", name)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return find_date(stem, compact=True)
