"""How a worker hands a rendering back: a folder in the shared archive folder, made whole at once.

A worker renders into a hidden folder of its own under ``work/results/`` and renames it to the
rendering's name when both files are written and synced: the rendered file and ``result.json``
(what the rendering did, or why it failed). A folder under its final name is therefore always
complete. A second worker that rendered the same request (the first was taken for dead) finds
the name taken and discards its copy, so one result stands per request; the coordinator records
it and removes the folder.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temoin.keep.vault import fsync_path
from temoin.protect.render import Rendered, Request, render

RESULTS = "work/results"
RESULT = "result.json"


def result_name(request: Request) -> str:
    """One name per item, decisions and profile: the same request rendered twice meets itself."""
    return f"{request.item}-{request.fingerprint[:20]}-{request.profile}"


@dataclass(frozen=True)
class Result:
    name: str
    file: Path | None  # the rendered file, None when the rendering failed
    rendered: Rendered | None
    reason: str = ""  # why it failed


def render_into(root: Path, name: str, data: dict[str, Any]) -> None:
    """What a worker runs for one rendering: the pure render, its result handed back as files."""
    folder = root / RESULTS
    final = folder / name
    if final.exists():
        return  # a worker taken for dead finished it after all
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        request = Request.from_json(data)
        out = tmp / f"derivative{request.suffix}"
        try:
            rendered = render(request, root, out)
            body: dict[str, Any] = {"ok": True, "file": out.name, "rendered": rendered.as_json()}
        except Exception as exc:  # the job boundary: the reason goes back to the job's page
            out.unlink(missing_ok=True)
            body = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
        (tmp / RESULT).write_text(json.dumps(body), "utf-8")
        for path in tmp.iterdir():
            fsync_path(path)
        fsync_path(tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # another worker's result got there first: one result per request
            return
        fsync_path(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def take(root: Path, name: str) -> Result | None:
    """The result handed back under ``name``, or None while none is there."""
    folder = root / RESULTS / name
    try:
        body = json.loads((folder / RESULT).read_text("utf-8"))
    except FileNotFoundError:
        return None
    if not body.get("ok"):
        return Result(name, None, None, str(body.get("reason") or "the rendering failed"))
    # The file is moved into the archive and signed: only a plain file of this very folder,
    # named as a worker names it, is taken (never a path, a link, or a folder that is a link).
    given = str(body.get("file") or "")
    file = folder / given
    if (
        folder.is_symlink()
        or Path(given).name != given
        or not given.startswith("derivative.")
        or file.is_symlink()
        or not file.is_file()
    ):
        return Result(name, None, None, "the result's file is not a plain file of its folder")
    return Result(name, file, Rendered.from_json(body["rendered"]))


def discard(root: Path, name: str) -> None:
    """A recorded result removed, with what a killed worker left half-written for the same name."""
    folder = root / RESULTS
    for path in [folder / name, *folder.glob(f".{name}.*")]:
        shutil.rmtree(path, ignore_errors=True)


STALE_AFTER = 3600.0  # seconds: a result no coordinator took in an hour is nobody's any more


def sweep(root: Path, older_than: float = STALE_AFTER) -> list[str]:
    """Results no coordinator took (their redaction stopped, or their decisions changed while a
    retried worker rendered them again): removed, since a rendering can show a face whose
    consent has been withdrawn since. The caller holds the archive's write lock."""
    folder = root / RESULTS
    if not folder.is_dir():
        return []
    limit = time.time() - older_than
    removed = []
    for path in folder.iterdir():
        try:
            old = path.lstat().st_mtime < limit
        except FileNotFoundError:
            continue
        if not old:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
