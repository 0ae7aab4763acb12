"""The published story says when an entry's day is only its note's file time."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from tests.publish.conftest import SLUG, ids
from tests.publish.test_site import build

from temoin.archive import Archive
from temoin.testing.diaries import UNDATED_DIARY


def test_an_uncertain_day_is_said_on_the_site(day_archive: Archive, tmp_path: Path) -> None:
    note = tmp_path / "lea" / "notes.txt"
    note.parent.mkdir()
    note.write_text(UNDATED_DIARY, encoding="utf-8")
    copied = datetime(2016, 10, 24, 4, 0, tzinfo=UTC).timestamp()  # its only clock
    os.utime(note, (copied, copied))
    day_archive.ingest([note.parent], source="Léa")
    day_archive.approve(ids(day_archive)["notes.txt"])

    build(day_archive, tmp_path / "site")
    story = (tmp_path / "site" / "stories" / SLUG / "index.html").read_text(encoding="utf-8")
    assert "premières cabanes" in story and "food distribution, long queue" in story
    assert story.count('<span class="uncertain">day uncertain</span>') == 4  # the note's four

    with open(day_archive.root / "temoin.toml", "a", encoding="utf-8") as config:
        config.write('language = "fr"\n')
    build(day_archive, tmp_path / "site-fr")
    french = (tmp_path / "site-fr" / "stories" / SLUG / "index.html").read_text(encoding="utf-8")
    assert french.count('<span class="uncertain">jour incertain</span>') == 4

    day_archive.set_note_day(ids(day_archive)["notes.txt"], date(2016, 10, 24))
    build(day_archive, tmp_path / "site-fr")
    french = (tmp_path / "site-fr" / "stories" / SLUG / "index.html").read_text(encoding="utf-8")
    assert "incertain" not in french and "premières cabanes" in french
