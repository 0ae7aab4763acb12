"""When was it really? One capture time per item, with the clock it came from and its trust.

Every device keeps its own clock, and some are wrong: a phone never set after a battery swap, a
camera still on winter time. The archive keeps what each file states (`captured_raw`) untouched and
derives `time_utc` here, so a correction set later moves every item of that device at once and can
be undone. Candidates are tried in a fixed order (the first the item has wins):

    exif+offset  EXIF DateTimeOriginal with OffsetTime      0.95  device clock
    gps          EXIF GPS date/time stamp (true UTC)          0.99  satellite clock
    exif         EXIF time without offset (local, naive)     0.80  device clock
    xmp+offset   XMP capture time with its offset            0.85  device clock
    xmp          XMP capture time without offset             0.75  device clock
    media        QuickTime/Matroska/audio tag creation time  0.80  device clock
    chat         chat export message time                    0.90  device clock (Telegram: server)
    filename     a time in the file name                     0.60  device clock
    modified     EXIF DateTime: when the file was modified   0.50  device clock
    filename-day a day only (WhatsApp "IMG-20161024-WA0003") 0.30  device clock
    xmp-day      an XMP date without a time                  0.30  device clock
    phone        the file time the sending phone reported    0.20  device clock
    mtime        the file's modification time                0.10  device clock

XMP is what editing software copied from the EXIF, and often all an exported photo keeps: the
same clock, one copy removed. EXIF ``DateTime`` is when the file was last written by the camera
or an editor, so it only counts when nothing better is stated. The photo reader tries these in
the order ``temoin.collect.readers.stated`` gives, and the item records the one it found.

GPS ranks under EXIF-with-offset although it is more trustworthy, because phones stamp the time of
the last fix, which can be minutes old, and only to the second; a device clock corrected by a
per-source offset (estimated from those very GPS stamps) is both precise and right. Diary entries
(0.70) are read in the source's zone from the time the witness wrote, but a device's offset does
not move them: the witness wrote what a watch or the church clock said, not what the camera that
carried the note believed.

A phone's file time (``phone:lastModified``, sent by the upload page) is the time the phone last
wrote the file: usually when it took the picture, but also when it was edited, copied or saved from
a chat. It beats the server's own file time, which is only when the bytes arrived, and loses to any
time the file itself states.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import ClockOffset
from temoin.collect.ingest import PHONE_FILE_TIME
from temoin.sort.filenames import time_from_filename

CONFIDENCE: dict[str, float] = {
    "exif+offset": 0.95,
    "gps": 0.99,
    "exif": 0.8,
    "xmp+offset": 0.85,
    "xmp": 0.75,
    "media": 0.8,
    "chat": 0.9,
    "diary": 0.7,
    "filename": 0.6,
    "modified": 0.5,
    "filename-day": 0.3,
    "xmp-day": 0.3,
    "phone": 0.2,
    "mtime": 0.1,
}
# Times from these clocks are not the device's own, so a device's offset never moves them.
_NOT_DEVICE_CLOCKS = frozenset({"gps", "chat-server", "diary"})
# GPS stamps further than this from the median are stale fixes, not evidence of skew.
_GPS_INLIER_SECONDS = 10.0
# Capture sources that are file times rather than times the file states.
_FILE_TIMES = frozenset({"file:mtime", PHONE_FILE_TIME})
# The EXIF time of the file's last modification: stated, but not when the picture was taken.
_MODIFIED = "exif:DateTime"


@dataclass(frozen=True)
class Resolved:
    time_utc: datetime | None
    source: str | None
    confidence: float | None


@dataclass
class Clocks:
    """The corrections in force: per-source offset (seconds to add) and time zone."""

    timezone: str
    offsets: dict[str, float] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)

    def zone(self, source: str) -> ZoneInfo:
        return ZoneInfo(self.zones.get(source) or self.timezone)

    def to_utc(self, moment: datetime, source: str, clock: str) -> datetime:
        """Read a stated time as UTC, then correct it when it came from the device's clock."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone(source))
        utc = moment.astimezone(UTC).replace(tzinfo=None)
        offset = self.offsets.get(source)
        if offset and clock not in _NOT_DEVICE_CLOCKS:
            utc += timedelta(seconds=offset)
        return utc


