"""A chat's messages written on SQLite's fast path read back as the portable Core insert stores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from temoin.archive import Archive
from temoin.catalog.models import CustodyEvent, Item
from temoin.collect import messages
from temoin.testing.chats import make_telegram_export, make_whatsapp_export

_HOSTILE = 'quote " back\\slash \t tab \x01 control, é ñ 漢字 🚌 \u2028 line sep, <b>&amp;</b>'


def _exports(folder: Path) -> list[Path]:
    day = datetime(2016, 3, 27, 1, 58)  # Paris springs forward at 02:00: a minute that never was
    android = make_whatsapp_export(
        folder / "WhatsApp Chat with Calais.txt",
        messages=[
            (day, None, "Messages and calls are end-to-end encrypted."),
            (day, "Amina", "Police at the north gate, 6 vans"),
            (day + timedelta(minutes=3), "Jonas", f"Two lines\n{_HOSTILE}"),
            (day + timedelta(minutes=3), "Léa 🚌", "", "IMG-20160327-WA0003.jpg"),
            (day + timedelta(hours=5), "Amina", "<Media omitted>"),
        ],
    )
    ios = make_whatsapp_export(
        folder / "ios",
        style="ios",
        title="Calais",
        twelve_hour=True,
        messages=[
            (
                datetime(2016, 10, 30, 2, 30, 5),
                "Léa",
                "the clocks went back: this time happens twice",
            ),
            (
                datetime(2016, 10, 30, 14, 1, 59),
                "Léa",
                "",
                "00000012-PHOTO-2016-10-30-14-01-59.jpg",
            ),
        ],
    )
    sent = datetime(2016, 10, 24, 5, 30, tzinfo=UTC)
    telegram = make_telegram_export(
        folder / "tg",
        messages=[(sent, "Amina", _HOSTILE), (sent + timedelta(seconds=1), None, "joined")],
    )
    return [android, ios, telegram.parent]


def _read_back(archive: Archive) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
    """Every message through the ORM, the raw stored values with their SQLite types, and the
    ingest events' message digests."""
    with archive.session() as session:
        items = session.scalars(
            select(Item).where(Item.kind.in_(("message", "system"))).order_by(Item.id)
        )
        orm = [
            tuple(getattr(item, column.key) for column in Item.__table__.columns) for item in items
        ]
        names = ", ".join(
            f"typeof({c}), {c}" if c != "created_at" else f"typeof({c}), length({c})"
            for c in messages._COLUMNS
        )
        raw = [
            tuple(row)
            for row in session.execute(
                text(f"SELECT {names} FROM items WHERE kind IN ('message', 'system') ORDER BY id")
            )
        ]
        events = session.scalars(
            select(CustodyEvent.detail).where(CustodyEvent.action == "ingested")
        )
        digests = sorted(d for d in events if "messages_sha256" in d)
    return orm, raw, digests


def _created_at_free(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    index = [c.key for c in Item.__table__.columns].index("created_at")
    return [row[:index] + row[index + 1 :] for row in rows]


def test_fast_path_stores_what_the_core_insert_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = _exports(tmp_path / "exports")
    found = {}
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(messages, "_fast", lambda connection: False)
        archive = Archive.create(tmp_path / f"archive-{fast}", timezone="Europe/Paris")
        try:
            report = archive.ingest(exports, source="phone")
            assert not report.rejected and report.messages == 9
            found[fast] = _read_back(archive)
        finally:
            archive.close()
    (orm, raw, digests), (core_orm, core_raw, core_digests) = found[True], found[False]
    assert len(orm) == 9
    assert _created_at_free(orm) == _created_at_free(core_orm)  # each archive ingests at its time
    assert raw == core_raw  # the same text, integers and NULLs, byte for byte
    assert [json_digest(d) for d in digests] == [json_digest(d) for d in core_digests]
    columns = [c.key for c in Item.__table__.columns]
    created, utc, meta = (columns.index(c) for c in ("created_at", "time_utc", "meta"))
    assert all(isinstance(row[created], datetime) and row[created].tzinfo is None for row in orm)
    assert all(isinstance(row[utc], datetime) for row in orm)
    attached = "IMG-20160327-WA0003.jpg"
    placeholder = f"{attached} (file attached)"
    assert {"line": 5, "attachment": attached, "placeholder": placeholder} in [
        row[meta] for row in orm
    ]
    kinds = [c.key for c in Item.__table__.columns].index("kind")
    assert {row[kinds] for row in orm} == {
        "message",
        "system",
    }  # system lines take the fast path too


def json_digest(detail: str) -> tuple[int, str]:
    import json

    loaded = json.loads(detail)
    return loaded["messages"], loaded["messages_sha256"]


def test_verify_replays_a_fast_streamed_chat(tmp_path: Path) -> None:
    archive = Archive.create(tmp_path / "archive", timezone="Europe/Paris")
    try:
        archive.ingest(_exports(tmp_path / "exports"), source="phone")
        result = archive.verify()
        assert result.ok, result
    finally:
        archive.close()


def test_the_cache_is_put_back_after_a_chat(archive: Archive, tmp_path: Path) -> None:
    [android, *_] = _exports(tmp_path / "exports")
    with archive.session() as session:
        before = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
    archive.ingest([android], source="phone")
    with archive.session() as session:
        assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == before
