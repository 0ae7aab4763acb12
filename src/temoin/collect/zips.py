"""Zip archives (WhatsApp exports, zipped phone dumps), opened only after proving they are safe.

Everything is decided from the central directory before one byte is inflated: entry count, declared
total size, per-entry expansion ratio, names that would escape (absolute, ``..``, drive letters),
links, encryption, and entries that overlap one another (the trick behind non-recursive zip bombs).
Inflation is then capped by zipfile at each entry's declared size and checked against its CRC.
"""

from __future__ import annotations

import itertools
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from temoin.collect.walk import Candidate, Refusal, is_junk
from temoin.errors import Rejected

_DRIVE = re.compile(r"^[A-Za-z]:")
_LOCAL_HEADER = 30
_RATIO_FLOOR = 1024 * 1024  # small entries may compress well without being bombs


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: int
    max_depth: int


def _unsafe_name(name: str) -> str | None:
    if "\x00" in name:
        return "NUL byte in name"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        return "absolute path"
    if ".." in normal.split("/"):
        return "'..' in path"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _check_overlap(infos: list[zipfile.ZipInfo]) -> None:
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for this, after in itertools.pairwise(ordered):
        end = (
            this.header_offset
            + _LOCAL_HEADER
            + len(this.orig_filename.encode())
            + this.compress_size
        )
        if after.header_offset < end:
            raise Rejected(
                f"zip entries {this.filename!r} and {after.filename!r} overlap: "
                "refused as a zip bomb"
            )


def open_zip(path: str, limits: ZipLimits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Rejected(f"corrupt zip: {exc}") from exc
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        archive.close()
        raise Rejected(f"zip has {len(infos):,} entries, over the limit of {limits.max_entries:,}")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        archive.close()
        raise Rejected(
            f"zip declares {total:,} bytes uncompressed, over the limit of "
            f"{limits.max_total_bytes:,}: refused as a decompression bomb"
        )
    try:
        _check_overlap([i for i in infos if not i.is_dir()])
    except Rejected:
        archive.close()
        raise
    return archive


def entries(
    archive: zipfile.ZipFile, shown: str, depth: int, limits: ZipLimits
) -> Iterator[Candidate | Refusal]:
    for info in archive.infolist():
        name = info.filename
        where = f"{shown}!/{name}"
        base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        if info.is_dir() or name.startswith("__MACOSX/") or is_junk(base):
            continue
        reason = _unsafe_name(name)
        if reason is None and _is_link(info):
            reason = "symbolic link"
        if reason is None and info.flag_bits & 0x1:
            reason = "encrypted entry"
        if (
            reason is None
            and info.file_size > _RATIO_FLOOR
            and info.file_size > limits.max_ratio * max(info.compress_size, 1)
        ):
            reason = (
                f"expands {info.file_size // max(info.compress_size, 1):,} times: "
                "refused as a decompression bomb"
            )
        if reason is not None:
            yield Refusal(where, f"zip entry refused: {reason}")
            continue
        yield Candidate(
            path=where,
            name=base,
            relpath=name.replace("\\", "/"),
            container=shown,
            size=info.file_size,
            mtime=None,  # zip times are the exporting machine's local clock: not evidence
            open=lambda info=info: archive.open(info),  # type: ignore[misc]
            depth=depth,
        )