def load_clocks(session: Session, timezone: str) -> Clocks:
    """The newest correction per source wins; older rows stay as the history `clock` shows."""
    clocks = Clocks(timezone)
    for row in session.scalars(select(ClockOffset).order_by(ClockOffset.id)):
        clocks.offsets[row.source] = row.offset_seconds
        if row.timezone:
            clocks.zones[row.source] = row.timezone
        else:
            clocks.zones.pop(row.source, None)
    return clocks


def parse_stated(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def gps_time(meta: Mapping[str, Any] | None) -> datetime | None:
    gps = (meta or {}).get("gps")
    if not isinstance(gps, dict) or not gps.get("time_utc"):
        return None
    stamp = parse_stated(str(gps["time_utc"]))
    if stamp is None:
        return None
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def resolve(
    *,
    source: str,
    name: str,
    meta: Mapping[str, Any] | None,
    captured_raw: str | None,
    capture_source: str | None,
    mtime: datetime | None,
    clocks: Clocks,
) -> Resolved:
    """The best capture time of one item, following the order in the module docstring."""
    stated = parse_stated(captured_raw)
    origin = capture_source or ""
    day_only = (meta or {}).get("capture_precision") == "day"
    if origin == _MODIFIED or day_only:
        weak, stated = stated, None  # tried after the file name
    else:
        weak = None
    if stated is not None and origin.startswith("exif:") and stated.tzinfo is not None:
        return _found(clocks.to_utc(stated, source, "exif+offset"), "exif+offset")
    gps = gps_time(meta)
    if gps is not None:
        return _found(gps, "gps")
    if stated is not None:
        if origin.startswith("exif:"):
            return _found(clocks.to_utc(stated, source, "exif"), "exif")
        if origin.startswith("xmp:"):
            how = "xmp+offset" if stated.tzinfo is not None else "xmp"
            return _found(clocks.to_utc(stated, source, how), how)
        if origin.startswith("gps:"):
            return _found(clocks.to_utc(stated, source, "gps"), "gps")
        if origin.startswith("chat:"):
            clock = "chat-server" if stated.tzinfo is not None else "chat"
            return _found(clocks.to_utc(stated, source, clock), "chat")
        if origin not in _FILE_TIMES:
            return _found(clocks.to_utc(stated, source, "media"), "media")
    named = time_from_filename(name) if name else None
    if named is not None and not named.date_only:
        return _found(clocks.to_utc(named.time, source, "filename"), "filename")
    if weak is not None and origin == _MODIFIED:
        return _found(clocks.to_utc(weak, source, "modified"), "modified")
    if named is not None:
        return _found(clocks.to_utc(named.time, source, "filename-day"), "filename-day")
    if weak is not None:
        return _found(clocks.to_utc(weak, source, "xmp-day"), "xmp-day")
    if stated is not None and origin == PHONE_FILE_TIME:
        return _found(clocks.to_utc(stated, source, "phone"), "phone")
    if mtime is not None:
        return _found(clocks.to_utc(mtime.replace(tzinfo=UTC), source, "mtime"), "mtime")
    return Resolved(None, None, None)


def _found(moment: datetime, how: str) -> Resolved:
    return Resolved(moment, how, CONFIDENCE[how])


def camera_time(
    captured_raw: str | None, capture_source: str | None, source: str, clocks: Clocks
) -> datetime | None:
    """What the device's own clock said, in UTC, before any correction: the thing skew is about."""
    stated = parse_stated(captured_raw)
    own_clock = (capture_source or "").startswith(("exif:", "xmp:", "quicktime:", "matroska:"))
    if stated is None or not own_clock:
        return None
    if stated.tzinfo is None:
        stated = stated.replace(tzinfo=clocks.zone(source))
    return stated.astimezone(UTC).replace(tzinfo=None)


# -- estimating offsets ---------------------------------------------------------------------------


@dataclass
class Proposal:
    """An offset proposed for one source, with the evidence and how sure it is."""

    source: str
    offset_seconds: float
    current_seconds: float
    evidence: str  # "gps" or "duplicates:<reference source>"
    samples: int
    spread_seconds: float  # largest distance of a kept sample from the proposal
    confidence: float
    outliers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "offset": format_offset(self.offset_seconds),
            "offset_seconds": round(self.offset_seconds, 3),
            "current": format_offset(self.current_seconds),
            "evidence": self.evidence,
            "samples": self.samples,
            "outliers": self.outliers,
            "spread_seconds": round(self.spread_seconds, 3),
            "confidence": round(self.confidence, 2),
        }


