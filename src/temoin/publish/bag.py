"""Archival export: a story as a BagIt package (RFC 8493) with SHA-256 manifests.

What goes in ``data/``:

    derivatives/<sha256>.jpg|.mp4   every derivative of the story the gate lets out, as signed
    derivatives/provenance.jsonl    their signed records and signatures, one per line
    derivatives/archive.ed25519.pub the key that verifies them
    originals/<sha256><ext>         only with ``originals=True`` (for a lawyer): the vault's
                                    originals of *every* item in the story's window, gate or not
    custody.jsonl                   the whole custody log, this export's events included
    catalog/story.json              the story, what was withheld and why
    catalog/items.json, items.csv   one row per item in the bag
    catalog/entries.json, .csv      the diary entries the story shows

A bag is for an archive or a lawyer, not for the public: its custody log names sources and paths.
Without ``originals`` it still never holds an original. Each file's export is an ``exported``
custody event, written in the same transaction that the bag is made in.

Given recipients' age keys (``to``), the bag leaves as one encrypted tar (``publish.handover``),
built where the archive keeps clear work files: memory for an encrypted archive.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bagit
import pyrage
from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import CustodyEvent, Item
from temoin.catalog.records import event_record
from temoin.errors import BagFailed, UsageError
from temoin.events import Action
from temoin.keep import anchor
from temoin.keep.runtime import alive
from temoin.kinds import ON_TIMELINE
from temoin.protect import provenance
from temoin.publish import handover
from temoin.publish.stories import Gatekeeper, StoryView, collect, find
from temoin.timeutil import to_local

if TYPE_CHECKING:
    from temoin.context import ArchiveContext, Transaction

ITEM_FIELDS = (
    "id",
    "kind",
    "mime",
    "time",
    "time_utc",
    "caption",
    "published",
    "withheld",
    "derivative_sha256",
    "derivative_file",
    "original_sha256",
    "original_file",
    "name",
    "source",
)
ENTRY_FIELDS = ("id", "item", "time", "marker", "dispatch", "approximate", "text")
BUILD = ".bag-build"  # a plain archive's folder for a bag built before it is sealed


@dataclass
class BagReport:
    path: Path
    story: str
    originals: bool
    files: list[str] = field(default_factory=list)  # payload, relative to data/
    withheld: int = 0
    seconds: float = 0.0
    recipients: int = 0  # age keys the bag is sealed to; 0 for a clear folder

    def as_dict(self) -> dict[str, Any]:
        return {
            "bag": str(self.path),
            "story": self.story,
            "originals": self.originals,
            "recipients": self.recipients,
            "files": len(self.files),
            "withheld": self.withheld,
            "seconds": round(self.seconds, 2),
        }


def export_bag(
    ctx: ArchiveContext,
    out: Path,
    slug: str,
    *,
    originals: bool = False,
    to: Sequence[str] = (),
) -> BagReport:
    """The bag in the folder ``out``; with ``to`` (age public keys), ``OUT.tar.age`` instead."""
    keys = handover.recipients(to)  # a bad key is refused before anything is written
    if not keys:
        out = out.absolute()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out}: choose a new or empty folder for the bag")
        return _export(ctx, out, slug, originals)
    sealed = handover.target(out)
    with _clear_build(ctx) as build:
        return _export(ctx, build / handover.bag_name(sealed), slug, originals, sealed, keys)


def _export(
    ctx: ArchiveContext,
    out: Path,
    slug: str,
    originals: bool,
    sealed: Path | None = None,
    keys: Sequence[pyrage.x25519.Recipient] = (),
) -> BagReport:
    from temoin.sort.stage import ensure_sorted

    started = time.monotonic()
    ensure_sorted(ctx)
    with ctx.transaction() as tx:
        session = tx.session
        session.info["archive_root"] = str(ctx.root)
        story = find(session, slug)
        view = collect(session, story, Gatekeeper(session), ctx.settings.timezone)
        report = BagReport(
            sealed or out, story.slug, originals, withheld=len(view.withheld), recipients=len(keys)
        )
        out.mkdir(parents=True, exist_ok=True)
        try:
            _payload(ctx, tx, view, out, report)
            _custody_log(session, out)
            info = _bag_info(ctx, view, originals)
            head = anchor.newest(session)  # the last line of its custody.jsonl
            if head is not None:
                info[anchor.BAG_LABEL] = head.text()
            bagit.make_bag(str(out), info, checksums=["sha256"])
            if sealed is not None:
                handover.seal_tree(out, sealed, list(keys))
        except (OSError, bagit.BagError, pyrage.EncryptError) as exc:  # events roll back
            shutil.rmtree(out, ignore_errors=True)
            raise BagFailed(f"{sealed or out}: {exc}") from exc
    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _clear_build(ctx: ArchiveContext) -> Iterator[Path]:
    """A private folder for the clear bag while it is sealed, removed afterwards whatever
    happens: in memory for an encrypted archive, in a plain one's own folder otherwise."""
    base = ctx.scratch(BUILD)
    _sweep_dead_builds(base)
    folder = Path(tempfile.mkdtemp(prefix=f"bag-{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if not ctx.encrypted:
            with suppress(OSError):
                base.rmdir()  # only when empty: another export may be building beside it


def _sweep_dead_builds(base: Path) -> None:
    """Builds of exports that were killed (their process is gone) hold copies of originals."""
    for entry in base.glob("bag-*-*"):
        pid = entry.name.split("-")[1]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _payload(
    ctx: ArchiveContext, tx: Transaction, view: StoryView, out: Path, report: BagReport
) -> None:
    """Copy the files, write the catalog, and log one ``exported`` event per file."""
    session = tx.session
    zone = view.timezone
    rows: dict[str, dict[str, Any]] = {}
    items = {
        i.id: i for i in session.scalars(select(Item).where(Item.id.in_(_item_ids(session, view))))
    }
    withheld = {w.item_id: w for w in view.withheld}
    shown = {r.item_id: r for r in view.rows}
    signed: list[str] = []
    for item in items.values():
        row = shown.get(item.id)
        record: dict[str, Any] = {
            "id": item.id,
            "kind": item.kind,
            "mime": item.mime,
            "time": to_local(item.time_utc, zone).isoformat() if item.time_utc else None,
            "time_utc": item.time_utc.isoformat() + "Z" if item.time_utc else None,
            "caption": row.caption if row else None,
            "published": item.id in shown,
            "withheld": "; ".join(withheld[item.id].reasons) if item.id in withheld else None,
        }
        if report.originals:  # names and sources identify people: only in a bag for counsel
            record["name"], record["source"] = item.name, item.source
        if row is not None and row.media is not None:
            rel = f"derivatives/{row.media.sha256}{row.media.suffix}"
            source = ctx.readable(row.media.path, row.media.sha256)
            shutil.copyfile(source, out / _mkdirs(out, rel))
            record["derivative_sha256"], record["derivative_file"] = row.media.sha256, rel
            signed.append(
                json.dumps(
                    {"record": json.loads(row.media.record), "signature": row.media.signature}
                )
            )
            _exported(tx, item.id, rel, row.media.sha256, view, originals=False)
            report.files.append(rel)
        if report.originals and item.blob_sha256:
            rel = f"originals/{item.blob_sha256}{_extension(item.mime)}"
            _original(ctx, item.blob_sha256, out / _mkdirs(out, rel))
            record["original_sha256"], record["original_file"] = item.blob_sha256, rel
            _exported(tx, item.id, rel, item.blob_sha256, view, originals=True)
            report.files.append(rel)
        rows[item.id] = record
    if signed:
        (out / "derivatives/provenance.jsonl").write_text(
            "".join(f"{s}\n" for s in signed), "utf-8"
        )
        (out / "derivatives" / provenance.PUBLIC).write_bytes(provenance.export_public_key(ctx))
    entries = [
        {
            "id": r.entry_id,
            "item": r.item_id,
            "time": _iso(view.local(r.time_utc)),
            "marker": r.marker,
            "dispatch": r.kind == "dispatch",
            "approximate": r.approximate,
            "text": r.text,
        }
        for r in view.rows
        if r.entry_id is not None
    ]
    catalog = out / "catalog"
    catalog.mkdir()
    story = {
        "slug": view.slug,
        "title": view.title,
        "from": view.local(view.start).isoformat(),  # type: ignore[union-attr]
        "to": view.local(view.end).isoformat(),  # type: ignore[union-attr]
        "timezone": zone,
        "originals": report.originals,
        "figures": [{"value": f.value, "what": f.what, "text": f.text} for f in view.figures],
        "withheld": [
            {"id": w.item_id, "kind": w.kind, "reasons": w.reasons} for w in view.withheld
        ],
    }
    _json(catalog / "story.json", story)
    ordered = sorted(
        rows.values(), key=lambda r: (r["time_utc"] is None, r["time_utc"] or "", r["id"])
    )
    _json(catalog / "items.json", ordered)
    _csv(catalog / "items.csv", ITEM_FIELDS, ordered)
    _json(catalog / "entries.json", entries)
    _csv(catalog / "entries.csv", ENTRY_FIELDS, entries)
    tx.log(
        Action.EXPORTED,
        None,
        channel="bag",
        bag=report.path.name,
        story=view.slug,
        originals=report.originals,
        files=len(report.files),
        withheld=len(view.withheld),
        **({"recipients": report.recipients} if report.recipients else {}),
    )


def _original(ctx: ArchiveContext, sha256: str, target: Path) -> None:
    """The vault's original into the bag. In an encrypted archive its decrypted copy (in memory)
    is moved, not copied: a bag of videos would otherwise be held in memory twice."""
    clear = ctx.vault.path_for(sha256)
    if ctx.encrypted:
        shutil.move(clear, target)
    else:
        shutil.copyfile(clear, target)


def _item_ids(session: Session, view: StoryView) -> list[str]:
    """What the bag describes: every item the story shows or withholds (audio, messages too)."""
    ids = {r.item_id for r in view.rows} | {w.item_id for w in view.withheld}
    window = session.scalars(
        select(Item.id).where(
            Item.kind.in_(ON_TIMELINE), Item.time_utc.between(view.start, view.end)
        )
    )
    return sorted(ids | set(window))


def _exported(
    tx: Transaction,
    item_id: str,
    rel: str,
    sha: str,
    view: StoryView,
    *,
    originals: bool,
) -> None:
    tx.log(
        Action.EXPORTED,
        item_id,
        channel="bag",
        story=view.slug,
        file=f"data/{rel}",
        sha256=sha,
        originals=originals,
    )


def _custody_log(session: Session, out: Path) -> None:
    """The whole log as JSON Lines (checkable with docs/internals/custody.md), this export's
    events included: they are flushed, and commit only if the bag is made."""
    session.flush()
    with open(out / "custody.jsonl", "w", encoding="utf-8") as handle:
        for event in session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)):
            handle.write(json.dumps(event_record(event), ensure_ascii=False) + "\n")


def _bag_info(ctx: ArchiveContext, view: StoryView, originals: bool) -> dict[str, str]:
    what = "originals and derivatives" if originals else "derivatives (no originals)"
    info = {
        "Source-Organization": ctx.settings.name or ctx.root.name,
        "External-Identifier": view.slug,
        "External-Description": f"{view.title}: {what}, custody log and catalog, made by temoin",
    }
    if ctx.settings.support_email:
        info["Contact-Email"] = ctx.settings.support_email
    return info


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _mkdirs(out: Path, rel: str) -> str:
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    return rel


def _extension(mime: str) -> str:
    known = {"image/jpeg": ".jpg", "video/mp4": ".mp4", "text/plain": ".txt", "audio/ogg": ".ogg"}
    return known.get(mime) or mimetypes.guess_extension(mime) or ""


def _json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", "utf-8")


def _csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    path.write_text(buffer.getvalue(), "utf-8")
