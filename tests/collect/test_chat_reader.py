"""The chat-export parsers on exports written by the factories, in both WhatsApp styles."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from temoin.collect.readers.chat import (
    flatten_telegram_text,
    read_telegram,
    read_whatsapp,
    sniff_chat,
)
from temoin.errors import Rejected
from temoin.testing.chats import make_telegram_export, make_whatsapp_export

# A day > 12 settles the order; 03/04 alone could be either.
APRIL_3 = datetime(2017, 4, 3, 19, 5, 9)
OCT_24 = datetime(2016, 10, 24, 7, 2, 12)


@pytest.mark.parametrize("style", ["android", "ios"])
@pytest.mark.parametrize(("day_first", "twelve_hour"), [(True, False), (False, True)])
def test_whatsapp_sample_in_every_style(
    tmp_path: Path, style: str, day_first: bool, twelve_hour: bool
) -> None:
    path = make_whatsapp_export(
        tmp_path / "export", style=style, day_first=day_first, twelve_hour=twelve_hour
    )
    assert sniff_chat(path) == "whatsapp"
    info = read_whatsapp(path, "text/plain")
    assert info.kind == "chat"
    assert info.meta["app"] == "whatsapp"
    assert info.meta["style"] == style
    assert info.meta["date_order"] == ("dmy" if day_first else "mdy")
    assert info.meta["participants"] == ["Amina", "Jonas"]
    assert info.meta["message_count"] == 5
    notice, gate, walk, photo, video = info.messages
    assert notice.meta["system"] is True
    assert notice.text.startswith("Messages and calls are end-to-end encrypted")
    assert (gate.author, gate.text) == ("Amina", "Police at the north gate, 6 vans")
    seconds = 12 if style == "ios" else 0
    assert gate.time == datetime(2016, 10, 24, 7, 3, seconds)
    assert gate.time.tzinfo is None
    assert walk.text == "On my way.\nBringing the spare battery\nand water"
    assert (photo.author, photo.attachment, photo.text) == ("Amina", "IMG-20161024-WA0003.jpg", "")
    assert (video.attachment, video.text) == ("VID-20161024-WA0004.mp4", "Filming from the bridge")
    assert video.meta["line"] == 7


def test_android_title_comes_from_the_file_name(tmp_path: Path) -> None:
    path = make_whatsapp_export(tmp_path / "x", title="Camp Nord")
    assert path.name == "WhatsApp Chat with Camp Nord.txt"
    assert read_whatsapp(path, "text/plain").meta["title"] == "Camp Nord"


def test_ios_title_comes_from_the_encryption_notice(tmp_path: Path) -> None:
    path = make_whatsapp_export(tmp_path / "x", style="ios", title="Camp Nord")
    info = read_whatsapp(path, "text/plain")
    assert path.name == "_chat.txt"
    assert info.meta["title"] == "Camp Nord"
    assert info.meta["participants"] == ["Amina", "Jonas"]


@pytest.mark.parametrize("style", ["android", "ios"])
@pytest.mark.parametrize("day_first", [True, False])
def test_date_order_is_decided_from_the_whole_file(
    tmp_path: Path, style: str, day_first: bool
) -> None:
    messages = [(APRIL_3, "Amina", "ambiguous"), (OCT_24, "Jonas", "settles it")]
    path = make_whatsapp_export(tmp_path / "x", style=style, messages=messages, day_first=day_first)
    first, second = read_whatsapp(path, "text/plain").messages
    assert first.time.date() == APRIL_3.date()
    assert second.time.date() == OCT_24.date()


def test_ambiguous_dates_default_to_day_first(tmp_path: Path) -> None:
    path = tmp_path / "chat.txt"
    path.write_text("03/04/2017, 19:05 - Amina: hello\n", encoding="utf-8")
    info = read_whatsapp(path, "text/plain")
    assert info.messages[0].time == datetime(2017, 4, 3, 19, 5)
    assert info.meta["date_order"] == "dmy"


def test_android_variants(tmp_path: Path) -> None:
    path = tmp_path / "chat.txt"
    lines = [
        "\ufeff24/10/16, 7:02\u202fpm - Amina: <Media omitted>",
        "24/10/16, 7:03 pm - +33 6 12 34 56 78: time: 19h03",
        "",
        "still the same message",
        "24/10/16, 7:04 pm - Amina joined using this group's invite link",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    omitted, phone, joined = read_whatsapp(path, "text/plain").messages
    assert omitted.time == datetime(2016, 10, 24, 19, 2)
    assert omitted.meta["media_omitted"] is True
    assert omitted.attachment is None
    assert (phone.author, phone.text) == (
        "+33 6 12 34 56 78",
        "time: 19h03\n\nstill the same message",
    )
    assert (joined.author, joined.meta["system"]) == ("", True)


def test_ios_marks_are_removed_and_notices_flagged(tmp_path: Path) -> None:
    path = tmp_path / "_chat.txt"
    lines = [
        "[24/10/16 07:02:12] Camp Nord: \u200eAmina added Jonas",
        "\u200e[24/10/16 07:02:40] \u202a+33 6 12 34 56 78\u202c: \u200eimage omitted",
        "[24/10/16 07:03:00] Amina: \u200e<attached: 00000012-PHOTO-2016-10-24-07-03-00.jpg>",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    added, omitted, photo = read_whatsapp(path, "text/plain").messages
    assert (added.author, added.text, added.meta["system"]) == (
        "Camp Nord",
        "Amina added Jonas",
        True,
    )
    assert omitted.author == "+33 6 12 34 56 78"
    assert omitted.meta["media_omitted"] is True
    assert photo.attachment == "00000012-PHOTO-2016-10-24-07-03-00.jpg"
    assert "system" not in photo.meta


def test_zip_export_holds_text_and_media(tmp_path: Path) -> None:
    path = make_whatsapp_export(
        tmp_path / "WhatsApp Chat with Amina.zip", attachments={"IMG-20161024-WA0003.jpg": b"jpeg"}
    )
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "IMG-20161024-WA0003.jpg",
            "WhatsApp Chat with Amina.txt",
        ]


def test_telegram_single_chat(tmp_path: Path) -> None:
    path = make_telegram_export(tmp_path / "tg", photos={"photo_1@24-10-2016_07-05-12.jpg": b"x"})
    assert sniff_chat(path) == "telegram"
    assert (tmp_path / "tg" / "photos" / "photo_1@24-10-2016_07-05-12.jpg").exists()
    info = read_telegram(path, "application/json")
    assert info.meta["app"] == "telegram"
    assert info.meta["title"] == "North gate watch"
    assert info.meta["participants"] == ["Amina", "Jonas"]
    gate, going, photo = info.messages
    assert gate.time == datetime(2016, 10, 24, 5, 2, 12, tzinfo=UTC)
    assert (gate.author, gate.text) == ("Amina", "Police at the north gate")
    assert going.text == "Going now"
    assert photo.attachment == "photos/photo_1@24-10-2016_07-05-12.jpg"


def test_telegram_entities_are_flattened() -> None:
    text = ["See ", {"type": "link", "text": "https://example.org"}, " ", {"type": "bold"}, "now"]
    assert flatten_telegram_text(text) == "See https://example.org now"
    assert flatten_telegram_text(None) == ""


def test_telegram_without_unixtime_keeps_the_local_naive_date(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    data = {
        "name": "Old export",
        "type": "personal_chat",
        "id": 1,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2016-10-24T07:02:12",
                "from": "Amina",
                "text": "hi",
            },
            {
                "id": 2,
                "type": "service",
                "date": "2016-10-24T07:03:00",
                "actor": "Jonas",
                "action": "pin_message",
                "text": "",
            },
            {
                "id": 3,
                "type": "message",
                "date": "2016-10-24T07:04:00",
                "from": "Jonas",
                "text": "",
                "file": "(File not included. Change data exporting settings to download.)",
                "media_type": "voice_message",
            },
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    hi, pinned, voice = read_telegram(path, "application/json").messages
    assert hi.time == datetime(2016, 10, 24, 7, 2, 12)
    assert (pinned.author, pinned.meta["system"], pinned.meta["action"]) == (
        "Jonas",
        True,
        "pin_message",
    )
    assert voice.attachment is None
    assert voice.meta["media_omitted"] is True
    assert voice.meta["media_type"] == "voice_message"


def test_telegram_whole_account_export(tmp_path: Path) -> None:
    one = json.loads(make_telegram_export(tmp_path / "a").read_text(encoding="utf-8"))
    two = dict(one, name="Legal team", id=7)
    path = tmp_path / "result.json"
    data = {"about": "export", "personal_information": {}, "chats": {"list": [one, two]}}
    path.write_text("\ufeff" + json.dumps(data), encoding="utf-8")
    assert sniff_chat(path) == "telegram"
    info = read_telegram(path, "application/json")
    assert info.meta["message_count"] == 6
    assert info.meta["title"] is None
    assert [chat["name"] for chat in info.meta["chats"]] == ["North gate watch", "Legal team"]
    assert info.messages[-1].meta["chat"] == "Legal team"


@pytest.mark.parametrize(
    "content",
    [
        "Shopping list\n- water\n- batteries\n",
        '{"type": "FeatureCollection", "features": []}',
        "",
    ],
)
def test_sniff_tells_other_text_apart(tmp_path: Path, content: str) -> None:
    path = tmp_path / "note.txt"
    path.write_text(content, encoding="utf-8")
    assert sniff_chat(path) is None


def test_chat_without_any_message_is_rejected(tmp_path: Path) -> None:
    text = tmp_path / "chat.txt"
    text.write_text("nothing here\nat all\n", encoding="utf-8")
    with pytest.raises(Rejected, match="no parsable WhatsApp message"):
        read_whatsapp(text, "text/plain")
    empty = tmp_path / "result.json"
    empty.write_text('{"name": "x", "type": "personal_chat", "id": 1, "messages": []}')
    with pytest.raises(Rejected, match="no parsable Telegram message"):
        read_telegram(empty, "application/json")


def test_broken_exports_are_rejected(tmp_path: Path) -> None:
    cut = tmp_path / "result.json"
    cut.write_text('{"name": "x", "messages": [{"id": 1, "type": "mess', encoding="utf-8")
    with pytest.raises(Rejected, match=r"^telegram export is not valid JSON"):
        read_telegram(cut, "application/json")
    latin = tmp_path / "chat.txt"
    latin.write_bytes("24/10/2016, 07:02 - Amélie: à bientôt\n".encode("latin-1"))
    with pytest.raises(Rejected, match=r"^chat export is not utf-8-sig text"):
        read_whatsapp(latin, "text/plain")


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["24/10/2016, 07:02 - A: x", "24/10/2016, 07:03 - A: y", "24/10/2016, 24:03 - A: z"],
         "line 3 has an impossible date: hour must be in 0..23"),
        (["24/10/2016, 07:02 - A: x", "24/10/2016, 07:02 - A: y", "31/02/2016, 07:02 - A: z"],
         "line 3 has an impossible date: day is out of range for month"),
        (["24/10/2016, 07:02 - A: x", "30/02/2016, 24:02 - A: y", "24/10/2016, 24:02 - A: z"],
         "line 2 has an impossible date: day is out of range for month"),
    ],
)  # fmt: skip
def test_the_first_impossible_time_is_named(tmp_path: Path, lines: list[str], reason: str) -> None:
    """Only new dates and clock times are checked; the first impossible line is still the one
    named, with the reason ``datetime`` gives for it."""
    export = tmp_path / "chat.txt"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(Rejected, match=f"^chat export {reason}$"):
        read_whatsapp(export, "text/plain")
