"""Safe walking of what the user hands to `ingest`: folders, single files and zips.

Every file to ingest becomes a `Candidate` with a way to open it; anything that must not be read
becomes a `Refusal` with its one-line reason. Nothing here writes, and nothing follows a link out of
the folder it was given or opens a FIFO or a device (which would hang the batch). Folders are walked
with a stack of our own, not by recursion, so a tree nested thousands deep costs a refusal for its
deep branch rather than the whole batch; names that are not UTF-8 are shown escaped and their exact
bytes kept (see `temoin.collect.names`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from temoin.collect import names

if TYPE_CHECKING:
    from temoin.collect.zips import InflateBudget

# Files operating systems leave behind; they are not field material.
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".nomedia"}
# Phones and cameras nest a few folders deep; a path this deep is a trap or a damaged disk.
MAX_FOLDER_DEPTH = 128


@dataclass
class Candidate:
    path: str  # as shown to the user: "dump/DCIM/IMG_1.jpg" or "chat.zip!/IMG-1.jpg"
    name: str  # the file name alone
    relpath: str  # path inside its container (folder or zip), "/"-separated
    container: str  # the folder or zip it came from, for linking chat attachments
    size: int  # declared size; the copy stops at the archive's limit whatever it says
    mtime: datetime | None
    open: Callable[[], BinaryIO]
    depth: int = 0  # zip nesting depth
    raw_path: bytes | None = None  # the exact bytes of `path` when some had to be escaped in it
    budget: InflateBudget | None = (
        None  # inside a zip: what the zip the user gave may still inflate
    )


@dataclass
class Refusal:
    path: str
    reason: str
    raw_path: bytes | None = None


def is_junk(name: str) -> bool:
    lowered = name.lower()
    return lowered in JUNK_NAMES or lowered.startswith("._")


def _open_regular(path: str) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError("not a regular file")
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb", buffering=0)
        except BaseException:
            os.close(fd)
            raise

    return opener


def _candidate(
    path: str, shown: str, relpath: str, container: str, info: os.stat_result
) -> Candidate:
    text, raw = names.from_os(shown)
    return Candidate(
        path=text,
        name=names.from_os(os.path.basename(path))[0],
        relpath=names.from_os(relpath)[0],
        container=names.from_os(container)[0],
        size=info.st_size,
        mtime=datetime.fromtimestamp(info.st_mtime, UTC).replace(tzinfo=None),
        open=_open_regular(path),
        raw_path=raw,
    )


def _refusal(shown: str, reason: str) -> Refusal:
    text, raw = names.from_os(shown)
    return Refusal(text, reason, raw)


def _inside(target: str, root: str) -> bool:
    return os.path.commonpath([target, root]) == root


def walk(given: Path, max_depth: int = MAX_FOLDER_DEPTH) -> Iterator[Candidate | Refusal]:
    """Everything under one path the user gave, in a stable order."""
    shown_root = str(given)
    try:
        info = os.stat(given)  # a path the user names explicitly may itself be a link
    except OSError as exc:
        yield _refusal(shown_root, f"cannot read: {exc.strerror or exc}")
        return
    if stat.S_ISREG(info.st_mode):
        yield _candidate(str(given), shown_root, given.name, str(given.parent), info)
        return
    if not stat.S_ISDIR(info.st_mode):
        yield _refusal(shown_root, "not a regular file or folder (device, FIFO or socket)")
        return
    root = os.path.realpath(given)
    yield from _walk_tree(root, shown_root, max_depth)


def _walk_tree(root: str, shown_root: str, max_depth: int) -> Iterator[Candidate | Refusal]:
    """Depth first, each folder's entries by name: the order a recursive walk would give."""
    stack: list[tuple[Iterator[os.DirEntry[str]], int]] = []
    listed = _listing(root, root, shown_root)
    if isinstance(listed, Refusal):
        yield listed
        return
    stack.append((iter(listed), 1))
    while stack:
        entries, depth = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        rel = os.path.relpath(entry.path, root)
        shown = os.path.join(shown_root, rel)
        if is_junk(entry.name):
            continue
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not _inside(target, root):
                    yield _refusal(shown, "symbolic link out of the folder: not followed")
                # a link inside the folder: its target is ingested where it really lies
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield _refusal(shown, f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(info.st_mode):
            if depth >= max_depth:
                yield _refusal(
                    shown, f"folders nested more than {max_depth} deep: this branch not read"
                )
                continue
            listed = _listing(entry.path, root, shown_root)
            if isinstance(listed, Refusal):
                yield listed
            else:
                stack.append((iter(listed), depth + 1))
        elif stat.S_ISREG(info.st_mode):
            yield _candidate(entry.path, shown, rel.replace(os.sep, "/"), root, info)
        else:
            yield _refusal(shown, "not a regular file (device, FIFO or socket)")


def _listing(folder: str, root: str, shown_root: str) -> list[os.DirEntry[str]] | Refusal:
    try:
        with os.scandir(folder) as scan:
            return sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        shown = os.path.join(shown_root, os.path.relpath(folder, root))
        return _refusal(shown, str(exc.strerror or exc))
