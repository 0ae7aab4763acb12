"""The web app's timeline says when a note's day is only its file's, in the reader's language."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from temoin.archive import Archive
from temoin.testing.diaries import UNDATED_DIARY


def test_an_uncertain_day_is_said_until_it_is_set(
    clients: Any, people_archive: Archive, tmp_path: Path
) -> None:
    note = tmp_path / "notes.txt"
    note.write_text(UNDATED_DIARY, encoding="utf-8")
    copied = datetime(2016, 11, 2, 10, 0, tzinfo=UTC).timestamp()
    os.utime(note, (copied, copied))
    people_archive.ingest([note], source="eve")
    eve = clients("eve")

    page = eve.get("/timeline", headers={"accept-language": "en"}).text
    assert page.count('<span class="uncertain">day uncertain</span>') == 4
    assert '<h2><time datetime="2016-11-02">Wednesday 2 November 2016</time></h2>' in page
    french = eve.get("/timeline", headers={"accept-language": "fr"}).text
    assert french.count('<span class="uncertain">jour incertain</span>') == 4

    [item] = people_archive.list_items(kind="text")
    people_archive.set_note_day(item["id"], date(2016, 10, 24))
    page = eve.get("/timeline", headers={"accept-language": "en"}).text
    assert "day uncertain" not in page
    assert '<h2><time datetime="2016-10-24">Monday 24 October 2016</time></h2>' in page
