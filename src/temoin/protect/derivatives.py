"""The redaction run: a signed, metadata-free derivative of every photo, video and voice note.

An item needs a (new) derivative when it has none, when the *inputs* it was made from changed
(the reviewer's face links and boxes, the consent of the people linked, muting, the detector
model), or when it was made with a lower recall profile than the one asked for. The inputs are
hashed into a fingerprint stored with the derivative, so "is this derivative current?" is one
comparison, shared with the gate.

Faces are covered unless a reviewer linked them to a person whose current consent covers "face":
on photos one face, on videos one face track (there is no face recognition: a track is followed
by position from frame to frame, and a reviewer says whose it is). A video keeps its sound unless
a reviewer mutes it; whether that sound may leave is the gate's question (voices). A voice note's
derivative is its sound alone, in a bare M4A.

Sequence for one item: render into ``derivatives/.tmp`` → fsync → rename to
``derivatives/<sha[:2]>/<sha>.<ext>`` → sign the record → catalog row and ``redacted`` custody
event in one transaction → the superseded file, which may show someone who has since withdrawn,
is deleted. A new rendering cancels an approval: the reviewer approved other pixels.

In an encrypted archive the rendering is made in memory (the runtime folder), from a decrypted
copy of the original, and sealed into place under a keyed name of its hash: the clear pixels never
touch the disk. The catalog row keeps the real hash, which the signed record publishes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from temoin.catalog.models import (
    Derivative,
    Dismissal,
    FaceLink,
    Item,
    Person,
    RedactBox,
    Review,
)
from temoin.context import ArchiveContext, Transaction
from temoin.events import Action
from temoin.keep.vault import fsync_path, hash_file
from temoin.kinds import FACES, RENDERED, Kind
from temoin.protect import provenance
from temoin.protect.consent import covers
from temoin.protect.detector import MODEL_VERSION
from temoin.protect.profiles import PROFILES, rank

# Names other modules import from here, re-exported.
from temoin.protect.render import (
    LINK_IOU as LINK_IOU,
)
from temoin.protect.render import (
    MODE as MODE,
)
from temoin.protect.render import (
    RENDER_VERSION as RENDER_VERSION,
)
from temoin.protect.render import (
    SUFFIX as SUFFIX,
)
from temoin.protect.render import (
    TRACKS_VERSION as TRACKS_VERSION,
)
from temoin.protect.render import (
    Dismissed as Dismissed,
)
from temoin.protect.render import (
    Inputs as Inputs,
)
from temoin.protect.render import (
    Link as Link,
)
from temoin.protect.render import (
    NormBox as NormBox,
)
from temoin.protect.render import (
    Rendered as Rendered,
)
from temoin.protect.render import (
    Request as Request,
)
from temoin.protect.render import _box
from temoin.protect.render import (
    analysis_key as analysis_key,
)
from temoin.protect.render import (
    frame_progress as frame_progress,
)
from temoin.protect.render import render as render_file
from temoin.protect.render import (
    same_face as same_face,
)

PHOTO, VIDEO, AUDIO = Kind.PHOTO, Kind.VIDEO, Kind.AUDIO
RENDERED_KINDS = RENDERED  # the names other stages import
FACE_KINDS = FACES
_CONTENT_NAME = re.compile(r"^derivatives/([0-9a-f]{2})/\1[0-9a-f]{62}\.(jpg|mp4|m4a)$")
_MIME = {PHOTO: "image/jpeg", VIDEO: "video/mp4", AUDIO: "audio/mp4"}

Progress = Callable[[int, int], None]  # items done, items to do


@dataclass
class RedactReport:
    rendered: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # item id, reason
    exported: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rendered": self.rendered,
            "unchanged": self.unchanged,
            "failed": [{"id": i, "reason": r} for i, r in self.failed],
            "exported": self.exported,
            "seconds": round(self.seconds, 2),
        }


def inputs_for(session: Session, item: Item) -> Inputs:
    links = [
        Link(_box(link.box), person.id, covers(person, "face"), link.track, link.analysis)
        for link, person in session.execute(
            select(FaceLink, Person)
            .join(Person, Person.id == FaceLink.person_id)
            .where(FaceLink.item_id == item.id)
            .order_by(FaceLink.id)
        )
    ]
    boxes = [
        (_box(b.box), b.start, b.end)
        for b in session.scalars(
            select(RedactBox).where(RedactBox.item_id == item.id).order_by(RedactBox.id)
        )
    ]
    dismissed = [
        Dismissed(_box(d.box), d.track, d.analysis)
        for d in session.scalars(
            select(Dismissal).where(Dismissal.item_id == item.id).order_by(Dismissal.id)
        )
    ]
    review = session.get(Review, item.id)
    return Inputs(item.kind, links, boxes, bool(review and review.mute), dismissed)


def is_current(session: Session, item: Item, derivative: Derivative | None) -> bool:
    return derivative is not None and derivative.inputs == inputs_for(session, item).fingerprint()


def recall_of(derivative: Derivative | None) -> str | None:
    """The recall profile a derivative was made with (None for voice notes and older records)."""
    if derivative is None:
        return None
    recall = json.loads(derivative.record).get("recall")
    return recall if isinstance(recall, str) else None


def stale_items(session: Session, recall: str | None = None) -> list[Item]:
    """Media with no derivative, one made before the latest decision or consent, or (when
    ``recall`` is given) a photo or video made with a lower recall profile than ``recall``."""
    rows = session.execute(
        select(Item, Derivative)
        .outerjoin(Derivative, Derivative.item_id == Item.id)
        .where(Item.kind.in_(RENDERED_KINDS), Item.blob_sha256.is_not(None))
        .order_by(Item.time_utc.is_(None), Item.time_utc, Item.id)
    ).all()
    return [
        item
        for item, derivative in rows
        if not is_current(session, item, derivative)
        or (recall is not None and _below(item.kind, recall_of(derivative), recall))
    ]


def _below(kind: str, made: str | None, asked: str) -> bool:
    """Whether a derivative made with profile ``made`` falls short of ``asked``: for a photo only
    if the photo passes differ (re-rendering would reopen an approval for nothing)."""
    if kind not in FACE_KINDS or rank(made) >= rank(asked):
        return False
    if kind == PHOTO and made is not None:
        return PROFILES[made].photo != PROFILES[asked].photo
    return True


def redact(
    ctx: ArchiveContext,
    *,
    export: Path | None = None,
    threads: int = 2,
    every: int | None = None,
    recall: str | None = None,
    progress: Progress | None = None,
) -> RedactReport:
    """`temoin redact`: render what needs it, then optionally export what the gate lets out.

    ``recall`` (default: the archive's ``recall`` setting) is the lowest profile accepted: items
    made with a lower one are rendered again, items made with a higher one are left as they are.
    """
    started = time.monotonic()
    wanted = recall or ctx.settings.recall
    with ctx.writing():
        with ctx.session() as session:
            todo, unchanged = plan(session, wanted)
        report = render(
            ctx,
            [item.id for item in todo],
            threads=threads,
            every=every,
            recall=wanted,
            progress=progress,
        )
        report.unchanged = unchanged
        if export is not None:
            from temoin.protect.gate import export_publishable

            report.exported = export_publishable(ctx, export)
    report.seconds = time.monotonic() - started
    return report


def plan(session: Session, recall: str) -> tuple[list[Item], int]:
    """What a redaction renders (the stale items) and how many media it leaves as they are,
    whether it renders here or hands the renderings to workers."""
    todo = stale_items(session, recall)
    media = session.scalar(
        select(func.count()).select_from(Item).where(Item.kind.in_(RENDERED_KINDS))
    )
    return todo, (media or 0) - len(todo)


def render(
    ctx: ArchiveContext,
    item_ids: Iterable[str],
    *,
    threads: int = 2,
    every: int | None = None,
    recall: str | None = None,
    progress: Progress | None = None,
) -> RedactReport:
    """Render each item anew; the caller holds the write lock. One item's failure is recorded
    and the batch goes on: that item simply has no current derivative, so the gate refuses it."""
    ids = list(item_ids)
    report = RedactReport()
    try:
        for done, item_id in enumerate(ids, start=1):
            try:
                render_one(ctx, item_id, threads=threads, every=every, recall=recall)
                report.rendered.append(item_id)
            except Exception as exc:  # the batch boundary: record what was caught and go on
                report.failed.append((item_id, f"{type(exc).__name__}: {exc}"))
            if progress is not None:
                progress(done, len(ids))
    finally:
        _collect_unreferenced(ctx)  # once a batch: it lists the whole derivatives folder
    return report


def render_one(
    ctx: ArchiveContext,
    item_id: str,
    *,
    threads: int = 2,
    every: int | None = None,
    recall: str | None = None,
) -> Derivative:
    """Render one item again, here: the pure rendering, then its recording.

    With no ``recall`` (a reviewer's decision, a consent change) the item keeps the profile and
    detection spacing of its previous derivative, so a video's tracks are replayed and keep their
    numbers; a first rendering takes the archive's setting. With ``recall`` (`temoin redact`) the
    item gets the higher of it and its previous profile: nothing is ever lowered.
    """
    tmp_dir = ctx.scratch(f"{provenance.DERIVATIVES}/.tmp")
    with ctx.session() as session:
        request = request_for(session, ctx, item_id, threads=threads, every=every, recall=recall)
    tmp = tmp_dir / f"{item_id}{request.suffix}"
    try:
        rendered = render_file(request, ctx.root, tmp)
        row = record(ctx, request, tmp, rendered)
    finally:
        tmp.unlink(missing_ok=True)
    assert row is not None  # recorded whatever its inputs when not `once`
    return row


def request_for(
    session: Session,
    ctx: ArchiveContext,
    item_id: str,
    *,
    threads: int = 2,
    every: int | None = None,
    recall: str | None = None,
) -> Request:
    """What rendering ``item_id`` follows now, as plain data a worker can be handed."""
    item = session.get(Item, item_id)
    if item is None or item.kind not in RENDERED_KINDS or item.blob_sha256 is None:
        raise ValueError(f"{item_id[:12]}: not a photo, video or voice note with an original")
    previous = session.get(Derivative, item.id)
    made = recall_of(previous)
    asked = recall or made or ctx.settings.recall
    profile = asked if made is None or rank(asked) >= rank(made) else made
    source = _source(ctx, ctx.vault.path_for(item.blob_sha256))
    return Request(
        item.id,
        item.kind,
        item.blob_sha256,
        source,
        inputs_for(session, item),
        profile,
        every,
        json.loads(previous.record) if previous is not None else None,
        threads,
    )


def _source(ctx: ArchiveContext, original: Path) -> str:
    """The original as a request names it: relative to the archive folder, which a worker on
    another machine shares; a decrypted copy (in this machine's memory) by its full path."""
    try:
        return original.relative_to(ctx.root).as_posix()
    except ValueError:
        return original.as_posix()


def record(
    ctx: ArchiveContext,
    request: Request,
    file: Path,
    rendered: Rendered,
    *,
    key: Ed25519PrivateKey | None = None,
    once: bool = False,
) -> Derivative | None:
    """Record a rendered file as the item's derivative: place it under its content address,
    sign its record, write the row and the ``redacted`` event in one transaction.

    With ``once`` (a result handed back by a worker) a result is dropped, and None returned,
    when the item's decisions changed since the request (it shows what nobody decided any more)
    or when a derivative of these same inputs and profile is already recorded (a retried worker
    rendered it twice). ``key`` is the signing key the caller already holds; without it the key
    is read from the archive folder.
    """
    sha, size = hash_file(file)
    relative = provenance.derivative_path(ctx, sha, request.suffix)
    with ctx.transaction() as tx:
        item = tx.session.get(Item, request.item)
        if item is None or item.blob_sha256 != request.original_sha256:
            raise ValueError(f"{request.item[:12]}: the item is gone or its original changed")
        inputs = inputs_for(tx.session, item)
        fingerprint = inputs.fingerprint()
        if fingerprint != request.fingerprint:  # it shows what nobody decides any more
            if once:
                return None
            raise ValueError(f"{request.item[:12]}: its decisions changed while it rendered")
        if once:
            row = tx.session.get(Derivative, item.id)
            if row is not None and row.inputs == fingerprint and recall_of(row) == rendered.recall:
                return None
        _place(ctx, file, ctx.root / relative)
        signer = key if key is not None else provenance.signing_key(tx.session, ctx)
        return _record(tx, item, inputs, sha, size, relative, rendered, signer)


def _record(
    tx: Transaction,
    item: Item,
    inputs: Inputs,
    sha: str,
    size: int,
    relative: str,
    rendered: Rendered,
    key: Ed25519PrivateKey,
) -> Derivative:
    session = tx.session
    kind = Kind(item.kind)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    fingerprint = inputs.fingerprint()
    record = {
        "item": item.id,
        "kind": item.kind,
        "original_sha256": item.blob_sha256,
        "sha256": sha,
        "mime": _MIME[kind],
        "size": size,
        "operations": rendered.operations,
        "detections": rendered.detections,
        "recall": rendered.recall,
        "sound": rendered.sound,
        **({"width": rendered.size[0], "height": rendered.size[1]} if rendered.size else {}),
        "model_version": MODEL_VERSION,
        "inputs": fingerprint,
        "made_at": now.isoformat() + "Z",
        # who rendered it is in the custody log; the signed record is published, so no name here
    }
    text, signature = provenance.sign(key, record)
    row = session.get(Derivative, item.id)
    replaces = row.sha256 if row is not None else None
    if row is None:
        row = Derivative(item_id=item.id)
        session.add(row)
    row.sha256, row.original_sha256, row.path = sha, item.blob_sha256 or "", relative
    row.mime, row.size, row.inputs = _MIME[kind], size, fingerprint
    row.record, row.signature, row.made_at = text, signature, now
    tx.log(
        Action.REDACTED,
        item.id,
        sha256=sha,
        original_sha256=item.blob_sha256,
        operations=[o["op"] for o in rendered.operations],
        model=MODEL_VERSION,
        recall=rendered.recall,
        covered=rendered.covered,
        replaces=replaces,
    )
    review = session.get(Review, item.id)
    if review is not None and review.status != "pending":
        review.status, review.reason = "pending", None
        tx.log(
            Action.REVIEWED,
            item.id,
            decision="reopened",
            reason="the derivative was rendered again",
            derivative=sha,
        )
    session.flush()
    return row


def _place(ctx: ArchiveContext, tmp: Path, final: Path) -> None:
    """Make the rendered file durable under its content address (sealed, in an encrypted
    archive), then its name in the folder."""
    final.parent.mkdir(parents=True, exist_ok=True)
    ctx.sealer.place(tmp, final)
    fsync_path(final.parent)


def _collect_unreferenced(ctx: ArchiveContext) -> None:
    """Delete derivative files no row names: an old rendering may show a face now withdrawn."""
    folder = ctx.root / provenance.DERIVATIVES
    with ctx.session() as session:
        known = set(session.scalars(select(Derivative.path)))
    for path in folder.glob("*/*"):
        relative = path.relative_to(ctx.root).as_posix()
        if _CONTENT_NAME.match(relative) and relative not in known:
            path.unlink()  # anything else found here is left for `verify` to report


def copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
