"""One field day, made once per test session and copied for each test that changes it.

It holds what a volunteer brings back: a photo with a face (covered by redaction), two more photos
(one withheld by the reviewer), a short video whose sound the reviewer listened to (no voice in
it), a voice note nobody accounted for (so the gate refuses it) and the English diary with its
closing letter to supporters. Everything but the voice note and the withheld photo is approved,
and the story "Calais, 24 October 2016" covers the day.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.conftest import copy_archive, template_catalog

from temoin.archive import Archive
from temoin.testing.diaries import ENGLISH_DIARY
from temoin.testing.media import make_audio, make_video
from temoin.testing.photos import astronaut, make_photo

SLUG = "calais-24-october-2016"
SETTINGS = """\
donation_url = "https://pot.example.org/calais"
support_email = "contact@support.example.org"
support_text = "We are volunteers documenting evictions in Calais."
site_title = "Calais witnesses"
"""


@pytest.fixture(scope="session")
def field_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("field-day")
    material = base / "material"
    day = datetime(2016, 10, 24)
    make_photo(
        material / "IMG_0805.jpg",
        image=astronaut(),
        taken=day.replace(hour=8, minute=5),
        offset="+02:00",
        gps=(50.9665, 1.8867),
    )
    make_photo(
        material / "IMG_1431.jpg",
        size=(1400, 1050),
        seed=3,
        taken=day.replace(hour=14, minute=31),
        offset="+02:00",
    )
    make_photo(
        material / "IMG_0930.jpg",
        size=(800, 600),
        seed=7,
        taken=day.replace(hour=9, minute=30),
        offset="+02:00",
    )
    make_video(
        material / "VID_1000.mp4",
        seconds=1.5,
        size=(320, 180),
        creation_time=datetime(2016, 10, 24, 8, 0, tzinfo=UTC),
    )
    make_audio(material / "voice-note.opus", seconds=1)
    stamp = datetime(2016, 10, 24, 9, 0, tzinfo=UTC).timestamp()  # its only clock: the file time
    os.utime(material / "voice-note.opus", (stamp, stamp))
    (material / "diary.txt").write_text(ENGLISH_DIARY, encoding="utf-8")
    with template_catalog(base / "archive"):
        archive = Archive.create(base / "archive", name="Calais 2016", timezone="Europe/Paris")
        with open(archive.root / "temoin.toml", "a", encoding="utf-8") as handle:
            handle.write(SETTINGS)
        archive.close()
        archive = Archive.open(base / "archive")
        try:
            archive.ingest([material], source="Amina's phone")
            archive.redact()
            by_name = {i["name"]: i["id"] for i in archive.list_items()}
            archive.set_voices_checked(by_name["VID_1000.mp4"], True)
            for name in ("IMG_0805.jpg", "IMG_1431.jpg", "VID_1000.mp4", "diary.txt"):
                archive.approve(by_name[name])
            archive.withhold(by_name["IMG_0930.jpg"], "shows a child")
            archive.caption(by_name["IMG_1431.jpg"], "Buses lined up on the rue des Garennes")
            archive.new_story("Calais, 24 October 2016", "2016-10-24T06:00", "2016-10-24T23:59")
        finally:
            archive.close()
    return base / "archive"


@pytest.fixture
def day_archive(field_day: Path, tmp_path: Path) -> Iterator[Archive]:
    """A private copy of the field day's archive, for a test that publishes or changes it."""
    target = tmp_path / "archive"
    copy_archive(field_day, target)
    archive = Archive.open(target)
    yield archive
    archive.close()


def ids(archive: Archive) -> dict[str, str]:
    return {i["name"]: i["id"] for i in archive.list_items()}
