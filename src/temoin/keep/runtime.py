"""Where an unlocked encrypted archive keeps what must never reach the disk: its data keys between
commands (``temoin unlock``), and the decrypted copies a stage reads (photos for Pillow, videos
for PyAV).

That is a memory-backed folder: ``$TEMOIN_RUNTIME_DIR`` when set, else ``$XDG_RUNTIME_DIR/temoin``
(the session's own tmpfs on a desktop), else ``/dev/shm/temoin-UID``. It empties itself at
power-off; ``temoin lock`` and ``temoin wipe`` empty it at once. Only when the machine has no
memory-backed folder at all does it fall back to the system's temporary folder, and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from temoin.errors import UsageError
from temoin.keep.keys import Keys

RUNTIME_ENV = "TEMOIN_RUNTIME_DIR"
KEYS_NAME = "keys.json"
_MEMORY_FS = {"tmpfs", "ramfs"}


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
        folder = Path(tempfile.gettempdir()) / f"temoin-{os.getuid()}"
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


def archive_folder(archive: str) -> Path:
    return runtime_root() / archive


def remember(keys: Keys, seconds: float | None) -> Path:
    """Keep ``keys`` for later commands, until ``seconds`` from now (None: until `lock`)."""
    folder = archive_folder(keys.archive)
    folder.mkdir(mode=0o700, exist_ok=True)
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
    return path


def recall(archive: str) -> Keys | None:
    """The keys `temoin unlock` left for this archive, or None (never unlocked, expired, locked)."""
    path = runtime_root() / archive / KEYS_NAME
    try:
        body = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    until = body.pop("until", None)
    if until is not None and time.time() > float(until):
        forget(archive)
        return None
    return Keys.from_json(json.dumps(body))


def unlocked_until(archive: str) -> float | bool | None:
    """False when not unlocked; None when until `lock`; else the time it locks itself."""
    path = runtime_root() / archive / KEYS_NAME
    try:
        body = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    until = body.get("until")
    return None if until is None else float(until)


def forget(archive: str) -> None:
    """Drop the cached keys and every decrypted copy of this archive, of every process."""
    shutil.rmtree(runtime_root() / archive, ignore_errors=True)


def sweep_dead(archive: str) -> None:
    """Remove the decrypted copies of processes that died without cleaning up."""
    folder = runtime_root() / archive
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if not entry.name.startswith("clear-"):
            continue
        pid = entry.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
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
