"""Decide what a file is from its bytes, never from its name.

The name only matters in one direction: text is accepted as a note only under a text-like name, so an
HTML page or a script saved as ``.jpg`` is rejected rather than archived as a "note".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import filetype

from temoin.collect.readers.base import AUDIO, CHAT, PHOTO, TEXT, VIDEO
from temoin.errors import Rejected
from temoin.i18n import marked

HEAD_BYTES = 8192
ZIP = "zip"

_PHOTO_MIMES = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/avif",
    "image/apng",
    "image/tiff",  # also DNG and the TIFF-based raws (NEF, ARW, PEF...): the photo reader tells
    "image/x-canon-cr2",
}
_VIDEO_MIMES = {
    "video/mp4",
    "video/quicktime",
    "video/3gpp",
    "video/x-m4v",
    "video/x-matroska",
    "video/webm",
}
_AUDIO_MIMES = {"audio/mpeg", "audio/ogg", "audio/x-wav", "audio/amr", "audio/aac", "audio/mp4"}
_TEXT_SUFFIXES = {"", ".txt", ".md", ".markdown", ".text", ".rst", ".org", ".json"}
_TEXT_MIMES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".rst": "text/x-rst",
    ".org": "text/org",
}
_MARKUP = (b"<!doctype", b"<html", b"<?xml", b"<svg", b"<script", b"<head", b"<body")


@dataclass(frozen=True)
class Sniffed:
    kind: str  # photo, video, audio, text, chat or zip
    mime: str
    note: str | None = None  # e.g. the name's extension disagrees with the content


def _looks_textual(head: bytes) -> str | None:
    """The encoding a text note is in, or None for binary data."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the head is still text
        if exc.start < len(head) - 4:
            return None
    return "utf-8"


def sniff(path: Path, name: str) -> Sniffed:
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head:
        raise Rejected(marked("empty file"))
    suffix = Path(name).suffix.lower()
    guess = filetype.guess(head)
    if guess is not None:
        mime = guess.mime
        if mime == "application/zip":
            return Sniffed(ZIP, mime)
        if mime in _PHOTO_MIMES:
            return Sniffed(PHOTO, mime, _mismatch(suffix, PHOTO))
        if mime in _VIDEO_MIMES or mime == "audio/mp4":
            from temoin.collect.readers.video import has_video_stream, truncation_reason

            if has_video_stream(path):
                return Sniffed(VIDEO, mime, _mismatch(suffix, VIDEO))
            if truncation_reason(path) is not None and _cut_video(mime, suffix):
                return Sniffed(VIDEO, mime)  # its reader says how it was cut, as a video
            return Sniffed(AUDIO, "audio/mp4" if mime != "video/webm" else mime)
        if mime in _AUDIO_MIMES:
            return Sniffed(AUDIO, mime, _mismatch(suffix, AUDIO))
        raise Rejected(marked("unsupported content (%(mime)s)") % {"mime": mime})
    encoding = _looks_textual(head)
    if encoding is None:
        raise Rejected(marked("unrecognised binary content"))
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(_MARKUP):
        named = suffix or marked("without extension")
        raise Rejected(marked("markup (HTML/XML) content named %(name)s") % {"name": named})
    if suffix not in _TEXT_SUFFIXES:
        raise Rejected(
            marked("text content under a %(suffix)s name: not the file its name claims")
            % {"suffix": suffix}
        )
    from temoin.collect.readers.chat import sniff_chat

    app = sniff_chat(path)
    if app is not None:
        return Sniffed(CHAT, "application/json" if app == "telegram" else "text/plain")
    if suffix == ".json":
        raise Rejected(marked("JSON that is not a Telegram export (unsupported)"))
    return Sniffed(TEXT, _TEXT_MIMES.get(suffix, "text/plain"))


_RAW_SUFFIXES = {".dng", ".nef", ".nrw", ".arw", ".sr2", ".cr2", ".pef", ".srw", ".orf", ".rw2"}
_EXPECTED: dict[str, set[str]] = {
    PHOTO: {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".heic", ".heif", ".avif", ".tif", ".tiff"}
    | _RAW_SUFFIXES,
    VIDEO: {".mp4", ".mov", ".3gp", ".3gpp", ".m4v", ".mkv", ".webm", ".qt"},
    AUDIO: {".m4a", ".aac", ".ogg", ".opus", ".oga", ".mp3", ".wav", ".amr", ".3ga"},
}


def _cut_video(mime: str, suffix: str) -> bool:
    """Whether a file cut too short to list its streams was a video, from what is left of it.

    An MP4 or MOV holds sound alone as often as pictures (voice notes are MP4s too), so the
    streams decide; when the cut took them away, the container's brand and the name are what
    remain: a video brand (not the M4A one) under a name that is not an audio file's.
    """
    return mime != "audio/mp4" and suffix not in _EXPECTED[AUDIO]


def _mismatch(suffix: str, kind: str) -> str | None:
    if suffix and suffix not in _EXPECTED[kind]:
        return f"named {suffix} but the content is a {kind}"
    return None
