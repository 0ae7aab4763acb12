"""WhatsApp and Telegram chat exports, written the way the apps write them, for tests and the demo.

A message is a tuple ``(time, author, text)`` or ``(time, author, text, attachment)``. An author of
None makes a system notice ("Messages and calls are end-to-end encrypted"). Multi-line texts
become continuation lines, as in real exports.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

Message = tuple[Any, ...]  # (datetime, str | None, str) or (datetime, str | None, str, str | None)

_ENCRYPTED = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, "
    "can read or listen to them. Tap to learn more."
)
# How each language's export names the chat file and marks an attached file.
_ANDROID_NAME = {"en": "WhatsApp Chat with {}.txt", "fr": "Discussion WhatsApp avec {}.txt"}
_ANDROID_ATTACHED = {"en": "file attached", "fr": "fichier joint"}
_IOS_ATTACHED = {"en": "attached:", "fr": "pièce jointe :"}


def sample_messages() -> list[Message]:
    """A short morning of an eviction, with a notice, a multi-line message and two attachments."""
    day = datetime(2016, 10, 24, 7, 2, 12)
    return [
        (day, None, _ENCRYPTED),
        (day + timedelta(minutes=1), "Amina", "Police at the north gate, 6 vans"),
        (day + timedelta(minutes=2), "Jonas", "On my way.\nBringing the spare battery\nand water"),
        (day + timedelta(minutes=5), "Amina", "", "IMG-20161024-WA0003.jpg"),
        (day + timedelta(minutes=6), "Jonas", "Filming from the bridge", "VID-20161024-WA0004.mp4"),
    ]


def make_whatsapp_export(
    path: Path,
    *,
    style: str = "android",
    messages: Sequence[Message] | None = None,
    attachments: Mapping[str, bytes] | None = None,
    title: str = "Amina",
    day_first: bool = True,
    twelve_hour: bool = False,
    language: str = "en",
) -> Path:
    """Write an export as a folder (path is a directory) or as the zip the share sheet makes.

    `language` ("en" or "fr") is the phone's: it names the Android file ("Discussion WhatsApp
    avec …") and the mark of an attached file ("(fichier joint)", "<pièce jointe : …>"). An
    attachment missing from `attachments` is named in the text and absent from the export.

    Android names the text "WhatsApp Chat with <title>.txt"; iOS names it "_chat.txt" and its
    attachments "00000012-PHOTO-...jpg" (give those names in `messages` and `attachments`).
    Returns the path of the .txt, or of the zip.
    """
    if style not in ("android", "ios"):
        raise ValueError(f"unknown WhatsApp style {style!r}")
    if language not in _ANDROID_NAME:
        raise ValueError(f"unknown WhatsApp language {language!r}")
    chosen = sample_messages() if messages is None else list(messages)
    if style == "android":
        lines = _android_lines(
            chosen,
            day_first=day_first,
            twelve_hour=twelve_hour,
            attached=_ANDROID_ATTACHED[language],
        )
    else:
        lines = _ios_lines(
            chosen, day_first=day_first, twelve_hour=twelve_hour, group=title,
            attached=_IOS_ATTACHED[language],
        )  # fmt: skip
    text = "\n".join(lines) + "\n"
    name = _ANDROID_NAME[language].format(title) if style == "android" else "_chat.txt"
    files = {name: text.encode("utf-8"), **dict(attachments or {})}
    if path.suffix.lower() == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in files.items():
                archive.writestr(member, data)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for member, data in files.items():
        (path / member).write_bytes(data)
    return path / name


def make_telegram_export(
    folder: Path,
    messages: Sequence[Message] | None = None,
    photos: Mapping[str, bytes] | None = None,
    *,
    name: str = "North gate watch",
    local_zone: timezone = UTC,
) -> Path:
    """Write a Telegram Desktop single-chat export: result.json and photos/.

    Times must be aware: `date_unixtime` is derived from them and `date` is written in
    `local_zone`, as Telegram Desktop writes the exporting computer's local time. A text may be a
    list of strings and entity dicts, as Telegram stores formatting. An attachment whose name
    ends in .jpg/.png becomes a `photo` under photos/, any other a `file` under files/.
    """
    folder.mkdir(parents=True, exist_ok=True)
    chosen = list(messages) if messages is not None else _telegram_sample()
    data = {
        "name": name,
        "type": "private_group",
        "id": 4_200_000_001,
        "messages": [_telegram_message(i, m, local_zone) for i, m in enumerate(chosen, start=1)],
    }
    (folder / "result.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    if photos:
        (folder / "photos").mkdir(exist_ok=True)
        for photo, payload in photos.items():
            (folder / "photos" / photo).write_bytes(payload)
    return folder / "result.json"


def _android_lines(
    messages: Sequence[Message], *, day_first: bool, twelve_hour: bool, attached: str
) -> list[str]:
    lines = []
    for time, author, text, attachment in map(_unpack, messages):
        date = f"{time:%d/%m/%Y}" if day_first else f"{time:%m/%d/%y}"
        clock = _twelve_hour(time) if twelve_hour else f"{time:%H:%M}"
        body = text
        if attachment:
            body = f"{attachment} ({attached})" + (f"\n{text}" if text else "")
        lines.append(f"{date}, {clock} - {author + ': ' if author else ''}{body}")
    return lines


def _ios_lines(
    messages: Sequence[Message], *, day_first: bool, twelve_hour: bool, group: str, attached: str
) -> list[str]:
    lines = []
    for time, author, text, attachment in map(_unpack, messages):
        date = f"{time:%d/%m/%Y}" if day_first else f"{time:%m/%d/%y}"
        clock = _twelve_hour(time, seconds=True) if twelve_hour else f"{time:%H:%M:%S}"
        speaker = author or group
        if attachment:
            line = f"\u200e[{date}, {clock}] {speaker}: \u200e<{attached} {attachment}>"
            lines.append(line + (f"\n{text}" if text else ""))
        elif author is None:  # iOS puts notices in the group's own mouth, marked with U+200E
            lines.append(f"[{date}, {clock}] {speaker}: \u200e{text}")
        else:
            lines.append(f"[{date}, {clock}] {speaker}: {text}")
    return lines


def _twelve_hour(time: datetime, *, seconds: bool = False) -> str:
    hour = time.hour % 12 or 12
    rest = f":{time:%S}" if seconds else ""
    return f"{hour}:{time:%M}{rest}\u202f{'AM' if time.hour < 12 else 'PM'}"


def _unpack(message: Message) -> tuple[datetime, str | None, str, str | None]:
    time, author, text, *rest = message
    return time, author, text, (rest[0] if rest else None)


def _telegram_sample() -> list[Message]:
    start = datetime(2016, 10, 24, 5, 2, 12, tzinfo=UTC)
    return [
        (start, "Amina", "Police at the north gate"),
        (start + timedelta(minutes=1), "Jonas", ["Going ", {"type": "bold", "text": "now"}]),
        (start + timedelta(minutes=3), "Amina", "", "photo_1@24-10-2016_07-05-12.jpg"),
    ]


def _telegram_message(number: int, message: Message, zone: timezone) -> dict[str, Any]:
    time, author, text, attachment = _unpack(message)
    if time.tzinfo is None:
        raise ValueError("telegram test messages need aware times")
    entry: dict[str, Any] = {
        "id": number,
        "type": "message",
        "date": time.astimezone(zone).replace(tzinfo=None).isoformat(),
        "date_unixtime": str(int(time.timestamp())),
        "from": author,
        "from_id": f"user{zlib.crc32(str(author).encode())}",
        "text": text,
    }
    if author is None:  # the chat's own notice: Telegram calls it a service message
        entry.update(type="service", action="join_group_by_link")
        del entry["from"], entry["from_id"]
    if attachment and attachment.lower().endswith((".jpg", ".jpeg", ".png")):
        entry["photo"] = f"photos/{attachment}"
    elif attachment:
        entry["file"] = f"files/{attachment}"
        entry["media_type"] = "voice_message" if attachment.endswith(".ogg") else "file"
    return entry
