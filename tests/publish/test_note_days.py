"""The published story says when an entry's day is only its note's file time."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tests.conftest import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS
from tests.publish.conftest import SLUG, ids
from tests.publish.test_site import build

from temoin.archive import Archive
from temoin.testing.diaries import UNDATED_DIARY


def _undated_note(archive: Archive, folder: Path) -> None:
    note = folder / "notes.txt"
    folder.mkdir()
    note.write_text(UNDATED_DIARY, encoding="utf-8")
    copied = datetime(2016, 10, 24, 4, 0, tzinfo=UTC).timestamp()  # its only clock
    os.utime(note, (copied, copied))
    archive.ingest([folder], source="Léa")
    archive.approve(ids(archive)["notes.txt"])


def test_an_uncertain_day_is_said_on_the_site(day_archive: Archive, tmp_path: Path) -> None:
    _undated_note(day_archive, tmp_path / "lea")
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


@pytest.mark.browser
@BROWSER_MARKS[1]
def test_the_uncertain_day_shows_beside_its_time(day_archive: Archive, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    _undated_note(day_archive, tmp_path / "lea")
    build(day_archive, tmp_path / "site")
    story = tmp_path / "site" / "stories" / SLUG / "index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(story.as_uri(), wait_until="load")
        row = page.locator("li.row.entry", has_text="premières cabanes")
        assert row.locator("time").inner_text().startswith("vers 16h")
        doubt = row.locator(".uncertain")
        assert doubt.is_visible() and doubt.inner_text() == "day uncertain"
        # the English diary dates itself: none of its rows is uncertain
        written = page.locator("li.row.entry", has_text="riot police block the road")
        assert written.locator(".uncertain").count() == 0
        browser.close()
