"""Parse WhatsApp (.txt) and Telegram Desktop (result.json) chat exports into messages.

Group chats are where witnesses coordinate and where the first report of an eviction often lands,
so each message keeps its author, its time as the export wrote it and the attachment it names
(the file itself arrives separately, from the same zip or folder). WhatsApp writes times in the
phone's local time without a zone and lets the phone's locale choose dd/mm or mm/dd; we decide
the order once per file, because a single line like 03/04 cannot tell. Telegram gives a Unix
time, which we turn into an aware UTC time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temoin.collect.readers.base import CHAT, ChatMessage, MediaInfo
from temoin.errors import Rejected

WHATSAPP = "whatsapp"
TELEGRAM = "telegram"

_SNIFF_BYTES = 64 * 1024
_LAYOUT_HELD = 65536  # distinct dates and clock times the first pass remembers at once
# Marks and odd spaces exports put around names, times and attachments. The left-to-right mark
# (U+200E) is kept until a message is built: iOS uses it to flag notices and attachments.
_LRM = "\u200e"
_INVISIBLE = dict.fromkeys(map(ord, "\u200f\u202a\u202b\u202c\u202d\u202e\ufeff"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2007"), " ")

_DATE = r"(?P<date>\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4})"
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?(?P<ampm>[AaPp])\.?\s?[Mm]\.?)?)"
_ANDROID_LINE = re.compile(rf"^{_LRM}?{_DATE},? {_TIME} [-–] (?P<rest>.*)$")
_IOS_LINE = re.compile(rf"^{_LRM}?\[{_DATE},? {_TIME}\] (?P<rest>.*)$")
_AUTHOR = re.compile(r"^(?P<author>[^:\"“”«»]{1,80}?): (?P<text>.*)$", re.DOTALL)
# The chat's own lines ("Amina created group …", "You were added", "Les messages et les appels
# sont chiffrés de bout en bout") have no "Name: " and are told by that alone, in any language. A
# line that carries a name the group chose can hold ": " ("Amina changed the subject to Nord: 2",
# « Amina a créé le groupe Nord : 2 »): these phrases, after a name, catch those.
_SYSTEM_LINE = re.compile(
    r"\s(?:created group|created this group|changed the subject|changed the group description|"
    r"changed this group's|changed the group name|a créé le groupe|a créé ce groupe|"
    r"a changé le sujet|a changé le nom|a modifié le sujet|a changé la description|"
    r"a modifié la description)(?:\s|$)",
    re.IGNORECASE,
)

_ANDROID_ATTACHED = re.compile(
    r"^(?P<name>.+?\.\w{1,5}) \((?:file attached|fichier joint|archivo adjunto|Datei angehängt|"
    r"arquivo anexado|file allegato|bestand bijgevoegd|dosya ekli|ملف مرفق)\)$"
)
_WHATSAPP_MEDIA_NAME = re.compile(
    r"^(?P<name>(?:IMG|VID|AUD|PTT|STK|DOC)-\d{8}-WA\d{4,}\.\w{1,5}) \([^()]{2,40}\)$"
)
_IOS_ATTACHED = re.compile(r"^<[^<>:]{1,30}:\s?(?P<name>[^<>]+\.\w{1,5})>$")
_OMITTED = re.compile(
    r"^(?:<Media omitted>|<Médias omis>|<Multimedia omitido>|<Medien ausgeschlossen>|"
    r"<Mídia oculta>|(?:image|video|audio|sticker|document|GIF|Contact card) omitted)$",
    re.IGNORECASE,
)
_ANDROID_TITLE = re.compile(
    r"^(?:WhatsApp Chat (?:with|mit|met|con) |Discussion WhatsApp avec |Chat de WhatsApp con |"
    r"Conversa do WhatsApp com )(?P<title>.+)\.txt$"
)


@dataclass
class _Header:
    line_no: int
    date: str
    time: str
    ampm: str | None
    rest: str
    body: list[str]


def sniff_chat(path: Path) -> str | None:
    """Say whether a text or JSON file is a WhatsApp or Telegram export, from its first 64 KiB.

    A WhatsApp export always opens with a message line; a Telegram export is JSON whose keys
    name messages and their Unix times. Anything else is a plain note or unsupported JSON.
    """
    with path.open("rb") as fh:
        raw = fh.read(_SNIFF_BYTES)
    text = _normalise(raw.decode("utf-8", errors="replace")).replace(_LRM, "")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return TELEGRAM if _looks_like_telegram(stripped) else None
    first = next((line for line in stripped.splitlines() if line.strip()), "")
    if _ANDROID_LINE.match(first) or _IOS_LINE.match(first):
        return WHATSAPP
    return None


def read_whatsapp(path: Path, mime: str) -> MediaInfo:
    """Parse a WhatsApp export (Android or iOS style); Rejected when no line is a message."""
    info = scan_whatsapp(path, mime)
    assert info.stream is not None
    info.messages = list(info.stream())
    info.meta = info.finish_meta(info.meta) if info.finish_meta else info.meta
    return info


def scan_whatsapp(path: Path, mime: str) -> MediaInfo:
    """Check a WhatsApp export through and return it with its messages still to be streamed.

    An export can hold a million lines, so nothing keeps them: one pass settles the style and
    the date order (which only the whole file can tell) and proves every time real; the messages
    are then parsed afresh, one at a time, by ``stream``, and ``finish_meta`` adds what they told
    (participants, count, first and last times) once the stream has run.
    """
    style, day_first = _whatsapp_layout(path)  # an impossible date refuses it before any row
    summary = _Summary()

    def stream() -> Iterator[ChatMessage]:
        for header in _whatsapp_headers(_lines(path), style):
            message = _whatsapp_message(header, day_first, style)
            summary.add(message)
            yield message

    def finish(meta: dict[str, Any]) -> dict[str, Any]:
        done = {**meta, **summary.meta()}
        done["title"] = _whatsapp_title(path, summary.first, style)
        return done

    meta: dict[str, Any] = {"app": WHATSAPP, "style": style}
    meta["date_order"] = "dmy" if day_first else "mdy"
    return MediaInfo(kind=CHAT, mime=mime, meta=meta, stream=stream, finish_meta=finish)


@dataclass
class _Summary:
    """What the messages of a streamed export tell, gathered as they go by."""

    count: int = 0
    first: ChatMessage | None = None
    last: ChatMessage | None = None
    participants: dict[str, None] = field(default_factory=dict)

    def add(self, message: ChatMessage) -> None:
        self.count += 1
        self.first = self.first or message
        self.last = message
        if message.author and not message.meta.get("system"):
            self.participants.setdefault(message.author, None)

    def meta(self) -> dict[str, Any]:
        assert self.first is not None and self.last is not None
        return {
            "participants": list(self.participants),
            "message_count": self.count,
            "first_message_at": self.first.time.isoformat(),
            "last_message_at": self.last.time.isoformat(),
        }


def read_telegram(path: Path, mime: str) -> MediaInfo:
    """Parse a Telegram Desktop result.json, one chat or the whole-account export."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise Rejected(
            f"telegram export is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from exc
    chats = _telegram_chats(data)
    messages = [
        message
        for chat in chats
        for raw in chat.get("messages") or []
        if (message := _telegram_message(raw, chat, several=len(chats) > 1)) is not None
    ]
    if not messages:
        raise Rejected("chat export has no parsable Telegram message")
    title = chats[0].get("name") if len(chats) == 1 else None
    meta = _chat_meta(TELEGRAM, title, messages)
    meta["chats"] = [_telegram_chat_summary(chat) for chat in chats]
    return MediaInfo(kind=CHAT, mime=mime, meta=meta, messages=messages)


