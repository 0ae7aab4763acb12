"""Zip archives (WhatsApp exports, zipped phone dumps), opened only after proving they are safe.

Everything is decided from the central directory before one byte is inflated: entry count, declared
total size, expansion ratio (of each entry and of the zip as a whole), names that would escape
(absolute, ``..``, drive letters), links, encryption, and entries that overlap one another (the
trick behind non-recursive zip bombs). Inflation is then capped by zipfile at each entry's declared
size and checked against its CRC. Zips inside a zip share one budget of inflated bytes with it, so
a small zip nesting many moderate ones cannot fill the disk: past the budget the rest is refused.
"""

from __future__ import annotations

import itertools
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from temoin.collect import names
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


class InflateBudget:
    """Bytes a top-level zip may still inflate, shared by every zip nested in it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        """Charge one entry's declared size (zipfile inflates no more); False when it won't fit."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True


def _unsafe_name(relpath: str) -> str | None:
    """Why a name (its separators already made "/") must not be followed, or None."""
    if relpath.startswith("/") or _DRIVE.match(relpath):
        return "absolute path"
    if ".." in relpath.split("/"):
        return "'..' in path"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _entry_bomb(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        return (
            f"expands {info.file_size // max(info.compress_size, 1):,} times: "
            "refused as a decompression bomb"
        )
    return None


def _check_overlap(infos: list[zipfile.ZipInfo]) -> None:
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for this, after in itertools.pairwise(ordered):
        end = this.header_offset + _LOCAL_HEADER + len(names.zip_raw(this)) + this.compress_size
        if after.header_offset < end:
            raise Rejected(
                f"zip entries {names.from_zip(this)[0]!r} and {names.from_zip(after)[0]!r} overlap: "
                "refused as a zip bomb"
            )


def open_zip(path: str, limits: ZipLimits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except UnicodeDecodeError as exc:
        raise Rejected(
            "corrupt zip: an entry flagged as named in UTF-8 has a name that is not UTF-8"
        ) from exc
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
    # Entries refused one by one as bombs are not inflated; the rest must not be one together.
    kept = [i for i in infos if _entry_bomb(i, limits) is None]
    total, packed = sum(i.file_size for i in kept), sum(i.compress_size for i in kept)
    if total > _RATIO_FLOOR and total > limits.max_ratio * max(packed, 1):
        archive.close()
        raise Rejected(
            f"zip expands {total // max(packed, 1):,} times overall, over the limit of "
            f"{limits.max_ratio:,}: refused as a decompression bomb"
        )
    return archive


def _opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        return cast(BinaryIO, archive.open(info))

    return opener


def entries(
    archive: zipfile.ZipFile,
    container: Candidate,
    limits: ZipLimits,
    budget: InflateBudget,
) -> Iterator[Candidate | Refusal]:
    """The entries of an opened zip, each charged to the budget of the zip the user gave."""
    shown, depth = container.path, container.depth + 1
    for info in archive.infolist():
        name, raw = names.from_zip(info)
        where = f"{shown}!/{name}"
        where_raw = names.joined(shown, container.raw_path, name, raw)
        # separators are found in the bytes: an escaped name's own backslashes are not folders
        relpath = names.shown(names.zip_raw(info).replace(b"\\", b"/"))
        base = relpath.rstrip("/").rsplit("/", 1)[-1]
        if info.is_dir() or relpath.startswith("__MACOSX/") or is_junk(base):
            continue
        reason = "NUL byte in name" if b"\0" in names.zip_raw(info) else _unsafe_name(relpath)
        if reason is None and _is_link(info):
            reason = "symbolic link"
        if reason is None and info.flag_bits & 0x1:
            reason = "encrypted entry"
        if reason is None:
            reason = _entry_bomb(info, limits)
        if reason is not None:
            yield Refusal(where, f"zip entry refused: {reason}", where_raw)
            continue
        if not budget.take(info.file_size):
            yield Refusal(
                shown,
                f"zip inflates to more than {budget.limit:,} bytes (counting the zips inside "
                "it): the rest of it refused as a decompression bomb",
                container.raw_path,
            )
            return
        yield Candidate(
            path=where,
            name=base,
            relpath=relpath,
            container=shown,
            size=info.file_size,
            mtime=None,  # zip times are the exporting machine's local clock: not evidence
            open=_opener(archive, info),
            depth=depth,
            raw_path=where_raw,
            budget=budget,
        )
