"""A bag for named recipients: one tar of it, encrypted with age to their X25519 public keys.

A bag with originals is handed to counsel, often over a channel nobody controls (a shared drive, a
courier's USB stick). Encrypted to the keys counsel gave (``age1…``), the file is readable by them
alone, with the ``age`` tool or any library of the format; the witness needs no secret of theirs.

The clear bag is built where the archive keeps clear work files (memory for an encrypted archive),
and the tar is streamed straight into age: the only file the export leaves is the sealed one.
"""

from __future__ import annotations

import os
import tarfile
import threading
from collections.abc import Iterable
from pathlib import Path

import pyrage
from pyrage import x25519

from temoin.errors import BadRecipients, UsageError

SUFFIX = ".tar.age"


def recipients(keys: Iterable[str]) -> list[x25519.Recipient]:
    """The age public keys given with ``--to``, each checked before anything is written."""
    found: list[x25519.Recipient] = []
    seen: set[str] = set()
    for text in keys:
        key = text.strip()
        if key.upper().startswith("AGE-SECRET-KEY-"):  # never echo a secret back
            raise BadRecipients(
                "--to AGE-SECRET-KEY-…: that is a secret key, keep it to yourself; give the "
                "recipient's public key (age1…)"
            )
        if not key.startswith("age1"):
            raise BadRecipients(f"--to {text}: not an age public key (they start with age1)")
        try:
            recipient = x25519.Recipient.from_str(key)
        except pyrage.RecipientError as exc:
            raise BadRecipients(f"--to {text}: not an age public key ({exc})") from exc
        if key not in seen:
            seen.add(key)
            found.append(recipient)
    return found


def target(out: Path) -> Path:
    """The sealed bag's file for the name the person gave: ``OUT.tar.age`` (as given if it ends
    so already); refused when something is there, so nothing is ever overwritten."""
    out = out.absolute()
    file = out if out.name.endswith(SUFFIX) else out.with_name(out.name + SUFFIX)
    if file.exists() or file.is_symlink():
        raise UsageError(f"{file}: already exists; choose a new name for the sealed bag")
    return file


def bag_name(file: Path) -> str:
    """The bag's folder inside the tar: the file's name without ``.tar.age``."""
    return file.name[: -len(SUFFIX)] or "bag"


def seal_tree(folder: Path, file: Path, to: list[x25519.Recipient]) -> None:
    """Tar ``folder`` (as ``bag_name(file)/``) into age for ``to``, written durably as ``file``.

    A thread writes the tar into a pipe that age reads from, so no clear tar exists anywhere.
    A failure on either side removes the partial file."""
    file.parent.mkdir(parents=True, exist_ok=True)
    part = file.with_name(f".{file.name}.part")
    read_end, write_end = os.pipe()
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            with (
                open(write_end, "wb") as sink,
                tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                tar.add(folder, arcname=bag_name(file), filter=_anonymous)
        except BaseException as exc:  # said by the reading side, after age stops
            failed.append(exc)

    producer = threading.Thread(target=produce, name="bag-tar", daemon=True)
    try:
        with open(read_end, "rb") as source:  # closed on failure: the tar side stops too
            producer.start()
            with open(part, "xb") as sink:
                pyrage.encrypt_io(source, sink, to)
                sink.flush()
                os.fsync(sink.fileno())
        producer.join()
        if failed:
            raise failed[0]
        os.replace(part, file)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        if producer.ident is None:
            os.close(write_end)
        else:
            producer.join()


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Entries name no account of this machine: the bag's own files say who acted."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() else 0o644
    return info