def _read_text(path: Path) -> str:
    """Exports are UTF-8, sometimes with a BOM; old Windows tools wrote UTF-16 with one."""
    raw = path.read_bytes()
    encoding = _encoding(raw[:2])
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Rejected(f"chat export is not {encoding} text (byte {exc.start})") from exc


def _encoding(head: bytes) -> str:
    return "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def _lines(path: Path) -> Iterator[str]:
    """The export's lines, normalised, read a buffer at a time.

    Split on newlines only: a line may hold U+2028, which str.splitlines would also break at.
    """
    with path.open("rb") as fh:
        encoding = _encoding(fh.read(2))
    line_no = 0
    try:
        with path.open(encoding=encoding, newline="\n") as text:
            for line_no, line in enumerate(text, start=1):  # noqa: B007 - kept for the error
                yield _normalise(line.rstrip("\n").rstrip("\r"))
    except UnicodeDecodeError as exc:
        raise Rejected(f"chat export is not {encoding} text (line {line_no + 1})") from exc


def _normalise(text: str) -> str:
    if text.isascii():  # most lines: nothing to translate, and this is the cheap test
        return text
    return text.translate(_INVISIBLE).translate(_SPACES)


def _looks_like_telegram(text: str) -> bool:
    has_messages = re.search(r'"messages"\s*:\s*\[', text) or re.search(r'"chats"\s*:\s*\{', text)
    has_telegram_keys = re.search(r'"(?:date_unixtime|from_id|personal_information)"', text) or (
        re.search(r'"type"\s*:\s*"(?:message|service)"', text)
    )
    return bool(has_messages and has_telegram_keys)


