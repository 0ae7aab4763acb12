"""Search over notes, messages, captions, tags and file names, answered in timeline order."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from temoin.archive import Archive
from temoin.testing.chats import make_whatsapp_export
from temoin.testing.diaries import FRENCH_DIARY
from temoin.testing.photos import make_photo


def _day(tmp_path: Path, archive: Archive) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text(FRENCH_DIARY, encoding="utf-8")
    archive.ingest([notes], source="Camille")
    messages = [
        (datetime(2016, 10, 24, 7, 30), "Amina", "First bus at the bridge"),
        (datetime(2016, 10, 24, 11, 0), "Jonas", "Still queueing for the bus"),
    ]
    archive.ingest([make_whatsapp_export(tmp_path / "wa", messages=messages)], source="Amina")
    make_photo(tmp_path / "p/IMG_20161024_091500.jpg", taken=datetime(2016, 10, 24, 9, 15))
    archive.ingest([tmp_path / "p"], source="Jules")


def test_bus_is_found_in_the_diary_and_the_chat_in_timeline_order(
    tmp_path: Path, archive: Archive
) -> None:
    _day(tmp_path, archive)
    results = archive.search("bus")["results"]
    texts = [(r["field"], r["text"]) for r in results]
    assert texts == [
        ("message", "Amina: First bus at the bridge"),
        ("entry", "les CRS sont en place devant le hangar, 40 bus sont alignés rue des Garennes."),
        ("message", "Jonas: Still queueing for the bus"),
        ("entry", "1051 personnes sont parties en bus depuis ce matin."),
    ]
    times = [r["time_utc"] for r in results]
    assert times == sorted(times)


def test_accents_prefixes_and_every_word(tmp_path: Path, archive: Archive) -> None:
    _day(tmp_path, archive)
    assert [r["field"] for r in archive.search("helicopteres")["results"]] == ["entry"]
    assert len(archive.search("queue*")["results"]) == 1
    assert archive.search("bus bridge")["results"][0]["text"].startswith("Amina: First bus")
    assert archive.search('"; DROP TABLE items; --')["results"] == []
    assert archive.search("")["results"] == []


def test_tags_captions_and_file_names_are_searchable_and_logged(
    tmp_path: Path, archive: Archive
) -> None:
    _day(tmp_path, archive)
    [photo] = archive.list_items(kind="photo")
    archive.tag(photo["id"][:8], ["police", "Barrier"])
    archive.caption(photo["id"][:8], "The queue at the bridge")
    assert [r["field"] for r in archive.search("barrier")["results"]] == ["tag"]
    assert [r["field"] for r in archive.search("queue bridge")["results"]] == ["caption"]
    assert [r["field"] for r in archive.search("IMG_20161024_091500")["results"]] == ["name"]
    archive.caption(photo["id"], "Police line at the school")
    assert archive.search("queue bridge")["results"] == []
    assert [r["id"] for r in archive.search("school")["results"]] == [photo["id"]]
    actions = [(e["action"], e["item"]) for e in archive.custody_log()]
    assert ("tagged", photo["id"]) in actions
    assert actions.count(("captioned", photo["id"])) == 2
    described = archive.describe(photo["id"][:10])
    assert [e["action"] for e in described["custody"]][-3:] == ["tagged", "captioned", "captioned"]
    assert archive.verify().ok


def test_new_material_is_indexed_on_the_next_search(tmp_path: Path, archive: Archive) -> None:
    _day(tmp_path, archive)
    assert archive.search("bulldozer")["results"] == []
    later = [(datetime(2016, 10, 24, 16, 0), "Amina", "A bulldozer at the school")]
    archive.ingest([make_whatsapp_export(tmp_path / "wa2", messages=later, title="B")], source="B")
    assert len(archive.search("bulldozer")["results"]) == 1
