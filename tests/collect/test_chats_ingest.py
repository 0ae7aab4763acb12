"""Chat exports become one item per message, linked to the attachment items found beside them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from temoin.archive import Archive
from temoin.testing.chats import make_telegram_export, make_whatsapp_export
from temoin.testing.limits import PEAK_CHILD, peak_kib
from temoin.testing.media import make_video
from temoin.testing.photos import make_photo


def _attachments(tmp_path: Path) -> dict[str, bytes]:
    photo = make_photo(tmp_path / "src/p.jpg", seed=9).read_bytes()
    video = make_video(tmp_path / "src/v.mp4", seconds=0.5, size=(160, 96)).read_bytes()
    return {"IMG-20161024-WA0003.jpg": photo, "VID-20161024-WA0004.mp4": video}


def test_whatsapp_zip_messages_link_to_their_media(archive: Archive, tmp_path: Path) -> None:
    files = _attachments(tmp_path)
    export = make_whatsapp_export(tmp_path / "WhatsApp Chat with Amina.zip", attachments=files)
    report = archive.ingest([export], source="Amina's phone")
    assert (report.stored, report.messages, report.rejected) == (3, 5, [])
    [notice] = archive.list_items(kind="system")  # the encryption notice: nobody's message
    assert notice["text"].startswith("Messages and calls are end-to-end encrypted")
    messages = archive.list_items(kind="message")
    assert [m.get("author") for m in messages] == ["Amina", "Jonas", "Amina", "Jonas"]
    by_text = {m["text"]: m for m in messages}
    multi = by_text["On my way.\nBringing the spare battery\nand water"]
    assert multi["time"] == "2016-10-24T07:04:00+02:00"  # Android exports give minutes only
    photo_id = {i["name"]: i["id"] for i in archive.list_items()}["IMG-20161024-WA0003.jpg"]
    linked = [m for m in messages if m.get("attachment")]
    assert {m["attachment"] for m in linked} == {
        photo_id,
        {i["name"]: i["id"] for i in archive.list_items()}["VID-20161024-WA0004.mp4"],
    }
    [chat] = archive.list_items(kind="chat")
    assert chat["meta"]["app"] == "whatsapp" and chat["meta"]["message_count"] == 5


def test_ios_folder_export_and_reingest_keep_links(archive: Archive, tmp_path: Path) -> None:
    day = datetime(2016, 10, 24, 7, 2, 12)
    photo = make_photo(tmp_path / "src/p.jpg", seed=4).read_bytes()
    name = "00000012-PHOTO-2016-10-24-07-05-12.jpg"
    folder = tmp_path / "export"
    make_whatsapp_export(
        folder,
        style="ios",
        title="Calais",
        messages=[
            (day, "Léa", "Bus number 12 leaving"),
            (day + timedelta(minutes=3), "Léa", "", name),
        ],
        attachments={name: photo},
    )
    first = archive.ingest([folder], source="Léa's phone")
    again = archive.ingest([folder], source="Léa's phone")
    assert (first.stored, first.messages, again.stored, again.duplicates) == (2, 2, 0, 2)
    messages = archive.list_items(kind="message")
    assert len(messages) == 2
    assert messages[1]["attachment"] == {i["name"]: i["id"] for i in archive.list_items()}[name]


def test_telegram_export_links_photos_and_keeps_utc(archive: Archive, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "src/p.jpg", seed=5).read_bytes()
    sent = datetime(2016, 10, 24, 5, 30, tzinfo=UTC)
    export = make_telegram_export(
        tmp_path / "tg",
        messages=[
            (sent, "Amina", "Queue at the bridge"),
            (sent + timedelta(minutes=1), "Amina", "", "photo_1@24-10-2016_07-31-00.jpg"),
        ],
        photos={"photo_1@24-10-2016_07-31-00.jpg": photo},
        local_zone=timezone(timedelta(hours=2)),
    )
    report = archive.ingest([export.parent], source="Telegram")
    assert report.messages == 2 and not report.rejected
    first, second = archive.list_items(kind="message")
    assert first["time_utc"] == "2016-10-24T05:30:00Z" and first["text"] == "Queue at the bridge"
    assert (
        second["attachment"]
        == {i["name"]: i["id"] for i in archive.list_items()}["photo_1@24-10-2016_07-31-00.jpg"]
    )


def test_video_and_voice_notes_are_ingested(archive: Archive, tmp_path: Path) -> None:
    from temoin.testing.media import make_audio

    dump = tmp_path / "dump"
    make_video(
        dump / "VID_20161024_081500.mp4",
        seconds=1.0,
        size=(320, 180),
        creation_time=datetime(2016, 10, 24, 6, 15, tzinfo=UTC),
        location="+50.9665+001.8867/",
    )
    for suffix in (".opus", ".m4a", ".mp3", ".wav", ".amr"):
        make_audio(dump / f"PTT-20161024-WA0001{suffix}", seconds=0.5)
    report = archive.ingest([dump], source="phone")
    assert report.stored == 6 and not report.rejected
    [video] = archive.list_items(kind="video")
    assert video["time_utc"] == "2016-10-24T06:15:00Z"
    assert video["meta"]["gps"]["lat"] == 50.9665
    assert len(archive.list_items(kind="audio")) == 5


def _ingest_export(folder: Path, lines: int) -> int:
    """Ingest a generated export of ``lines`` messages in a fresh process; its peak RSS in KiB."""
    export = folder / "WhatsApp Chat with Calais.txt"
    folder.mkdir(parents=True)
    with open(export, "w", encoding="utf-8") as handle:
        for i in range(lines):
            moment = EXPORT_START + timedelta(seconds=20 * i)
            handle.write(f"{moment:%d/%m/%Y, %H:%M} - Person {i % 40}: message {i}, buses\n")
    Archive.create(folder / "archive", timezone="Europe/Paris").close()
    command = [sys.executable, "-c", PEAK_CHILD, "-A", str(folder / "archive"), "ingest",
               str(export), "--source", "phone", "--json"]  # fmt: skip
    child = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert json.loads(child.stdout)["messages"] == lines
    return peak_kib(child.stderr)


EXPORT_START = datetime(2016, 10, 24, 6, 0)


def test_a_long_export_is_ingested_in_bounded_memory(tmp_path: Path) -> None:
    """Five times the lines, about the same memory: the whole-file reader held every line and
    row (at 100,000 lines, some 300 MiB more than at 20,000; now about 70, most of it SQLite's page cache). Compared with a short export in
    the same kind of process, so the libraries' own size on a machine does not count."""
    short = _ingest_export(tmp_path / "short", 20_000)
    peak = _ingest_export(tmp_path / "long", 100_000)
    assert peak - short < 128 * 1024, f"peak RSS grew {(peak - short) // 1024} MiB"
    assert peak < 512 * 1024, f"peak RSS {peak // 1024} MiB"
    start = EXPORT_START
    tmp_path = tmp_path / "long"
    archive = Archive.open(tmp_path / "archive")
    try:
        [chat] = archive.list_items(kind="chat")
        assert chat["meta"]["message_count"] == 100_000
        assert chat["meta"]["participants"][:2] == ["Person 0", "Person 1"]
        last = (start + timedelta(seconds=20 * 99_999)).replace(second=0)
        assert chat["meta"]["last_message_at"] == last.isoformat()
    finally:
        archive.close()
