"""Where an unlocked encrypted archive keeps what must never reach the disk: its data keys between
commands (``temoin unlock``), and the decrypted copies a stage reads (photos for Pillow, videos
for PyAV).

That is a memory-backed folder: ``$TEMOIN_RUNTIME_DIR`` when set, else ``$XDG_RUNTIME_DIR/temoin``
(the session's own tmpfs on a desktop), else ``/dev/shm/temoin-UID``. It empties itself at
power-off; ``temoin lock`` and ``temoin wipe`` empty it at once, and an unlock that ends by itself
is ended by a small process that waits for that moment. A machine with no memory-backed folder
must be given one (or knowingly another) with ``TEMOIN_RUNTIME_DIR``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from temoin.errors import ArchiveSealed, UsageError
from temoin.keep.keys import Keys

RUNTIME_ENV = "TEMOIN_RUNTIME_DIR"
KEYS_NAME = "keys.json"
ROOT_NAME = "root"  # the archive folder this entry is for: `wipe` finds it without the key file
_MEMORY_FS = {"tmpfs", "ramfs"}
_ARCHIVE_ID = re.compile(r"[0-9a-f]{32}")


def runtime_root() -> Path:
    """The memory-backed folder for this user, made private (0700) if it is not yet there."""
    explicit = os.environ.get(RUNTIME_ENV)
    if explicit:
        folder = Path(explicit)
    elif os.environ.get("XDG_RUNTIME_DIR") and _in_memory(Path(os.environ["XDG_RUNTIME_DIR"])):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "temoin"
    elif _in_memory(Path("/dev/shm")):
        folder = Path("/dev/shm") / f"temoin-{os.getuid()}"
    else:
        raise UsageError(
            "this machine has no memory-backed folder for an encrypted archive's keys and "
            f"decrypted copies: set {RUNTIME_ENV} to one (a tmpfs)"
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UsageError(f"{folder}: not a folder of this user; set {RUNTIME_ENV} elsewhere")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)
    return folder


def in_memory() -> bool:
    """Whether decrypted copies and cached keys stay off the disk on this machine."""
    return _in_memory(runtime_root())


def archive_folder(archive: str, root: Path | None = None) -> Path:
    """This archive's entry in the runtime folder; ``root`` (its folder) is noted there when
    given. The id comes from the key file's clear header: only 32 hex digits name an entry."""
    if not _ARCHIVE_ID.fullmatch(archive):
        raise ArchiveSealed(f"temoin.key: damaged (its archive id {archive[:40]!r} is not one)")
    folder = runtime_root() / archive
    if root is not None:
        folder.mkdir(mode=0o700, exist_ok=True)
        note = folder / ROOT_NAME
        if not note.exists():
            note.write_text(str(root.absolute()), "utf-8")
    return folder


def remember(keys: Keys, seconds: float | None, root: Path) -> Path:
    """Keep ``keys`` for later commands, until ``seconds`` from now (None: until `lock`)."""
    folder = archive_folder(keys.archive, root)
    path = folder / KEYS_NAME
    body = json.loads(keys.to_json())
    body["until"] = None if seconds is None else time.time() + seconds
    tmp = folder / f".{KEYS_NAME}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(body).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if body["until"] is not None:
        _forget_at(keys.archive, body["until"])
    return path


def _forget_at(archive: str, until: float) -> None:
    """A detached process that drops the cached keys when the unlock ends, whether or not any
    command runs then (a laptop seized powered on an hour later must not still hold them)."""
    subprocess.Popen(
        [sys.executable, "-I", "-c", _EXPIRE, str(archive_folder(archive)), repr(until)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )  # fmt: skip


# Waits for the end, then forgets the keys if they are still those of that unlock (a later
# unlock or a lock may have come since). Standard library only: it lives for hours.
_EXPIRE = """
import json, shutil, sys, time
folder, until = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, until - time.time()))
try:
    with open(folder + "/keys.json", encoding="utf-8") as handle:
        current = json.load(handle).get("until")
except (OSError, ValueError):
    sys.exit(0)
if current == until:
    shutil.rmtree(folder, ignore_errors=True)
"""


def recall(archive: str) -> Keys | None:
    """The keys `temoin unlock` left for this archive, or None (never unlocked, expired, locked)."""
    path = archive_folder(archive) / KEYS_NAME
    try:
        body = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    until = body.pop("until", None)
    if until is not None and time.time() > float(until):
        forget(archive)
        return None
    return Keys.from_json(json.dumps(body))


def forget(archive: str) -> None:
    """Drop the cached keys and every decrypted copy of this archive, of every process."""
    shutil.rmtree(archive_folder(archive), ignore_errors=True)


def forget_root(root: Path) -> list[str]:
    """Forget every entry noted for the archive folder ``root``: what `wipe` does when the key
    file that names the entry is gone, damaged or altered."""
    where = str(root.absolute())
    gone = []
    base = runtime_root()
    for entry in base.iterdir():
        if not _ARCHIVE_ID.fullmatch(entry.name):
            continue
        try:
            noted = (entry / ROOT_NAME).read_text("utf-8")
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            continue
        if noted == where:
            shutil.rmtree(entry, ignore_errors=True)
            gone.append(entry.name)
    return gone


def sweep_dead(archive: str) -> None:
    """Remove the decrypted copies of processes that died without cleaning up."""
    folder = archive_folder(archive)
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if not entry.name.startswith("clear-"):
            continue
        pid = entry.name.split("-")[1]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (its clear copies are then still its own)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _in_memory(folder: Path) -> bool:
    """Whether ``folder`` lies on a memory file system (read from /proc/self/mounts)."""
    with contextlib.suppress(OSError):
        target = str(folder.resolve())
        best, kind = "", ""
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) < 3:
                    continue
                point = parts[1].replace("\\040", " ")
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, parts[2]
        return kind in _MEMORY_FS
    return False
