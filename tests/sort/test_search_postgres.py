"""PostgreSQL's full-text search answers every query as SQLite's FTS5 does, on the same material."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, inspect
from sqlalchemy import text as sql
from tests.conftest import DATABASE_ENV, SAMPLES

from temoin.archive import Archive
from temoin.catalog.database import MIGRATIONS, make_engine
from temoin.catalog.models import SortState
from temoin.testing import postgres
from temoin.testing.chats import make_whatsapp_export, sample_messages
from temoin.testing.diaries import ENGLISH_DIARY, FRENCH_DIARY, UNDATED_DIARY
from temoin.testing.photos import make_photo

pytestmark = pytest.mark.postgres

QUERIES = [
    "bus", "buses", "Bus", "départ", "depart", "départs", "dép*", "dep*", "arrivées", "arrivees",
    "arrive", "hélicoptères", "helicopteres", "helico*", "people", "peoples", "personnes",
    "police", "polic*", "les", "the", "CRS", "crs", "40", "1051", "105*", "calais", "école",
    "ecole", "l'école", "garennes", "rue des", '"rue des Garennes"', '"rue des"', '"des rue"',
    '"bus sont alignés"', '"sont alignes"', '"left in buses"', '"left in bus"', "famille",
    "familles arrivées", "queue*", "queueing", "queue", "school", "schools", "gate", "north gate",
    "vans", "van", "battery", "IMG_0805", "IMG_0805.jpg", "img*", "jpg", "wa0003", "barrière",
    "barriere", "tag*", "démontées", "demonte*", "cabane", "thé", "the*", "xyzzy", "bus xyzzy",
    '"', "*", '"; DROP TABLE items; --', "", "œuvre", "oeuvre", "naïve", "naive", "Léa", "lea",
    "crowd", "intel*", "walking", '"walking and pause"', "astronaut", "nasa", "⑴", "㈡*",
    '"bus ⑴"', "a\\b", "l''école",
]  # fmt: skip


def _material(folder: Path) -> list[Path]:
    """A day's notes in both languages, chats with and without accents, photos by file name, and
    the shared samples where this machine has them (their file names are searchable)."""
    notes = folder / "notes"
    notes.mkdir(parents=True)
    (notes / "camille.txt").write_text(FRENCH_DIARY, encoding="utf-8")
    (notes / "tom.txt").write_text(ENGLISH_DIARY, encoding="utf-8")
    (notes / "undated.txt").write_text(UNDATED_DIARY, encoding="utf-8")
    day = datetime(2016, 10, 24)
    lines = [
        (day.replace(hour=7, minute=30), "Amina", "Départs prévus à 8h, les bus arrivent"),
        (day.replace(hour=9), "Léa", "Deux départs de plus, familles arrivées"),
        (day.replace(hour=9, minute=5), "Jonas", "departs delayed, buses stuck at the gate"),
        (day.replace(hour=10), "Amina", "une œuvre naïve peinte sur la barrière"),
        (day.replace(hour=11), "Sam", "Still queueing for the bus; l'école est fermée"),
        (day.replace(hour=12), "Jonas", "Bus ⑴ plein, bus ㈡ parti"),
    ]
    chats = [
        make_whatsapp_export(folder / "wa-fr", messages=lines, language="fr"),
        make_whatsapp_export(folder / "wa-en", messages=sample_messages()),
    ]
    photos = folder / "photos"
    make_photo(photos / "IMG_0805.jpg", taken=day.replace(hour=8, minute=5))
    make_photo(photos / "IMG_20161024_091500.jpg", seed=2, taken=day.replace(hour=9, minute=15))
    found = [p for p in sorted(SAMPLES.glob("*")) if p.suffix in {".jpg", ".png", ".mp4"}]
    if found:
        shared = folder / "shared"
        shared.mkdir()
        for path in found[:4]:
            shutil.copy(path, shared / path.name)
        return [notes, *chats, photos, shared]
    return [notes, *chats, photos]


def _fill(archive: Archive, material: list[Path]) -> None:
    archive.ingest(material, source="the day")
    archive.search("warm")  # built: what follows is indexed in place (add_doc), not rebuilt
    photo = next(i for i in archive.list_items(kind="photo") if i["name"] == "IMG_0805.jpg")
    archive.tag(photo["id"], ["barrière", "Police"])
    archive.caption(photo["id"], "Les départs vers Arras, buses at the school")


def _answers(archive: Archive) -> dict[str, list[tuple[str, str, str]]]:
    return {
        q: [(r["id"], r["field"], r["text"]) for r in archive.search(q)["results"]] for q in QUERIES
    }


@pytest.fixture
def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Archive, Archive]]:
    """The same material in an archive on SQLite and in one on PostgreSQL."""
    material = _material(tmp_path / "material")
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    on_sqlite = Archive.create(tmp_path / "sqlite", timezone="Europe/Paris")
    url = postgres.create_database()
    monkeypatch.setenv(DATABASE_ENV, url)
    on_postgres = Archive.create(tmp_path / "postgresql", timezone="Europe/Paris")
    try:
        assert on_sqlite.engine.dialect.name == "sqlite" and on_postgres.ctx.is_postgres
        for archive in (on_sqlite, on_postgres):
            _fill(archive, material)
        yield on_sqlite, on_postgres
    finally:
        on_sqlite.close()
        on_postgres.close()
        postgres.drop_database(url)


def test_postgresql_finds_what_sqlite_finds(both: tuple[Archive, Archive]) -> None:
    on_sqlite, on_postgres = both
    expected = _answers(on_sqlite)
    assert sum(1 for found in expected.values() if found) > len(QUERIES) * 2 // 3
    assert _answers(on_postgres) == expected


def test_after_a_rebuild_too(both: tuple[Archive, Archive]) -> None:
    """The rebuild writes every document in bulk (another path than a tag's or caption's)."""
    on_sqlite, on_postgres = both
    for archive in both:
        with archive.session() as session:  # the sort tables are stale: the next search rebuilds
            session.execute(delete(SortState))
            session.commit()
    expected = _answers(on_sqlite)
    assert expected["barriere"] and expected['"rue des Garennes"']
    assert _answers(on_postgres) == expected


def test_an_archive_made_before_0012_is_searched_once_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0012 computes the vectors of the documents already there, before any rebuild
    (another process may hold the write lock, so the sort tables cannot be built again yet)."""
    url = postgres.create_database()
    monkeypatch.setenv(DATABASE_ENV, url)
    try:
        archive = Archive.create(tmp_path / "archive", timezone="Europe/Paris")
        _fill(archive, _material(tmp_path / "material"))
        before = _answers(archive)
        archive.close()
        engine = make_engine(url)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = engine
        command.downgrade(config, "0011")
        with engine.connect() as connection:
            columns = inspect(connection).get_columns("search_docs")
            assert "tsv" not in [c["name"] for c in columns]
        engine.dispose()
        reopened = Archive.open(tmp_path / "archive")  # migrates
        try:
            with reopened.session() as session:
                empty = session.execute(sql("SELECT count(*) FROM search_docs WHERE tsv IS NULL"))
                assert empty.scalar() == 0
            assert _answers(reopened) == before
            assert before["barriere"] and before["dép*"]
        finally:
            reopened.close()
    finally:
        postgres.drop_database(url)
