"""The one place formats are registered: a kind maps to the reader that understands it.

Adding a format is adding a reader module and a line here; the ingest loop never changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.collect.readers.base import AUDIO, CHAT, PHOTO, TEXT, VIDEO, MediaInfo

if TYPE_CHECKING:
    from temoin.collect.exiftool import ExifToolBatch

DEFAULT_MAX_DECODE_BYTES = 384 * 1024**2


@dataclass(frozen=True)
class Limits:
    """What a reader may spend on one file: the archive's settings, passed to every reader."""

    max_pixels: int
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES
    exiftool: ExifToolBatch | None = None  # the ingest's one fallback process, shared by readers


def _photo(path: Path, mime: str, limits: Limits) -> MediaInfo:
    from temoin.collect.readers.photo import read_photo

    return read_photo(
        path,
        mime,
        max_pixels=limits.max_pixels,
        max_decode_bytes=limits.max_decode_bytes,
        exiftool=limits.exiftool,
    )


def _video(path: Path, mime: str, limits: Limits) -> MediaInfo:
    from temoin.collect.readers.video import read_video

    return read_video(path, mime)


def _audio(path: Path, mime: str, limits: Limits) -> MediaInfo:
    from temoin.collect.readers.audio import read_audio

    return read_audio(path, mime)


def _text(path: Path, mime: str, limits: Limits) -> MediaInfo:
    from temoin.collect.readers.text import read_text

    return read_text(path, mime)


def _chat(path: Path, mime: str, limits: Limits) -> MediaInfo:
    from temoin.collect.readers.chat import read_telegram, scan_whatsapp

    if mime == "application/json":
        return read_telegram(path, mime)
    return scan_whatsapp(path, mime)  # streamed: an export may hold a million messages


READERS: dict[str, Callable[[Path, str, Limits], MediaInfo]] = {
    PHOTO: _photo,
    VIDEO: _video,
    AUDIO: _audio,
    TEXT: _text,
    CHAT: _chat,
}


def read(
    kind: str,
    path: Path,
    mime: str,
    *,
    max_pixels: int,
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
    exiftool: ExifToolBatch | None = None,
) -> MediaInfo:
    return READERS[kind](path, mime, Limits(max_pixels, max_decode_bytes, exiftool))
