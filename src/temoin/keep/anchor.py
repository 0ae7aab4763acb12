"""Anchors: the custody head written into every copy that leaves the archive, and the proof that
the log still holds it.

verify alone cannot notice a log rewritten from some event on with every hash recomputed and
``custody.head`` rewritten to match, nor a forged event appended with its head: whoever can edit
the catalog can do both. Published copies live outside the archive, on a web host, in readers'
mailboxes, with a lawyer, so each one carries the head as it was when it was made, as
``<seq>:<hash>``. `temoin verify --against` then proves the log still holds that very event at
that seq: a rewrite at or before it changes its hash.

Where the head is written: a site's manifest (``.temoin-manifest.json``, key ``custody``) and a
visible line on its front page; the feed's subtitle; a newsletter's closing line; a bag's
``bag-info.txt`` (label ``Temoin-Custody-Head``). A site, feed or newsletter carries the newest
event that changed what may be published, not its own ``published`` events: rebuilding an
unchanged site then leaves it byte for byte the same, and the hash of that event still covers
every event before it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent
from temoin.errors import UsageError
from temoin.events import Action
from temoin.keep.verify import CHAIN_BROKEN, Fault

BAG_LABEL = "Temoin-Custody-Head"
MANIFEST_KEY = "custody"
_LEAVING = (str(Action.PUBLISHED), str(Action.EXPORTED), str(Action.ORIGINAL_SERVED))
_HEAD = re.compile(r"(?<![0-9a-f])(\d+):([0-9a-f]{64})(?![0-9a-f])")
_MARK = re.compile(r"custody head[^0-9]{0,40}(\d+:[0-9a-f]{64})", re.IGNORECASE)


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    source: str  # where it was read: a site, a bag, a file or the command line

    def text(self) -> str:
        return f"{self.seq}:{self.hash}"


def newest(session: Session, *, state_only: bool = False) -> Anchor | None:
    """The newest event the session sees (its own flushed events included); with
    ``state_only``, the newest that is not a record of material leaving the archive."""
    query = select(CustodyEvent.seq, CustodyEvent.hash)
    if state_only:
        query = query.where(CustodyEvent.action.not_in(_LEAVING))
    row = session.execute(query.order_by(CustodyEvent.seq.desc()).limit(1)).first()
    return Anchor(row[0], row[1], "archive") if row else None


def parse(text: str, source: str = "the command line") -> Anchor:
    match = _HEAD.fullmatch(text.strip())
    if not match:
        raise UsageError(f"{text}: a custody head is SEQ:HASH (a number, a colon, 64 hex digits)")
    return Anchor(int(match[1]), match[2], source)


def read(target: str) -> Anchor:
    """The head a published copy carries: a site folder, a bag folder, a feed, an e-mail or
    any file with a custody head line; or ``SEQ:HASH`` itself."""
    path = Path(target)
    if not path.exists():
        return parse(target)
    if path.is_dir():
        if (path / "bag-info.txt").is_file():
            return _from_bag(path)
        manifest = path / ".temoin-manifest.json"
        if manifest.is_file():
            found = _from_manifest(manifest)
            if found is not None:
                return found
        if (path / "index.html").is_file():  # a site copied without its dotfile manifest
            return _from_text(path / "index.html", f"site {path.name}")
        raise UsageError(f"{target}: neither a published site nor a bag (no custody head there)")
    return _from_text(path, path.name)


def check(session: Session, anchor: Anchor) -> list[Fault]:
    """Does the log still hold the anchored event? One fault if not."""
    held = session.scalar(select(CustodyEvent.hash).where(CustodyEvent.seq == anchor.seq))
    what = f"custody event #{anchor.seq}"
    if held is None:
        return [
            Fault(CHAIN_BROKEN, what, f"{anchor.source} holds it, the log no longer reaches it")
        ]
    if held != anchor.hash:
        return [
            Fault(
                CHAIN_BROKEN,
                what,
                f"{anchor.source} records hash {anchor.hash[:16]}…, the log now holds "
                f"{held[:16]}…: the log was rewritten",
            )
        ]
    return []


def _from_bag(folder: Path) -> Anchor:
    for line in (folder / "bag-info.txt").read_text("utf-8").splitlines():
        label, _, value = line.partition(":")
        if label.strip() == BAG_LABEL:
            return parse(value, f"bag {folder.name}")
    raise UsageError(f"{folder}: this bag records no custody head ({BAG_LABEL})")


def _from_manifest(path: Path) -> Anchor | None:
    try:
        data = json.loads(path.read_text("utf-8"))
        head = data[MANIFEST_KEY]
        return Anchor(int(head["seq"]), str(head["hash"]), f"site {path.parent.name}")
    except (ValueError, KeyError, TypeError):
        return None


def _from_text(path: Path, source: str) -> Anchor:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    match = _MARK.search(text)
    if not match:
        raise UsageError(f"{path}: no custody head found in it")
    return parse(match[1], source)
