"""File-name clocks: each app's naming scheme, and names that only look like timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from temoin.sort.filenames import NameTime, day_from_filename, time_from_filename

LOCAL = datetime(2016, 10, 24, 7, 2, 12)
DAY = datetime(2016, 10, 24)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_20161024_070212.jpg", NameTime(LOCAL, "android-camera")),
        ("VID_20161024_070212.mp4", NameTime(LOCAL, "android-camera")),
        ("IMG_20161024_070212_1.jpg", NameTime(LOCAL, "android-camera")),
        ("IMG-20161024-WA0003.jpg", NameTime(DAY, "whatsapp-android", date_only=True)),
        ("VID-20161024-WA0003.mp4", NameTime(DAY, "whatsapp-android", date_only=True)),
        ("PTT-20161024-WA0001.opus", NameTime(DAY, "whatsapp-android", date_only=True)),
        ("AUD-20161024-WA0001", NameTime(DAY, "whatsapp-android", date_only=True)),
        (
            "PXL_20161024_070212345.jpg",
            NameTime(datetime(2016, 10, 24, 7, 2, 12, 345000, tzinfo=UTC), "pixel", utc=True),
        ),
        ("Screenshot_20161024-070212.png", NameTime(LOCAL, "android-screenshot")),
        ("Screenshot_2016-10-24-07-02-12.png", NameTime(LOCAL, "android-screenshot-dashed")),
        ("Screenshot 2016-10-24 at 07.02.12.png", NameTime(LOCAL, "macos-screenshot")),
        (
            "Screen Shot 2016-10-24 at 7.02.12 PM.png",
            NameTime(datetime(2016, 10, 24, 19, 2, 12), "macos-screenshot"),
        ),
        ("signal-2016-10-24-070212.jpg", NameTime(LOCAL, "signal")),
        (
            "signal-2016-10-24-07-02-12-123.jpg",
            NameTime(datetime(2016, 10, 24, 7, 2, 12, 123000), "signal-dashed"),
        ),
        ("20161024_070212.jpg", NameTime(LOCAL, "samsung")),
        ("photo_1@24-10-2016_07-02-12.jpg", NameTime(LOCAL, "telegram")),
        ("00000012-PHOTO-2016-10-24-07-02-12.jpg", NameTime(LOCAL, "whatsapp-ios")),
        ("WhatsApp Image 2016-10-24 at 07.02.12.jpeg", NameTime(LOCAL, "whatsapp-desktop")),
        ("WhatsApp Video 2016-10-24 at 07.02.12 (1).mp4", NameTime(LOCAL, "whatsapp-desktop")),
        ("day1/phone/IMG_20161024_070212.jpg", NameTime(LOCAL, "android-camera")),
        ("day1\\phone\\IMG_20161024_070212.jpg", NameTime(LOCAL, "android-camera")),
    ],
)
def test_known_patterns(name: str, expected: NameTime) -> None:
    assert time_from_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "IMG_20161324_070212.jpg",  # month 13
        "IMG_20160230_070212.jpg",  # 30 February
        "IMG_20161024_250212.jpg",  # hour 25
        "IMG-20161332-WA0003.jpg",
        "photo_1@32-10-2016_07-02-12.jpg",
        "Screen Shot 2016-10-24 at 13.02.12 PM.png",
        "IMG_1234.JPG",
        "DSC01234.JPG",
        "IMG_201610240702120.jpg",  # runs into more digits
        "2016-10-24 notes.txt",
        "",
    ],
)
def test_rejects(name: str) -> None:
    assert time_from_filename(name) is None


def test_only_pixel_is_utc() -> None:
    pixel = time_from_filename("PXL_20161024_070212345.jpg")
    camera = time_from_filename("IMG_20161024_070212.jpg")
    assert pixel is not None and pixel.time.tzinfo is UTC
    assert camera is not None and camera.time.tzinfo is None


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("notes 24-10-2016.txt", date(2016, 10, 24)),
        ("journal_20161024.md", date(2016, 10, 24)),
        ("24 octobre 2016.txt", date(2016, 10, 24)),
        ("lundi_24_octobre_2016.txt", date(2016, 10, 24)),
        ("carnet/2016-10-24.txt", date(2016, 10, 24)),
        ("PTT-20161024-WA0003.txt", date(2016, 10, 24)),  # a phone's pattern first
        ("notes.txt", None),
        ("notes 2016.txt", None),
        ("notes 24-10.txt", None),
        ("camp-1051.txt", None),
    ],
)
def test_day_from_filename(name: str, day: date | None) -> None:
    assert day_from_filename(name) == day