@dataclass(frozen=True)
class GpsSample:
    source: str
    gps_utc: datetime
    camera_utc: datetime


@dataclass(frozen=True)
class PairSample:
    """The same picture on two sources, each time from its own device's clock (UTC, uncorrected)."""

    source_a: str
    time_a: datetime
    source_b: str
    time_b: datetime


def estimate_from_gps(samples: Iterable[GpsSample], clocks: Clocks) -> dict[str, Proposal]:
    """Skew = GPS time − camera time, per source: the median, with stale fixes set aside."""
    by_source: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_source[sample.source].append((sample.gps_utc - sample.camera_utc).total_seconds())
    proposals = {}
    for source, diffs in by_source.items():
        middle = statistics.median(diffs)
        kept = [d for d in diffs if abs(d - middle) <= _GPS_INLIER_SECONDS]
        offset = statistics.median(kept)
        spread = max(abs(d - offset) for d in kept)
        proposals[source] = Proposal(
            source=source,
            offset_seconds=offset,
            current_seconds=clocks.offsets.get(source, 0.0),
            evidence="gps",
            samples=len(kept),
            spread_seconds=spread,
            confidence=_confidence(len(kept), spread, len(diffs) - len(kept), base=0.99),
            outliers=len(diffs) - len(kept),
        )
    return proposals


def estimate_from_pairs(
    pairs: Iterable[PairSample], anchors: Mapping[str, float], clocks: Clocks
) -> dict[str, Proposal]:
    """Offsets for sources reachable from an anchored source through shared near-duplicates.

    Assumes the two copies were stamped at the same moment (a clip sent by AirDrop or Bluetooth
    keeps its time; a chat copy does not, and its file-name time is never used), so this evidence is
    weaker than GPS and only fills in sources GPS says nothing about. `anchors` are sources whose
    offset is known (GPS, or set by hand).
    """
    diffs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for pair in pairs:
        if pair.source_a == pair.source_b:
            continue
        seconds = (pair.time_a - pair.time_b).total_seconds()
        diffs[(pair.source_a, pair.source_b)].append(seconds)
        diffs[(pair.source_b, pair.source_a)].append(-seconds)
    known = dict(anchors)
    proposals: dict[str, Proposal] = {}
    frontier = list(known)
    while frontier:
        reference = frontier.pop(0)
        for (a, b), values in sorted(diffs.items()):
            if a != reference or b in known:
                continue
            middle = statistics.median(values)
            # true = camera + offset on both sides: offset_b = offset_a + (time_a − time_b)
            offset = known[reference] + middle
            spread = max(abs(v - middle) for v in values)
            known[b] = offset
            frontier.append(b)
            proposals[b] = Proposal(
                source=b,
                offset_seconds=offset,
                current_seconds=clocks.offsets.get(b, 0.0),
                evidence=f"duplicates:{reference}",
                samples=len(values),
                spread_seconds=spread,
                confidence=_confidence(len(values), spread, 0, base=0.7),
            )
    return proposals


def _confidence(samples: int, spread: float, outliers: int, *, base: float) -> float:
    """More agreeing samples raise it; disagreement (spread, outliers) lowers it."""
    if samples == 0:
        return 0.0
    agreement = 1.0 / (1.0 + spread / 5.0)
    support = samples / (samples + 1.0)
    return base * agreement * support * (samples / (samples + outliers))


def format_offset(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    whole = round(abs(seconds))
    return f"{sign}{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def parse_offset(text: str) -> float:
    """Read "+HH:MM:SS", "-MM:SS" or "+SS" (seconds may have decimals); ValueError otherwise."""
    value = text.strip()
    if not value or value[0] not in "+-":
        raise ValueError("an offset starts with + (the clock was slow) or - (it was fast)")
    parts = value[1:].split(":")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ValueError("write the offset as +HH:MM:SS")
    numbers = [float(p) for p in parts]
    if any(n < 0 for n in numbers) or any(n >= 60 for n in numbers[1:]):
        raise ValueError("minutes and seconds must be under 60")
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return -seconds if value[0] == "-" else seconds
