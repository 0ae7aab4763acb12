"""The redaction run: a signed, metadata-free derivative for every photo and video that needs one.

An item needs a (new) derivative when it has none, or when the *inputs* it was made from changed:
the reviewer's face links and boxes, the consent of the people linked, the detector model. Those
inputs are hashed into a fingerprint stored with the derivative, so "is this derivative current?"
is one comparison, shared with the gate.

Faces are covered unless a reviewer linked them to a person whose current consent covers "face".
Videos never keep faces (a link cannot follow a face from frame to frame without recognition,
which temoin refuses to do) and are written without sound: voices identify people too.

Sequence for one item: render into ``derivatives/.tmp`` → fsync → rename to
``derivatives/<sha[:2]>/<sha>.<ext>`` → sign the record → catalog row and ``redacted`` custody
event in one transaction → the superseded file, which may show someone who has since withdrawn,
is deleted. A new rendering cancels an approval: the reviewer approved other pixels.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from temoin.catalog.models import Derivative, FaceLink, Item, Person, RedactBox, Review
from temoin.events import Action
from temoin.keep.custody import canonical
from temoin.keep.vault import hash_file
from temoin.protect import provenance
from temoin.protect.anonymize import DEFAULT_MARGIN
from temoin.protect.consent import covers
from temoin.protect.detector import MODEL_VERSION, Box, FaceDetector
from temoin.protect.photo import PhotoResult, redact_photo
from temoin.protect.video import VideoResult, redact_video

if TYPE_CHECKING:
    from temoin.archive import Archive

PHOTO, VIDEO = "photo", "video"
RENDERED_KINDS = (PHOTO, VIDEO)
RENDER_VERSION = 1  # bump when rendering changes in a way that must redo every derivative
LINK_IOU = 0.5  # a detected face is the linked one when their boxes overlap this much
MODE = "mosaic"
_VIDEO_SAMPLES = 24  # frames whose detections are kept in the record, for the review queue
_SUFFIX = {PHOTO: ".jpg", VIDEO: ".mp4"}
_CONTENT_NAME = re.compile(r"^derivatives/([0-9a-f]{2})/\1[0-9a-f]{62}\.(jpg|mp4)$")
_MIME = {PHOTO: "image/jpeg", VIDEO: "video/mp4"}

Progress = Callable[[int, int], None]  # items done, items to do
NormBox = tuple[float, float, float, float]


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


@dataclass(frozen=True)
class Inputs:
    """What a rendering follows: links with the linked person's face consent, and manual boxes."""

    kind: str
    links: list[tuple[NormBox, int, bool]]  # box, person id, consent covers face
    boxes: list[tuple[NormBox, float | None, float | None]]
    mute: bool = False  # a reviewer removed the sound of this video

    def fingerprint(self) -> str:
        body = {
            "v": RENDER_VERSION,
            "model": MODEL_VERSION,
            "kind": self.kind,
            "mute": self.mute,
            "links": sorted([list(b), p, c] for b, p, c in self.links),
            "boxes": sorted(
                ([list(b), s, e] for b, s, e in self.boxes), key=lambda r: canonical(r)
            ),
        }
        return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()

    def keeps(self, box: NormBox) -> int | None:
        """The consenting person a detected face was linked to, if any."""
        for linked, person, consents in self.links:
            if consents and _iou(linked, box) >= LINK_IOU:
                return person
        return None