# --- WhatsApp ---------------------------------------------------------------------------------


def _whatsapp_layout(path: Path) -> tuple[str, bool]:
    """The style (settled by the first message line) and the date order, from one pass that also
    proves every message's time real in that order; Rejected when no line is a message.

    A date's validity does not depend on its clock time, nor a clock time's on its date, so only
    a line bringing a date or a time not met before needs checking: the first impossible line is
    always one of those, and most of a million lines are neither.
    """
    style = ""
    first_over_12 = second_over_12 = False
    impossible: dict[bool, str] = {}  # date order -> the first impossible date's reason
    dates: set[str] = set()
    clocks: set[tuple[str, str | None]] = set()
    found = False
    for line_no, line in enumerate(_lines(path), start=1):
        match = None
        if style in ("", "android"):
            match = _ANDROID_LINE.match(line)
            style = style or ("android" if match else "")
        if match is None and style in ("", "ios"):
            match = _IOS_LINE.match(line)
            style = style or ("ios" if match else "")
        if match is None:
            continue
        found = True
        date, clock, ampm = match.group("date", "time", "ampm")
        new_date, new_clock = date not in dates, (clock, ampm) not in clocks
        if not (new_date or new_clock):
            continue
        if len(dates) >= _LAYOUT_HELD or len(clocks) >= _LAYOUT_HELD:  # checking again is safe
            dates.clear()
            clocks.clear()
        dates.add(date)
        clocks.add((clock, ampm))
        header = _Header(line_no, date, clock, ampm, "", [])
        for order in (True, False):
            if order not in impossible:
                try:
                    _whatsapp_time(header, order)
                except Rejected as exc:
                    impossible[order] = exc.message
        if not new_date:
            continue
        first, second, _ = re.split(r"[/.\-]", date)
        if len(first) == 4:  # year first: y-m-d, the order question does not arise
            continue
        first_over_12 = first_over_12 or int(first) > 12
        second_over_12 = second_over_12 or int(second) > 12
    if not found:
        raise Rejected("chat export has no parsable WhatsApp message")
    # dd/mm unless some date's second field exceeds 12 while none's first field does
    day_first = first_over_12 or not second_over_12
    if day_first in impossible:
        raise Rejected(impossible[day_first])
    return style, day_first


