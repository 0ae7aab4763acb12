"""A published folder written incrementally: unchanged files are left alone, gone ones removed.

The folder's manifest (``.temoin-manifest.json``) lists every file this stage wrote there with its
SHA-256 and, for files made from a derivative (copies, smaller renditions, posters), the key they
were made from. A page is rewritten only when its bytes differ; a rendition is remade only when its
key changed. A file in the old manifest that the new build does not produce is deleted: a photo
whose consent was withdrawn must not linger on the host. Files the manifest does not list (a
host's own README, a CNAME, a person's own pictures in ``media/``) are never touched.

The archive keeps its own copy of each folder's manifest (``published/<folder key>.json``): a
manifest lost from the folder (it is a dotfile, easily left out of a copy) is read from there, so
a withdrawn photo is still removed, and a first build over a folder with files in it deletes none.
In an encrypted archive that copy and the journal of files being placed are sealed like the rest of
it (they list what was published, and where), and named by a keyed hash of the folder's path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temoin.errors import naming_disk_full
from temoin.keep.sealing import Plain, Sealer

MANIFEST = ".temoin-manifest.json"
VERSION = 1


class Output:
    def __init__(self, root: Path, kept: Path | None = None, sealer: Sealer | None = None) -> None:
        """``kept`` is where the archive keeps its copy of this folder's manifest; ``sealer``
        how the archive's files are written (sealed in an encrypted archive)."""
        self.root = root
        self.kept = kept
        self.sealer: Sealer = sealer or Plain()
        in_folder = _raw(root / MANIFEST)
        in_archive = _raw(kept, self.sealer) if kept else b""
        listed, copy = _read_manifest(in_folder), _read_manifest(in_archive)
        # what the folder said it held before this build ("" for a first build): its own manifest
        # unless that is gone or unreadable, then the archive's copy
        found = in_folder if listed or not in_archive else in_archive
        self.old_manifest_sha256 = hashlib.sha256(found).hexdigest() if found else ""
        # Every file either manifest lists, and any a killed build placed before listing it, is
        # ours: a withdrawn photo among them is removed; the folder's entries say what is there.
        self.pending = kept.with_suffix(".pending") if kept is not None else None
        self._journal = _pending(self.pending, self.sealer)
        placed: dict[str, dict[str, Any]] = {rel: {} for rel in self._journal if _safe(rel)}
        self.old: dict[str, dict[str, Any]] = {**placed, **copy, **listed}
        self._existed: set[str] = set()  # files this build replaced (not its to take back)
        self.manifest_sha256 = ""
        self.files: dict[str, dict[str, Any]] = {}
        self.written: list[str] = []
        self.unchanged: list[str] = []
        self.custody: dict[str, Any] | None = None  # the custody head it was built at

    def page(self, rel: str, data: bytes) -> bool:
        """Write ``data`` at ``rel`` unless the same bytes are already there; True if written."""
        digest = hashlib.sha256(data).hexdigest()
        self.files[rel] = {"sha256": digest}
        old = self.old.get(rel)
        if old is not None and old.get("sha256") == digest and (self.root / rel).is_file():
            self.unchanged.append(rel)
            return False
        self._place(rel, lambda tmp: tmp.write_bytes(data))
        self.written.append(rel)
        return True

    def made(self, rel: str, key: str, make: Callable[[], bytes]) -> bool:
        """A file made from ``key`` (e.g. a derivative's hash): made again only when the key moved."""
        old = self.old.get(rel)
        if old is not None and old.get("key") == key and (self.root / rel).is_file():
            self.files[rel] = old
            self.unchanged.append(rel)
            return False
        data = make()
        self._place(rel, lambda tmp: tmp.write_bytes(data))
        self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "key": key}
        self.written.append(rel)
        return True

    def copy(self, rel: str, source: Path, sha256: str) -> bool:
        """A byte-for-byte copy of a file whose hash is known (a signed derivative)."""
        old = self.old.get(rel)
        if old is not None and old.get("key") == sha256 and (self.root / rel).is_file():
            self.files[rel] = old
            self.unchanged.append(rel)
            return False
        self._place(rel, lambda tmp: shutil.copyfile(source, tmp))
        self.files[rel] = {"sha256": sha256, "key": sha256}
        self.written.append(rel)
        return True

    def has(self, rel: str) -> bool:
        return rel in self.files

    def finish(self, *, prune: bool = True) -> list[str]:
        """Delete what this build no longer produces, then record the manifest; the removed paths.

        ``prune=False`` is for a partial build (the feed alone): the rest of the folder is kept.
        """
        if not prune:
            self.files = {**self.old, **self.files}
        removed = sorted(set(self.old) - set(self.files))
        for rel in removed:
            (self.root / rel).unlink(missing_ok=True)
        body: dict[str, Any] = {"version": VERSION, "files": dict(sorted(self.files.items()))}
        if self.custody is not None:
            body["custody"] = self.custody
        data = json.dumps(body, indent=1, sort_keys=True).encode("utf-8")
        if self.kept is not None:  # the archive's copy first: it must never know less
            self.kept.parent.mkdir(parents=True, exist_ok=True)
            if self.sealer.sealed:
                self.sealer.write_bytes(self.kept, data)
            else:
                tmp = self.kept.with_name(f".{self.kept.name}.part")
                tmp.write_bytes(data)
                os.replace(tmp, self.kept)
        self._place(MANIFEST, lambda tmp: tmp.write_bytes(data))
        self.manifest_sha256 = hashlib.sha256(data).hexdigest()
        if self.pending is not None:
            self.pending.unlink(missing_ok=True)  # the manifests list all of it now
        return removed

    def abandon(self) -> None:
        """After a build that failed part way (a full disk): take back what it newly placed.

        The manifest stays as the last finished build left it; a file this build added (not
        replacing one already there) would be listed nowhere and could linger, so it goes.
        Removing a file needs no space.
        """
        for rel in self.written:
            if rel not in self.old and rel not in self._existed:
                (self.root / rel).unlink(missing_ok=True)

    def _place(self, rel: str, fill: Callable[[Path], Any]) -> None:
        target = self.root / rel
        tmp = target.with_name(f".{target.name}.part")
        if target.exists():
            self._existed.add(rel)
        elif rel not in self.old and rel != MANIFEST and self.pending is not None:
            # noted before it is placed: a build killed now leaves it listed somewhere
            self._note(self.pending, rel)
        try:
            with naming_disk_full(str(target)):
                target.parent.mkdir(parents=True, exist_ok=True)
                fill(tmp)
                os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _note(self, journal: Path, rel: str) -> None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        self._journal.append(rel)
        if self.sealer.sealed:  # a sealed file is written whole: the journal so far, again
            text = "".join(json.dumps(name) + "\n" for name in self._journal)
            self.sealer.write_bytes(journal, text.encode("utf-8"))
            return
        with open(journal, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(rel) + "\n")


