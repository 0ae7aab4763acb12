"""The one place formats are registered: a kind maps to the reader that understands it.

Adding a format is adding a reader module and a line here; the ingest loop never changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from temoin.collect.readers.base import AUDIO, CHAT, PHOTO, TEXT, VIDEO, MediaInfo


def _photo(path: Path, mime: str, max_pixels: int) -> MediaInfo:
    from temoin.collect.readers.photo import read_photo

    return read_photo(path, mime, max_pixels=max_pixels)


def _video(path: Path, mime: str, max_pixels: int) -> MediaInfo:
    from temoin.collect.readers.video import read_video

    return read_video(path, mime)


def _audio(path: Path, mime: str, max_pixels: int) -> MediaInfo:
    from temoin.collect.readers.audio import read_audio

    return read_audio(path, mime)


def _text(path: Path, mime: str, max_pixels: int) -> MediaInfo:
    from temoin.collect.readers.text import read_text

    return read_text(path, mime)


def _chat(path: Path, mime: str, max_pixels: int) -> MediaInfo:
    from temoin.collect.readers.chat import read_telegram, scan_whatsapp

    if mime == "application/json":
        return read_telegram(path, mime)
    return scan_whatsapp(path, mime)  # streamed: an export may hold a million messages


READERS: dict[str, Callable[[Path, str, int], MediaInfo]] = {
    PHOTO: _photo,
    VIDEO: _video,
    AUDIO: _audio,
    TEXT: _text,
    CHAT: _chat,
}


def read(kind: str, path: Path, mime: str, *, max_pixels: int) -> MediaInfo:
    return READERS[kind](path, mime, max_pixels)