def _whatsapp_headers(lines: Iterable[str], style: str) -> Iterator[_Header]:
    """Group lines into messages: a line that opens with a timestamp starts one, others continue it.

    The style is the one the first message line settled, so a continuation that happens to look
    like the other style's timestamp stays text.
    """
    pattern = _ANDROID_LINE if style == "android" else _IOS_LINE
    header: _Header | None = None
    for line_no, line in enumerate(lines, start=1):
        match = pattern.match(line)
        if match is not None:
            if header is not None:
                yield header
            date, clock, ampm, rest = match.group("date", "time", "ampm", "rest")
            header = _Header(line_no, date, clock, ampm, rest, [])
        elif header is not None:
            header.body.append(line)
    if header is not None:
        yield header


def _whatsapp_message(header: _Header, day_first: bool, style: str) -> ChatMessage:
    time = _whatsapp_time(header, day_first)
    text = header.rest
    if header.body:  # most messages are one line
        body = list(header.body)
        while body and not body[-1].strip():  # blank lines before the next message or the end
            body.pop()
        text = "\n".join([text, *body])
    meta: dict[str, Any] = {"line": header.line_no}
    author_match = _AUTHOR.match(text)
    if author_match is None or _names_the_group(author_match["author"]):
        author = ""
        meta["system"] = True
    else:
        author, text = author_match["author"].replace(_LRM, "").strip(), author_match["text"]
    marked = text.startswith(_LRM)
    text = text.replace(_LRM, "")
    first, _, rest = text.partition("\n")
    first = first.strip()
    attachment = _attachment_name(first)
    if attachment is not None:
        meta["placeholder"] = first
        text = rest
    elif _omitted(first):
        meta["media_omitted"] = True
        meta["placeholder"] = first
        text = rest
    elif (
        marked and style == "ios"
    ):  # "Group: \u200eAmina added Bob", "\u200eThis message was deleted."
        meta["system"] = True
    return ChatMessage(time=time, author=author, text=text, attachment=attachment, meta=meta)


def _names_the_group(author: str) -> bool:
    """Whether what stands before ": " is a notice about the group, not a person's name; a name
    of one or two words never is, and is told without a search."""
    return author.count(" ") >= 2 and _SYSTEM_LINE.search(author) is not None


def _omitted(line: str) -> bool:
    return (line.endswith(">") or line[-7:].lower() == "omitted") and bool(_OMITTED.match(line))


def _attachment_name(line: str) -> str | None:
    if not line.endswith((")", ">")):  # every form ends so; most messages are words
        return None
    for pattern in (_ANDROID_ATTACHED, _WHATSAPP_MEDIA_NAME, _IOS_ATTACHED):
        match = pattern.match(line)
        if match is not None:
            return match["name"].strip()
    return None


def _whatsapp_time(header: _Header, day_first: bool) -> datetime:
    """Naive local time: WhatsApp writes the phone's wall clock and no zone."""
    try:
        return _local_time(header.date, header.time, header.ampm, day_first)
    except ValueError as exc:
        raise Rejected(f"chat export line {header.line_no} has an impossible date: {exc}") from exc


@functools.lru_cache(maxsize=65536)
def _local_time(date: str, clock: str, ampm: str | None, day_first: bool) -> datetime:
    """Cached: a chat's messages share their minutes, and its minutes share a few dates and
    clock times, each parsed once."""
    return datetime(*_date_fields(date, day_first), *_clock_fields(clock, ampm))


@functools.lru_cache(maxsize=4096)
def _date_fields(date: str, day_first: bool) -> tuple[int, int, int]:
    parts = re.split(r"[/.\-]", date)
    fields = [int(part) for part in parts]
    if len(parts[0]) == 4:
        year, month, day = fields
    elif day_first:
        day, month, year = fields
    else:
        month, day, year = fields
    year += 2000 if year < 100 else 0
    return year, month, day


