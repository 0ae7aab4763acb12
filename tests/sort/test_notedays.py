"""A note written without a date lands on the day the evidence gives, and says which evidence."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text as sql

from temoin.archive import Archive
from temoin.testing.chats import make_whatsapp_export
from temoin.testing.diaries import UNDATED_DIARY
from temoin.testing.photos import make_photo

COPIED = datetime(2016, 11, 2, 10, 0, tzinfo=UTC)  # the day the note was copied off the phone


def _note(folder: Path, name: str = "notes.txt", text: str = UNDATED_DIARY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (COPIED.timestamp(), COPIED.timestamp()))
    return path


def _photos(folder: Path, *days: int, seed: int = 0) -> None:
    for n, day in enumerate(days):
        taken = datetime(2016, 10, day, 8 + n, 15)
        make_photo(folder / f"IMG_{seed + n}.jpg", seed=seed + n, taken=taken, offset="+02:00")


def _entries(archive: Archive) -> list[dict]:
    rows = [
        row
        for day in archive.timeline()["days"]
        for moment in day["moments"]
        for row in moment["items"]
    ]
    return [r for r in rows if r["kind"] == "entry"]


def _note_id(archive: Archive, name: str = "notes.txt") -> str:
    return next(i["id"] for i in archive.list_items(kind="text") if i["name"] == name)


def test_undated_note_takes_the_day_of_the_photos_ingested_with_it(
    tmp_path: Path, archive: Archive
) -> None:
    # Another source's photos of another day, ingested apart, say nothing about this note.
    _photos(tmp_path / "tom", 26, 26, 26, seed=20)
    archive.ingest([tmp_path / "tom"], source="Tom")
    _photos(tmp_path / "jules", 24, 24, 24, 25)  # most of Jules's photos are of the 24th
    _note(tmp_path / "jules")
    archive.ingest([tmp_path / "jules"], source="Jules")

    entries = _entries(archive)
    assert [e["time"] for e in entries] == [
        "2016-10-24T07:00:00+02:00",
        "2016-10-24T12:00:00+02:00",
        "2016-10-24T14:30:00+02:00",
        "2016-10-24T16:00:00+02:00",
    ]
    assert {e["day_from"] for e in entries} == {"photos"}
    assert {e["day_from_label"] for e in entries} == {"photos of the same source"}
    assert not any(e["day_uncertain"] for e in entries)
    shown = archive.describe(_note_id(archive)[:10])
    assert shown["day"] == "2016-10-24" and shown["day_from"] == "photos"
    assert shown["time"] == "2016-10-24T07:00:00+02:00"


def test_chat_messages_of_the_same_ingest_give_the_day(tmp_path: Path, archive: Archive) -> None:
    export = make_whatsapp_export(
        tmp_path / "chat.zip",
        messages=[
            (datetime(2016, 10, 23, 21, 0), "Amina", "Tomorrow they clear the camp"),
            (datetime(2016, 10, 24, 7, 2), "Amina", "Police at the north gate"),
            (datetime(2016, 10, 24, 9, 30), "Jules", "Buses are here"),
        ],
    )
    note = _note(tmp_path / "amina")
    archive.ingest([note, export], source="Amina")
    entries = _entries(archive)
    assert {e["time"][:10] for e in entries} == {"2016-10-24"}
    assert {e["day_from"] for e in entries} == {"messages"}


def test_a_date_written_in_the_note_wins_over_the_photos(tmp_path: Path, archive: Archive) -> None:
    _photos(tmp_path / "jules", 25, 25)
    _note(tmp_path / "jules", text="Calais, le 24/10/2016\n" + UNDATED_DIARY)
    archive.ingest([tmp_path / "jules"], source="Jules")
    entries = _entries(archive)
    assert {e["time"][:10] for e in entries} == {"2016-10-24"}
    assert {e["day_from"] for e in entries} == {"written"}


def test_a_dated_file_name_gives_the_day(tmp_path: Path, archive: Archive) -> None:
    _note(tmp_path / "lea", name="notes 24-10-2016.txt")
    archive.ingest([tmp_path / "lea"], source="Léa")
    entries = _entries(archive)
    assert {e["time"][:10] for e in entries} == {"2016-10-24"}
    assert {e["day_from"] for e in entries} == {"file-name"}
    assert not any(e["day_uncertain"] for e in entries)


def test_with_nothing_else_the_file_day_is_kept_and_marked_uncertain(
    tmp_path: Path, archive: Archive, cli
) -> None:
    _note(tmp_path / "lea")
    archive.ingest([tmp_path / "lea"], source="Léa")
    entries = _entries(archive)
    assert {e["time"][:10] for e in entries} == {"2016-11-02"}
    assert {e["day_from"] for e in entries} == {"file-time"}
    assert all(e["day_uncertain"] for e in entries)
    shown = cli("-A", str(archive.root), "timeline")
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == "times in Europe/Paris"
    assert shown.out.count("day uncertain") == 4


def test_day_set_by_hand_is_logged_replayed_and_undone(tmp_path: Path, cli) -> None:
    root = tmp_path / "archive"
    assert cli("init", str(root), "--timezone", "Europe/Paris").code == 0
    _note(tmp_path / "lea")
    assert cli("-A", str(root), "ingest", str(tmp_path / "lea"), "--source", "Léa").code == 0
    with _opened(root) as archive:
        note = _note_id(archive)[:12]

    before = cli("-A", str(root), "diary", note, "--json").json()
    assert before["day"] == "2016-11-02" and before["day_uncertain"] is True
    assert "day uncertain" in cli("-A", str(root), "diary", note).out

    result = cli("-A", str(root), "diary", note, "--day", "2016-10-24", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["changed"] is True and data["set_by_hand"] == "2016-10-24"
    assert data["day"] == "2016-10-24" and data["day_from"] == "by-hand"
    assert not data["day_uncertain"]
    assert [e["time"] for e in data["entries"]][:2] == [
        "2016-10-24T07:00:00+02:00",
        "2016-10-24T12:00:00+02:00",
    ]
    assert cli("-A", str(root), "verify").code == 0
    day = cli("-A", str(root), "timeline", "--day", "2016-10-24", "--json").json()
    assert day["zone"] == "Europe/Paris" and day["days"][0]["day"] == "2016-10-24"
    show = cli("-A", str(root), "show", note, "--json").json()
    assert show["day_set_by_hand"] == "2016-10-24" and show["day_from"] == "by-hand"

    again = cli("-A", str(root), "diary", note, "--day", "2016-10-24", "--json").json()
    assert again["changed"] is False  # nothing changed, nothing logged
    assert cli("-A", str(root), "diary", note, "--day", "auto").code == 0
    log = [e for e in cli("-A", str(root), "log", "--json").out.splitlines() if "day-set" in e]
    assert len(log) == 2
    assert '"day":"2016-10-24"' in log[0].replace(" ", "") and '"day":null' in log[1].replace(
        " ", ""
    )
    back = cli("-A", str(root), "diary", note, "--json").json()
    assert back["day"] == "2016-11-02" and back["set_by_hand"] is None
    assert cli("-A", str(root), "verify").code == 0


def test_a_day_written_into_the_catalog_without_its_event_is_caught(tmp_path: Path, cli) -> None:
    root = tmp_path / "archive"
    assert cli("init", str(root), "--timezone", "Europe/Paris").code == 0
    _note(tmp_path / "lea")
    assert cli("-A", str(root), "ingest", str(tmp_path / "lea"), "--source", "Léa").code == 0
    with _opened(root) as archive:
        note = _note_id(archive)
    assert cli("-A", str(root), "diary", note[:12], "--day", "2016-10-24").code == 0
    with _opened(root) as archive, archive.session() as session:  # behind the log's back
        session.execute(sql("UPDATE note_days SET day = '2016-10-25'"))
        session.commit()
    verdict = cli("-A", str(root), "verify")
    assert verdict.code == 1
    assert f"day of note {note}" in verdict.err and "2016-10-24" in verdict.err


def test_diary_refuses_what_is_not_a_note_and_a_bad_day(tmp_path: Path, cli) -> None:
    root = tmp_path / "archive"
    assert cli("init", str(root), "--timezone", "Europe/Paris").code == 0
    _photos(tmp_path / "jules", 24)
    _note(tmp_path / "jules")
    assert cli("-A", str(root), "ingest", str(tmp_path / "jules"), "--source", "Jules").code == 0
    with _opened(root) as archive:
        note = _note_id(archive)[:12]
        photo = archive.list_items(kind="photo")[0]["id"][:12]
    refused = cli("-A", str(root), "diary", photo, "--day", "2016-10-24")
    assert refused.code == 2 and "not a note" in refused.err
    assert cli("-A", str(root), "diary", note, "--day", "24/10/2016").code == 2
    assert "day-set" not in cli("-A", str(root), "log").out


def test_a_source_read_in_its_own_zone(tmp_path: Path, cli) -> None:
    root = tmp_path / "archive"
    assert cli("init", str(root), "--timezone", "Europe/Paris").code == 0
    _note(tmp_path / "tom", name="notes 24-10-2016.txt")
    assert cli("-A", str(root), "ingest", str(tmp_path / "tom"), "--source", "Tom").code == 0
    first = cli("-A", str(root), "timeline", "--json").json()
    assert first["days"][0]["moments"][0]["items"][0]["time"] == "2016-10-24T07:00:00+02:00"

    zoned = cli("-A", str(root), "clock", "Tom", "--tz", "Europe/London")
    assert zoned.code == 0, zoned.err
    assert "Europe/London" in zoned.out and "+00:00:00" in zoned.out
    listed = cli("-A", str(root), "clock").out
    assert "Tom: +00:00:00 tz Europe/London" in listed
    text = cli("-A", str(root), "timeline").out
    assert "Tom: its own times read in Europe/London" in text
    data = cli("-A", str(root), "timeline", "--json").json()
    assert data["source_zones"] == {"Tom": "Europe/London"}
    # 7:00 in London is 8:00 in Paris
    assert data["days"][0]["moments"][0]["items"][0]["time"] == "2016-10-24T08:00:00+02:00"


def _opened(root: Path):
    from contextlib import closing

    return closing(Archive.open(root))