def inputs_for(session: Session, item: Item) -> Inputs:
    links = [
        (_box(link.box), person.id, covers(person, "face"))
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
    review = session.get(Review, item.id)
    return Inputs(item.kind, links, boxes, mute=bool(review and review.mute))


def is_current(session: Session, item: Item, derivative: Derivative | None) -> bool:
    return derivative is not None and derivative.inputs == inputs_for(session, item).fingerprint()


def stale_items(session: Session) -> list[Item]:
    """Photos and videos with no derivative, or one made before the latest decision or consent."""
    rows = session.execute(
        select(Item, Derivative)
        .outerjoin(Derivative, Derivative.item_id == Item.id)
        .where(Item.kind.in_(RENDERED_KINDS), Item.blob_sha256.is_not(None))
        .order_by(Item.time_utc.is_(None), Item.time_utc, Item.id)
    ).all()
    return [item for item, derivative in rows if not is_current(session, item, derivative)]


def redact(
    archive: Archive,
    *,
    export: Path | None = None,
    threads: int = 2,
    every: int = 3,
    progress: Progress | None = None,
) -> RedactReport:
    """`temoin redact`: render what needs it, then optionally export what the gate lets out."""
    started = time.monotonic()
    with archive.writing():
        with archive.session() as session:
            todo = [item.id for item in stale_items(session)]
            media = session.scalar(
                select(func.count()).select_from(Item).where(Item.kind.in_(RENDERED_KINDS))
            )
        report = render(archive, todo, threads=threads, every=every, progress=progress)
        report.unchanged = (media or 0) - len(todo)
        if export is not None:
            from temoin.protect.gate import export_publishable

            report.exported = export_publishable(archive, export)
    report.seconds = time.monotonic() - started
    return report


def render(
    archive: Archive,
    item_ids: Iterable[str],
    *,
    threads: int = 2,
    every: int = 3,
    progress: Progress | None = None,
) -> RedactReport:
    """Render each item anew; the caller holds the write lock. One item's failure is recorded
    and the batch goes on: that item simply has no current derivative, so the gate refuses it."""
    ids = list(item_ids)
    report = RedactReport()
    try:
        for done, item_id in enumerate(ids, start=1):
            try:
                render_one(archive, item_id, threads=threads, every=every)
                report.rendered.append(item_id)
            except Exception as exc:  # the batch boundary: record what was caught and go on
                report.failed.append((item_id, f"{type(exc).__name__}: {exc}"))
            if progress is not None:
                progress(done, len(ids))
    finally:
        _collect_unreferenced(archive)  # once a batch: it lists the whole derivatives folder
    return report


def render_one(archive: Archive, item_id: str, *, threads: int = 2, every: int = 3) -> Derivative:
    folder = archive.root / provenance.DERIVATIVES
    tmp_dir = folder / ".tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with archive.session() as session:
        item = session.get(Item, item_id)
        if item is None or item.kind not in RENDERED_KINDS or item.blob_sha256 is None:
            raise ValueError(f"{item_id[:12]}: not a photo or video with an original")
        inputs = inputs_for(session, item)
        source = archive.vault.path_for(item.blob_sha256)
        tmp = tmp_dir / f"{item.id}{_SUFFIX[item.kind]}"
        try:
            if item.kind == PHOTO:
                detections, operations = _render_photo(source, tmp, inputs, threads)
            else:
                detections, operations = _render_video(source, tmp, inputs, threads, every)
            sha, size = hash_file(tmp)
            relative = f"{provenance.DERIVATIVES}/{sha[:2]}/{sha}{_SUFFIX[item.kind]}"
            _place(tmp, archive.root / relative)
        finally:
            tmp.unlink(missing_ok=True)
        row = _record(session, archive, item, inputs, sha, size, relative, detections, operations)
        session.commit()
    archive.custody.sync_head()
    return row


def _render_photo(
    source: Path, tmp: Path, inputs: Inputs, threads: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    width, height = _upright_size(source)

    def keep(box: Box) -> bool:
        return inputs.keeps(box.normalised(width, height)) is not None

    result: PhotoResult = redact_photo(
        source,
        tmp,
        detector=_detector(threads),
        keep=keep,
        extra_boxes=[b for b, _, _ in inputs.boxes],
        mode=MODE,
    )
    detections: list[dict[str, Any]] = []
    number = 0
    for d in result.detections:
        entry: dict[str, Any] = {
            "box": [round(v, 5) for v in d.box],
            "score": round(d.score, 3),
            "anonymised": d.anonymised,
            "source": d.source,
        }
        if d.source == "detector":
            number += 1
            entry["n"] = number
        if not d.anonymised:
            entry["person"] = inputs.keeps(d.box)
        detections.append(entry)
    kept = [d["person"] for d in detections if not d["anonymised"]]
    operations = [
        {"op": "upright", "from": "exif-orientation"},
        {"op": "detect-faces", "model": MODEL_VERSION, "threshold": 0.2},
        {"op": "cover", "mode": MODE, "margin": DEFAULT_MARGIN, "regions": len(result.anonymised)},
        {"op": "keep-consenting", "faces": len(kept), "people": sorted(set(kept))},
        {"op": "encode", "format": "jpeg", "metadata": "none"},
    ]
    return detections, operations


def _render_video(
    source: Path, tmp: Path, inputs: Inputs, threads: int, every: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    manual = [(b, s or 0.0, e if e is not None else math.inf) for b, s, e in inputs.boxes]
    result: VideoResult = redact_video(
        source,
        tmp,
        detector=_detector(max(1, threads - 1)),
        every=every,
        keep_audio=not inputs.mute,
        extra_boxes=manual,
        keep=None,
        mode=MODE,
    )
    step = max(1, result.frames // _VIDEO_SAMPLES)
    samples = [
        {
            "frame": index,
            "boxes": [
                {
                    "box": [round(v, 5) for v in d.box],
                    "anonymised": d.anonymised,
                    "source": d.source,
                }
                for d in frame
            ],
        }
        for index, frame in enumerate(result.detections)
        if index % step == 0 and frame
    ]
    detections = {
        "frames": result.frames,
        "fps": round(result.fps, 3),
        "faces_max": max((len(f) for f in result.detections), default=0),
        "frames_with_faces": sum(1 for f in result.detections if f),
        "kept": sum(1 for f in result.detections for d in f if not d.anonymised),
        "samples": samples,
    }
    operations = [
        {"op": "upright", "from": "display-matrix"},
        {"op": "detect-faces", "model": MODEL_VERSION, "every": result.every, "tracking": True},
        {"op": "cover", "mode": MODE, "margin": DEFAULT_MARGIN, "manual_boxes": len(manual)},
        {"op": "drop-audio"} if inputs.mute else {"op": "keep-audio", "audio": result.audio},
        {"op": "encode", "format": "h264-mp4", "metadata": "none"},
    ]
    return detections, operations


def _record(
    session: Session,
    archive: Archive,
    item: Item,
    inputs: Inputs,
    sha: str,
    size: int,
    relative: str,
    detections: Any,
    operations: list[dict[str, Any]],
) -> Derivative:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    fingerprint = inputs.fingerprint()
    record = {
        "item": item.id,
        "kind": item.kind,
        "original_sha256": item.blob_sha256,
        "sha256": sha,
        "mime": _MIME[item.kind],
        "size": size,
        "operations": operations,
        "detections": detections,
        "model_version": MODEL_VERSION,
        "inputs": fingerprint,
        "made_at": now.isoformat() + "Z",
        # who rendered it is in the custody log; the signed record is published, so no name here
    }
    text, signature = provenance.sign(provenance.signing_key(session, archive), record)
    row = session.get(Derivative, item.id)
    replaces = row.sha256 if row is not None else None
    if row is None:
        row = Derivative(item_id=item.id)
        session.add(row)
    row.sha256, row.original_sha256, row.path = sha, item.blob_sha256 or "", relative
    row.mime, row.size, row.inputs = _MIME[item.kind], size, fingerprint
    row.record, row.signature, row.made_at = text, signature, now
    covered = (
        sum(1 for d in detections if d["anonymised"])
        if isinstance(detections, list)
        else detections["frames_with_faces"]
    )
    archive.custody.append(
        session,
        archive.actor,
        Action.REDACTED,
        item.id,
        sha256=sha,
        original_sha256=item.blob_sha256,
        operations=[o["op"] for o in operations],
        model=MODEL_VERSION,
        covered=covered,
        replaces=replaces,
    )
    review = session.get(Review, item.id)
    if review is not None and review.status != "pending":
        review.status, review.reason = "pending", None
        archive.custody.append(
            session,
            archive.actor,
            Action.REVIEWED,
            item.id,
            decision="reopened",
            reason="the derivative was rendered again",
            derivative=sha,
        )
    session.flush()
    return row


def _place(tmp: Path, final: Path) -> None:
    """Make the rendered file durable under its content address, then its name in the folder."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _collect_unreferenced(archive: Archive) -> None:
    """Delete derivative files no row names: an old rendering may show a face now withdrawn."""
    folder = archive.root / provenance.DERIVATIVES
    with archive.session() as session:
        known = set(session.scalars(select(Derivative.path)))
    for path in folder.glob("*/*"):
        relative = path.relative_to(archive.root).as_posix()
        if _CONTENT_NAME.match(relative) and relative not in known:
            path.unlink()  # anything else found here is left for `verify` to report


def copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _upright_size(source: Path) -> tuple[int, int]:
    """Width and height as the viewer sees the photo (EXIF orientations 5-8 swap them)."""
    with Image.open(source) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


@cache
def _detector(threads: int) -> FaceDetector:
    """One loaded network per thread count for the whole process: loading costs about a second."""
    return FaceDetector(threads=threads)


def _box(values: Any) -> NormBox:
    x, y, w, h = (float(v) for v in values)
    return (x, y, w, h)


def _iou(a: NormBox, b: NormBox) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = min(ax1, bx1) - max(a[0], b[0]), min(ay1, by1) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