@functools.lru_cache(maxsize=4096)
def _clock_fields(clock: str, ampm: str | None) -> tuple[int, int, int]:
    numbers = [int(part) for part in re.findall(r"\d+", clock)]
    hour, minute = numbers[0], numbers[1]
    second = numbers[2] if len(numbers) > 2 else 0
    if ampm:
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    return hour, minute, second


def _whatsapp_title(path: Path, first: ChatMessage | None, style: str) -> str | None:
    """Android names the file after the chat; iOS exports open with the group's own notice."""
    match = _ANDROID_TITLE.match(path.name)
    if match is not None:
        return match["title"]
    if style == "ios" and first is not None and "end-to-end encrypted" in first.text:
        return first.author or None
    return None


# --- Telegram ---------------------------------------------------------------------------------


def _telegram_chats(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise Rejected("telegram export is not a JSON object")
    if isinstance(data.get("messages"), list):
        return [data]
    chats = data.get("chats")
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return [chat for chat in chats["list"] if isinstance(chat, dict)]
    raise Rejected("telegram export has neither messages nor a chat list")


def _telegram_message(raw: Any, chat: dict[str, Any], *, several: bool) -> ChatMessage | None:
    if not isinstance(raw, dict) or raw.get("type") not in ("message", "service"):
        return None
    time = _telegram_time(raw)
    if time is None:
        return None
    meta: dict[str, Any] = {"id": raw.get("id")}
    for key in ("from_id", "media_type", "reply_to_message_id", "forwarded_from", "edited"):
        if raw.get(key) is not None:
            meta[key] = raw[key]
    if several:
        meta["chat"] = chat.get("name")
    if raw["type"] == "service":
        meta["system"] = True
        meta["action"] = raw.get("action")
    author = raw.get("from") or raw.get("actor") or ""
    attachment = _telegram_attachment(raw, meta)
    return ChatMessage(
        time=time,
        author=str(author),
        text=flatten_telegram_text(raw.get("text", "")),
        attachment=attachment,
        meta=meta,
    )


def flatten_telegram_text(text: Any) -> str:
    """Telegram stores formatted text as a list of strings and entity dicts; keep the words."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(_entity_text(part) for part in text)
    return ""


def _entity_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        return str(part.get("text", ""))
    return ""


def _telegram_time(raw: dict[str, Any]) -> datetime | None:
    """date_unixtime is UTC; older exports only have `date`, the exporting computer's local time."""
    unix = raw.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        return datetime.fromisoformat(str(raw.get("date")))
    except ValueError:
        return None


def _telegram_attachment(raw: dict[str, Any], meta: dict[str, Any]) -> str | None:
    """The export names a file it left out with a sentence in brackets instead of a path."""
    for key in ("photo", "file"):
        value = raw.get(key)
        if isinstance(value, str) and value:
            if value.startswith("("):
                meta["media_omitted"] = True
                meta["placeholder"] = value
                return None
            return value
    return None


def _telegram_chat_summary(chat: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": chat.get("name"),
        "type": chat.get("type"),
        "id": chat.get("id"),
        "message_count": len(chat.get("messages") or []),
    }


# --- shared -----------------------------------------------------------------------------------


def _chat_meta(app: str, title: str | None, messages: list[ChatMessage]) -> dict[str, Any]:
    return {
        "app": app,
        "title": title,
        "participants": list(_participants(messages)),
        "message_count": len(messages),
        "first_message_at": messages[0].time.isoformat(),
        "last_message_at": messages[-1].time.isoformat(),
    }


def _participants(messages: list[ChatMessage]) -> Iterator[str]:
    """Authors in order of first appearance; system notices are nobody's words."""
    seen: set[str] = set()
    for message in messages:
        if message.author and not message.meta.get("system") and message.author not in seen:
            seen.add(message.author)
            yield message.author