def folder_key(out: Path) -> str:
    """A folder's name in the archive's records: its path's hash, so no path is written there."""
    return hashlib.sha256(os.fsencode(out.absolute())).hexdigest()[:16]


def kept_manifest(archive_root: Path, out: Path, sealer: Sealer | None = None) -> Path:
    """Where the archive keeps its copy of the manifest of the folder ``out``.

    An encrypted archive names it by a keyed hash: a plain hash of a likely path (a home folder's
    ``site``) could be guessed and would say where this archive published."""
    key = folder_key(out)
    if sealer is not None and sealer.sealed:
        key = sealer.name(hashlib.sha256(os.fsencode(out.absolute())).hexdigest())[:16]
    return archive_root / "published" / f"{key}.json"


def _pending(path: Path | None, sealer: Sealer) -> list[str]:
    if path is None:
        return []
    names = []
    for line in _raw(path, sealer).decode("utf-8", errors="replace").splitlines():
        try:
            name = json.loads(line)
        except ValueError:
            continue  # a line cut short by the kill
        if isinstance(name, str):
            names.append(name)
    return names


def _raw(path: Path, sealer: Sealer | None = None) -> bytes:
    """A file's bytes (decrypted when ``sealer`` seals the archive), empty when it is not there."""
    try:
        return sealer.read_bytes(path) if sealer is not None else path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return b""


def _read_manifest(raw: bytes) -> dict[str, dict[str, Any]]:
    """The previous build's files; an unreadable manifest means a full build (nothing is lost)."""
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {rel: entry for rel, entry in files.items() if isinstance(entry, dict) and _safe(rel)}


def _safe(rel: str) -> bool:
    """A manifest names files inside the folder only: a doctored one must not delete elsewhere."""
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts
