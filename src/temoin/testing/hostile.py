"""A hostile corpus: every kind of bad file a phone dump, a careless export or an attacker can hold.

`make_hostile_corpus` writes them into a folder and returns, for each path relative to it, a fragment
of the reason ingest must give. A photo cut short is the exception: it is stored as evidence, marked
damaged (`truncated.jpg`). Tests ingest the folder and check each refusal, the memory ceiling
and that nothing is written outside the archive.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from temoin.testing.photos import make_photo


def _zip_with(path: Path, entries: dict[str, bytes], *, link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2016, 10, 24, 7, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        if link:
            info = zipfile.ZipInfo("link-to-passwd", date_time=(2016, 10, 24, 7, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, link)
    return path


def overlapping_zip(path: Path, copies: int = 50, kernel_bytes: int = 1024 * 1024) -> Path:
    """A non-recursive zip bomb: many central-directory entries share one compressed kernel."""
    data = b"\0" * kernel_bytes
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    crc = zlib.crc32(data)
    name = b"kernel.bin"
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(packed), len(data), len(name), 0
    )
    body = local + name + packed
    central = b""
    for i in range(copies):
        entry = f"copy{i:03d}.bin".encode()
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(packed),
                len(data),
                len(entry),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + entry
        )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, copies, copies, len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return path


def make_hostile_corpus(
    folder: Path, outside: Path, *, huge_bytes: int = 9 * 1024**3
) -> dict[str, str]:
    """Write the corpus into `folder`; `outside` is a folder links may point to (it must exist).

    `huge_bytes` is the size of the sparse "huge" video: above the archive's file size limit.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}

    (folder / "page.jpg").write_text("<!DOCTYPE html><html><body>not a photo</body></html>")
    expect["page.jpg"] = "markup"

    good = make_photo(folder / "_good.jpg", size=(800, 600), seed=7).read_bytes()
    (folder / "_good.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])  # kept, marked damaged

    corrupt = bytearray(good)
    corrupt[600:4000] = os.urandom(3400)
    (folder / "scrambled.jpg").write_bytes(bytes(corrupt[:2000]) + b"\xff\xd9")
    expect["scrambled.jpg"] = "image"

    flood = io.BytesIO()
    from PIL import Image

    Image.new("1", (1, 1)).save(flood, "PNG")
    png = bytearray(flood.getvalue())
    png[16:24] = struct.pack(">II", 100_000, 100_000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    (folder / "pixel-flood.png").write_bytes(bytes(png))
    expect["pixel-flood.png"] = "decompression bomb"

    (folder / "noise.mp4").write_bytes(os.urandom(4096))
    expect["noise.mp4"] = "unrecognised binary"

    (folder / "empty.jpg").write_bytes(b"")
    expect["empty.jpg"] = "empty file"

    (folder / "export.json").write_text('{"not": "a telegram export"}')
    expect["export.json"] = "not a Telegram export"

    (folder / "archive.docx").write_bytes(b"%PDF-1.4\n" + os.urandom(256))
    expect["archive.docx"] = "unsupported content"

    (folder / "not-really.zip").write_bytes(b"PK\x03\x04" + os.urandom(512))
    expect["not-really.zip"] = "zip"

    bomb = folder / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (64 * 1024 * 1024))
    expect["bomb.zip!/zeros.bin"] = "decompression bomb"

    overlapping_zip(folder / "overlap.zip")
    expect["overlap.zip"] = "overlap"

    _zip_with(
        folder / "escape.zip",
        {"../evil.txt": b"escape", "/abs/evil.txt": b"abs", "C:\\evil.txt": b"drive"},
        link="/etc/passwd",
    )
    expect["escape.zip!/../evil.txt"] = "'..'"
    expect["escape.zip!//abs/evil.txt"] = "absolute"
    expect["escape.zip!/C:\\evil.txt"] = "absolute"
    expect["escape.zip!/link-to-passwd"] = "symbolic link"

    inner = _zip_with(outside / "_inner.zip", {"deep.txt": b"deep note"})
    middle = _zip_with(outside / "_middle.zip", {"inner.zip": inner.read_bytes()})
    _zip_with(folder / "nested.zip", {"middle.zip": middle.read_bytes()})
    inner.unlink()
    middle.unlink()
    expect["nested.zip!/middle.zip!/inner.zip"] = "nested"

    secret = outside / "secret.txt"
    secret.write_text("a file outside the dump")
    (folder / "link-out.txt").symlink_to(secret)
    expect["link-out.txt"] = "symbolic link out of the folder"

    os.mkfifo(folder / "pipe.jpg")
    expect["pipe.jpg"] = "not a regular file"

    with open(folder / "huge.mov", "wb") as handle:  # sparse: costs no disk
        handle.truncate(huge_bytes)
    expect["huge.mov"] = "larger than the limit"
    return expect
