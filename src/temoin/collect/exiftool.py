"""exiftool as a fallback reader, for the photos Pillow cannot read the metadata of.

Pillow reads the EXIF of nearly every phone photo, at a fraction of the cost of a Perl process.
What it cannot read (an EXIF block under an older maker's header, a JPEG whose frame header is
damaged, a raw file) goes to exiftool, which has read forty years of cameras. One exiftool is
kept running in ``-stay_open`` batch mode for the whole ingest and started only when the first such
photo turns up, so an ingest of ordinary photos never starts it. Worker threads share it, one
request at a time. Where exiftool is not installed the fallback is skipped and the item says so;
ingest never fails for it.
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any

from exiftool import ExifTool
from exiftool.exceptions import ExifToolException

from temoin.collect.readers.stated import Stated, parse

EXECUTABLE = "exiftool"
MISSING_NOTE = "exiftool is not installed: metadata Pillow cannot parse was not read"
# Only what the readers use is asked for: exiftool answers a short list several times faster.
TAGS = (
    "-EXIF:DateTimeOriginal",
    "-EXIF:SubSecTimeOriginal",
    "-EXIF:OffsetTimeOriginal",
    "-EXIF:CreateDate",
    "-EXIF:SubSecTimeDigitized",
    "-EXIF:OffsetTimeDigitized",
    "-EXIF:ModifyDate",
    "-EXIF:OffsetTime",
    "-XMP:DateTimeOriginal",
    "-XMP:CreateDate",
    "-XMP:DateCreated",
    "-QuickTime:CreationDate",
    "-QuickTime:CreateDate",
    "-Composite:GPSDateTime",
    "-Composite:GPSLatitude",
    "-Composite:GPSLongitude",
    "-Composite:GPSAltitude",
    "-EXIF:Orientation",
    "-EXIF:Make",
    "-EXIF:Model",
    "-EXIF:Software",
    "-EXIF:SerialNumber",
    "-File:FileType",
    "-File:ImageWidth",
    "-File:ImageHeight",
    "-EXIF:ImageWidth",
    "-EXIF:ImageHeight",
    "-EXIF:ExifImageWidth",
    "-EXIF:ExifImageHeight",
)


class ExifToolBatch:
    """One exiftool process, started on first use and stopped by ``close``.

    The process is started and spoken to from one thread of its own, kept until ``close``:
    PyExifTool asks Linux to stop exiftool when the *thread* that started it ends, and an ingest
    worker thread ends before the ingest does. Requests from the workers queue on that thread.
    """

    def __init__(self, executable: str = EXECUTABLE) -> None:
        self.executable = executable
        self.missing = False  # set once exiftool was looked for and not found
        self.started = 0  # how many processes this batch started (0 or 1)
        self._tool: ExifTool | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def read(self, path: Path) -> dict[str, Any] | None:
        """exiftool's tags for one file (``-G -n``), or None when it is missing or reads nothing."""
        if self.missing:
            return None
        with self._lock:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="exiftool")
            answer = self._thread.submit(self._read, path)
        return answer.result()

    def _read(self, path: Path) -> dict[str, Any] | None:
        tool = self._start()
        if tool is None:
            return None
        try:
            rows = tool.execute_json(*TAGS, str(path))
        except (ExifToolException, ValueError, OSError):
            return None
        return rows[0] if rows and isinstance(rows[0], dict) else None

    def _start(self) -> ExifTool | None:
        if self._tool is not None and self._tool.running:
            return self._tool
        if self.missing or shutil.which(self.executable) is None:
            self.missing = True
            return None
        tool = ExifTool(executable=self.executable, common_args=["-G", "-n"])
        tool.run()
        self._tool, self.started = tool, self.started + 1
        return tool

    def _stop(self) -> None:
        if self._tool is not None and self._tool.running:
            self._tool.terminate()
        self._tool = None

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.submit(self._stop).result()
            thread.shutdown()

    def __enter__(self) -> ExifToolBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stated_times(tags: dict[str, Any]) -> dict[str, Stated | None]:
    """The capture times exiftool found, under the names ``temoin.collect.readers.stated`` orders."""
    quicktime_utc = parse(tags.get("QuickTime:CreateDate"))
    if quicktime_utc is not None and quicktime_utc.moment.tzinfo is None:
        # QuickTime's CreateDate is UTC by the format's definition; exiftool prints it bare
        quicktime_utc = Stated(quicktime_utc.moment.replace(tzinfo=UTC))
    return {
        "exif:DateTimeOriginal": parse(
            tags.get("EXIF:DateTimeOriginal"),
            tags.get("EXIF:SubSecTimeOriginal"),
            tags.get("EXIF:OffsetTimeOriginal"),
        ),
        "exif:DateTimeDigitized": parse(
            tags.get("EXIF:CreateDate"),
            tags.get("EXIF:SubSecTimeDigitized"),
            tags.get("EXIF:OffsetTimeDigitized"),
        ),
        "xmp:DateTimeOriginal": parse(tags.get("XMP:DateTimeOriginal")),
        "xmp:CreateDate": parse(tags.get("XMP:CreateDate")),
        "xmp:DateCreated": parse(tags.get("XMP:DateCreated")),
        "gps:GPSDateTime": parse(tags.get("Composite:GPSDateTime")),
        "quicktime:CreationDate": parse(tags.get("QuickTime:CreationDate")),
        "quicktime:CreateDate": quicktime_utc,
        "exif:DateTime": parse(tags.get("EXIF:ModifyDate"), None, tags.get("EXIF:OffsetTime")),
    }


def place(tags: dict[str, Any]) -> dict[str, Any] | None:
    """The GPS position as the Pillow path records it (signed degrees, metres, UTC time)."""
    lat, lon = _float(tags.get("Composite:GPSLatitude")), _float(tags.get("Composite:GPSLongitude"))
    if lat is None or lon is None:
        return None
    found: dict[str, Any] = {"lat": round(lat, 7), "lon": round(lon, 7)}
    alt = _float(tags.get("Composite:GPSAltitude"))
    if alt is not None:
        found["alt"] = alt
    when = parse(tags.get("Composite:GPSDateTime"))
    if when is not None and when.moment.tzinfo is not None:
        found["time_utc"] = when.moment.isoformat()
    return found


def describe(tags: dict[str, Any]) -> dict[str, Any]:
    """Size, device and orientation, under the keys the photo reader uses."""
    meta: dict[str, Any] = {}
    for key, names in (
        ("width", ("File:ImageWidth", "EXIF:ExifImageWidth", "EXIF:ImageWidth")),
        ("height", ("File:ImageHeight", "EXIF:ExifImageHeight", "EXIF:ImageHeight")),
    ):
        value = next((tags[n] for n in names if isinstance(tags.get(n), int)), None)
        if value:
            meta[key] = value
    for key, name in (
        ("make", "EXIF:Make"),
        ("model", "EXIF:Model"),
        ("software", "EXIF:Software"),
        ("serial", "EXIF:SerialNumber"),
    ):
        if tags.get(name) not in (None, ""):
            meta[key] = str(tags[name]).strip()
    orientation = tags.get("EXIF:Orientation")
    meta["orientation"] = orientation if isinstance(orientation, int) and orientation else 1
    return meta


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
