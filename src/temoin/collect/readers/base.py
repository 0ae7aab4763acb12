"""What a reader returns, and the rules every reader follows.

A reader gets a local, already-hashed copy of the file (never the source), reads its metadata without
decoding more than it must, and raises `temoin.errors.Rejected` with a one-line reason when the file
is corrupt, truncated or not what its content claims. A photo whose header is whole but whose
picture is cut short or undecodable is the exception: it may be the only trace of a moment, so it is
kept, marked `damaged` with the reason. Readers never write anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from temoin.kinds import Kind

# The kinds of item the archive holds, as readers name them (see `temoin.kinds`).
PHOTO = Kind.PHOTO
VIDEO = Kind.VIDEO
AUDIO = Kind.AUDIO
TEXT = Kind.TEXT
CHAT = Kind.CHAT  # a chat export file (WhatsApp .txt, Telegram result.json)
MESSAGE = Kind.MESSAGE  # one message of a chat export; has no blob of its own
# a chat's own line ("Amina created group", "You were added"): nobody's words, but it names people
SYSTEM = Kind.SYSTEM


@dataclass
class ChatMessage:
    """One message of a chat export, in the order of the export."""

    time: datetime  # naive local time as written in the export, or aware when the export says UTC
    author: str
    text: str
    attachment: str | None = None  # the attached file's name as the export names it
    # meta may say "system" (a chat's own line), "media_omitted", and "placeholder": the line the
    # export wrote for a file ("IMG-….jpg (fichier joint)"), shown when the file is not here
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class MediaInfo:
    """The metadata of one file, as JSON-friendly values.

    `captured_at` is the best capture time the file itself states: aware when the file gives an
    offset, naive (local time of the device) otherwise. The sort stage decides what naive means.
    """

    kind: str
    mime: str
    meta: dict[str, Any] = field(default_factory=dict)
    captured_at: datetime | None = None
    capture_source: str | None = None  # e.g. "exif:DateTimeOriginal", "quicktime:creation_time"
    text: str | None = None  # the body of text notes
    messages: list[ChatMessage] = field(default_factory=list)  # chat exports only
    damaged: str | None = None  # why the picture is cut short or undecodable; kept as evidence
    # a long chat export: its messages parsed one at a time, and `meta` completed once they have
    stream: Callable[[], Iterator[ChatMessage]] | None = None
    finish_meta: Callable[[dict[str, Any]], dict[str, Any]] | None = None


class Reader(Protocol):
    def __call__(self, path: Path, mime: str) -> MediaInfo: ...
