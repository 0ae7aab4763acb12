"""Safe walking of what the user hands to `ingest`: folders, single files and zips.

Every file to ingest becomes a `Candidate` with a way to open it; anything that must not be read
becomes a `Refusal` with its one-line reason. Nothing here writes, and nothing follows a link out of
the folder it was given or opens a FIFO or a device (which would hang the batch).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

# Files operating systems leave behind; they are not field material.
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".nomedia"}


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


@dataclass
class Refusal:
    path: str
    reason: str


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
    return Candidate(
        path=shown,
        name=os.path.basename(path),
        relpath=relpath,
        container=container,
        size=info.st_size,
        mtime=datetime.fromtimestamp(info.st_mtime, UTC).replace(tzinfo=None),
        open=_open_regular(path),
    )


def _inside(target: str, root: str) -> bool:
    return os.path.commonpath([target, root]) == root


def walk(given: Path) -> Iterator[Candidate | Refusal]:
    """Everything under one path the user gave, in a stable order."""
    shown_root = str(given)
    try:
        info = os.stat(given)  # a path the user names explicitly may itself be a link
    except OSError as exc:
        yield Refusal(shown_root, f"cannot read: {exc.strerror or exc}")
        return
    if stat.S_ISREG(info.st_mode):
        yield _candidate(str(given), shown_root, given.name, str(given.parent), info)
        return
    if not stat.S_ISDIR(info.st_mode):
        yield Refusal(shown_root, "not a regular file or folder (device, FIFO or socket)")
        return
    root = os.path.realpath(given)
    yield from _walk_dir(root, root, shown_root)


def _walk_dir(folder: str, root: str, shown_root: str) -> Iterator[Candidate | Refusal]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Refusal(os.path.join(shown_root, os.path.relpath(folder, root)), str(exc.strerror))
        return
    for entry in entries:
        rel = os.path.relpath(entry.path, root)
        shown = os.path.join(shown_root, rel)
        if is_junk(entry.name):
            continue
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not _inside(target, root):
                    yield Refusal(shown, "symbolic link out of the folder: not followed")
                # a link inside the folder: its target is ingested where it really lies
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield Refusal(shown, f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk_dir(entry.path, root, shown_root)
        elif stat.S_ISREG(info.st_mode):
            yield _candidate(entry.path, shown, rel.replace(os.sep, "/"), root, info)
        else:
            yield Refusal(shown, "not a regular file (device, FIFO or socket)")
