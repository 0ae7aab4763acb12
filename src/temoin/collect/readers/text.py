"""Text notes (.txt, .md, .markdown, .rst, .org): kept whole as the original; the sort stage splits them
into timed entries."""

from __future__ import annotations

from pathlib import Path

from temoin.collect.entryfile import parse_entry
from temoin.collect.readers.base import TEXT, MediaInfo
from temoin.errors import Rejected

MAX_TEXT_BYTES = 16 * 1024 * 1024


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def read_text(path: Path, mime: str) -> MediaInfo:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise Rejected(f"text note larger than {MAX_TEXT_BYTES // 1024**2} MiB")
    try:
        text = decode_text(path.read_bytes())
    except UnicodeDecodeError as exc:
        raise Rejected(f"text that is neither UTF-8 nor UTF-16 (byte {exc.start})") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fields, body = parse_entry(text)
    meta: dict[str, object] = {
        "lines": text.count("\n") + (0 if text.endswith("\n") else 1),
        "chars": len(text),
    }
    if fields is not None:
        # written in the web app: the sort stage reads its time from here, never from the text
        meta["entry"] = fields.as_meta()
        text = body
    return MediaInfo(kind=TEXT, mime=mime, meta=meta, text=text)
