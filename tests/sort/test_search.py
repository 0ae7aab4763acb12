"""Search over notes, messages, captions, tags and file names, answered in timeline order."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from tests.conftest import SQLITE_ONLY

from temoin.archive import Archive
from temoin.catalog.database import MIGRATIONS, make_engine
from temoin.collect.entryfile import EntryFields, format_entry
from temoin.context import CATALOG
from temoin.testing.chats import make_whatsapp_export
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY
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


# -- words as Snowball stems them (French and English) ------------------------------------------


def _two_languages(tmp_path: Path, archive: Archive) -> None:
    for name, diary, source in (("fr", FRENCH_DIARY, "Camille"), ("en", ENGLISH_DIARY, "Sam")):
        folder = tmp_path / f"notes-{name}"
        folder.mkdir()
        (folder / "notes.txt").write_text(diary, encoding="utf-8")
        archive.ingest([folder], source=source)
    messages = [
        (datetime(2016, 10, 24, 6, 50), "Amina", "Départs prévus à 8h, les bus arrivent"),
        (datetime(2016, 10, 24, 9, 40), "Jonas", "The people's kitchen is closed today"),
        (datetime(2016, 10, 24, 10, 5), "Jonas", "Business as usual at the gate"),
        (datetime(2016, 10, 24, 12, 10), "Amina", "Deux départs de plus, familles arrivées"),
        (datetime(2016, 10, 24, 13, 30), "Jonas", "Trois cabanes brûlées près du pont"),
        (datetime(2016, 10, 24, 15, 0), "Amina", "encore des tentes brulees"),  # typed bare
    ]
    archive.ingest([make_whatsapp_export(tmp_path / "wa", messages=messages)], source="Amina")


def _texts(archive: Archive, query: str) -> list[str]:
    return [r["text"] for r in archive.search(query, limit=0)["results"]]


def test_bus_finds_buses_in_either_language_in_timeline_order(
    tmp_path: Path, archive: Archive
) -> None:
    _two_languages(tmp_path, archive)
    results = archive.search("bus")["results"]
    assert sorted(r["text"] for r in results) == sorted(
        [
            "Amina: Départs prévus à 8h, les bus arrivent",
            "les CRS sont en place devant le hangar, 40 bus sont alignés rue des Garennes.",
            "1051 personnes sont parties en bus depuis ce matin.",
            "1051 people left in buses",
        ]
    )
    times = [r["time_utc"] for r in results]
    assert times == sorted(times)
    # the other way round too, and a longer word that merely starts alike is not the same word
    assert sorted(_texts(archive, "buses")) == sorted(r["text"] for r in results)
    assert "Jonas: Business as usual at the gate" not in _texts(archive, "bus")
    assert "Jonas: Business as usual at the gate" in _texts(archive, "bus*")


def test_depart_finds_departs_and_people_finds_peoples(tmp_path: Path, archive: Archive) -> None:
    _two_languages(tmp_path, archive)
    departs = [
        "Amina: Départs prévus à 8h, les bus arrivent",
        "Amina: Deux départs de plus, familles arrivées",
    ]
    assert _texts(archive, "départ") == departs
    assert _texts(archive, "DEPART") == departs  # accents and case never matter
    assert _texts(archive, "départs") == departs
    assert _texts(archive, "dépar*") == departs
    assert _texts(archive, "dep*") == [  # a prefix ignores accents too: "depuis"
        departs[0],
        "hélicoptères au-dessus du camp, on les entend depuis la route.",
        departs[1],
        "1051 personnes sont parties en bus depuis ce matin.",
    ]
    assert _texts(archive, "dep") == []  # without *, a word is a whole word
    people = _texts(archive, "people")
    assert "Jonas: The people's kitchen is closed today" in people
    assert "1051 people left in buses" in people
    assert _texts(archive, "arrivees familles") == [departs[1]]
    assert _texts(archive, "arrivée") == departs  # French Snowball: "arrivent" is that verb too
    burnt = ["Jonas: Trois cabanes brûlées près du pont", "Amina: encore des tentes brulees"]
    assert _texts(archive, "brûlées") == burnt
    assert _texts(archive, "brulees") == burnt


def test_quoted_words_are_a_phrase_as_written(tmp_path: Path, archive: Archive) -> None:
    _two_languages(tmp_path, archive)
    assert _texts(archive, '"people left"') == ["1051 people left in buses"]
    assert _texts(archive, '"left people"') == []
    assert _texts(archive, '"buses"') == ["1051 people left in buses"]
    assert _texts(archive, '"deux departs" familles') == [
        "Amina: Deux départs de plus, familles arrivées"
    ]


def _entry(folder: Path, text: str) -> Path:
    folder.mkdir()
    path = folder / "entry-20161024-15h00.txt"
    fields = EntryFields("note", date(2016, 10, 24), time(15, 0))
    path.write_text(format_entry(fields, text), encoding="utf-8")
    return path


def test_an_edited_entry_is_found_by_its_new_text_only(tmp_path: Path, archive: Archive) -> None:
    _two_languages(tmp_path, archive)
    old = archive.ingest([_entry(tmp_path / "v1", "Les cars repartent vers Arras")], source="C")
    [old_id] = old.stored_ids
    assert [r["id"] for r in archive.search("repartir arras")["results"]] == [old_id]
    new = archive.ingest([_entry(tmp_path / "v2", "Les bus repartent vers Lille")], source="C")
    [new_id] = new.stored_ids
    archive.change_entry(old_id, new_id)
    assert archive.search("arras")["results"] == []
    assert [r["id"] for r in archive.search("lille")["results"]] == [new_id]
    assert new_id in [r["id"] for r in archive.search("bus")["results"]]
    archive.change_entry(new_id, None)
    assert archive.search("lille")["results"] == []
    assert new_id not in [r["id"] for r in archive.search("bus")["results"]]


def test_tags_and_captions_are_stemmed_when_written(tmp_path: Path, archive: Archive) -> None:
    _two_languages(tmp_path, archive)
    make_photo(tmp_path / "p/IMG_20161024_091500.jpg", taken=datetime(2016, 10, 24, 9, 15))
    archive.ingest([tmp_path / "p"], source="Jules")
    [photo] = archive.list_items(kind="photo")
    archive.search("warm")  # the sort tables are fresh: tags and captions index in place
    archive.tag(photo["id"], ["buses"])
    archive.caption(photo["id"], "Les départs vers Arras")
    assert (photo["id"], "tag") in [(r["id"], r["field"]) for r in archive.search("bus")["results"]]
    assert [r["field"] for r in archive.search("depart arras")["results"]] == ["caption"]
    archive.caption(photo["id"], "Police line at the school")
    assert archive.search("depart arras")["results"] == []
    assert [r["field"] for r in archive.search("lines schools")["results"]] == ["caption"]
    police = archive.search("police")["results"]  # written in place, ordered with the rest
    assert [r["field"] for r in police] == ["entry", "caption", "entry"]
    assert [r["time_utc"] for r in police] == sorted(r["time_utc"] for r in police)
    with archive.session() as session:  # the index agrees with the documents it was told of
        if archive.ctx.is_postgres:
            assert (
                session.execute(text("SELECT count(*) FROM search_docs WHERE tsv IS NULL")).scalar()
                == 0
            )
        else:
            session.execute(
                text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")
            )


# -- an archive made before stems ----------------------------------------------------------------


def _downgrade(root: Path, revision: str) -> None:
    engine = make_engine(f"sqlite:///{root / CATALOG}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    command.downgrade(config, revision)
    engine.dispose()


@SQLITE_ONLY  # SQLite's FTS5 index before and after migration 0011
def test_an_archive_made_before_stems_finds_words_once_opened(
    tmp_path: Path, archive: Archive
) -> None:
    _two_languages(tmp_path, archive)
    before = _texts(archive, "bus")
    root = archive.root
    archive.close()
    _downgrade(root, "0011-1")  # the schema as it was before stems
    with sqlite3.connect(root / CATALOG) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(search_docs)")]
        assert "stems" not in columns
        found = raw.execute(
            "SELECT d.body FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH 'bus'"
        ).fetchall()
        assert "1051 people left in buses" not in [body for (body,) in found]
    raw.close()
    reopened = Archive.open(root)  # migrates
    try:
        with sqlite3.connect(root / CATALOG) as raw:  # filled by the migration, before any search
            assert raw.execute("SELECT count(*) FROM search_docs WHERE stems = ''").fetchone() == (
                0,
            )
            raw.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")
        raw.close()
        assert [r["text"] for r in reopened.search("bus", limit=0)["results"]] == before
        assert "1051 people left in buses" in before
        assert [r["text"] for r in reopened.search("départ")["results"]] == [
            "Amina: Départs prévus à 8h, les bus arrivent",
            "Amina: Deux départs de plus, familles arrivées",
        ]
    finally:
        reopened.close()
