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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
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
from temoin.events import Action
from temoin.keep.custody import canonical
from temoin.keep.vault import hash_file
from temoin.protect import provenance
from temoin.protect.anonymize import DEFAULT_MARGIN, Mode
from temoin.protect.audio import redact_audio
from temoin.protect.consent import covers
from temoin.protect.detector import MODEL_VERSION, Box, FaceDetector
from temoin.protect.photo import PhotoResult, redact_photo, upright_size
from temoin.protect.profiles import PROFILES, Profile, rank
from temoin.protect.tracks import Margins, Track
from temoin.protect.video import StoredTracks, VideoResult, redact_video

if TYPE_CHECKING:
    from temoin.archive import Archive

PHOTO, VIDEO, AUDIO = "photo", "video", "audio"
RENDERED_KINDS = (PHOTO, VIDEO, AUDIO)
FACE_KINDS = (PHOTO, VIDEO)
RENDER_VERSION = 2  # bump when rendering changes in a way that must redo every derivative
TRACKS_VERSION = 1  # bump when tracking changes: stored tracks of older versions are not replayed
LINK_IOU = 0.5  # a detected face is the linked one when their boxes overlap this much
MODE: Mode = "mosaic"
_SUFFIX = {PHOTO: ".jpg", VIDEO: ".mp4", AUDIO: ".m4a"}
_CONTENT_NAME = re.compile(r"^derivatives/([0-9a-f]{2})/\1[0-9a-f]{62}\.(jpg|mp4|m4a)$")
_MIME = {PHOTO: "image/jpeg", VIDEO: "video/mp4", AUDIO: "audio/mp4"}

Progress = Callable[[int, int], None]  # items done, items to do
# Frames done and to do of the video being rendered, for whoever waits on a reviewer's decision
# (the web app's job page): decisions render again deep below the call that made them.
_FRAMES: ContextVar[Progress | None] = ContextVar("temoin_render_frames", default=None)


@contextmanager
def frame_progress(callback: Progress) -> Iterator[None]:
    """Report the frames of every video rendered in this block to ``callback``."""
    token = _FRAMES.set(callback)
    try:
        yield
    finally:
        _FRAMES.reset(token)


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
class Link:
    """A reviewer's link of a face (photo) or face track (video) to a person in the register."""

    box: NormBox
    person: int
    consents: bool  # the person's current consent covers "face"
    track: int | None = None
    analysis: str | None = None  # the video analysis whose track numbers ``track`` refers to

    def as_list(self) -> list[Any]:
        return [list(self.box), self.person, self.consents, self.track, self.analysis]


@dataclass(frozen=True)
class Dismissed:
    """A detection a reviewer said is not a face: a photo's box, or a video's track."""

    box: NormBox
    track: int | None = None
    analysis: str | None = None

    def as_list(self) -> list[Any]:
        return [list(self.box), self.track, self.analysis]


@dataclass(frozen=True)
class Inputs:
    """What a rendering follows: links with the linked person's face consent, manual boxes,
    dismissed detections and muting."""

    kind: str
    links: list[Link]
    boxes: list[tuple[NormBox, float | None, float | None]]
    mute: bool = False  # a reviewer removed the sound of this video
    dismissed: list[Dismissed] = field(default_factory=list)

    def fingerprint(self) -> str:
        body = {
            "v": RENDER_VERSION,
            "model": MODEL_VERSION,
            "kind": self.kind,
            "mute": self.mute,
            "links": sorted((link.as_list() for link in self.links), key=canonical),
            "boxes": sorted(
                ([list(b), s, e] for b, s, e in self.boxes), key=lambda r: canonical(r)
            ),
            "dismissed": sorted((d.as_list() for d in self.dismissed), key=canonical),
        }
        return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()

    def dismisses(self, box: Sequence[float]) -> bool:
        """Whether a detected box on a photo is one a reviewer said is not a face."""
        return any(d.track is None and same_face(d.box, box) for d in self.dismissed)

    def dismissed_tracks(self, analysis: str) -> set[int]:
        return {d.track for d in self.dismissed if d.track is not None and d.analysis == analysis}

    def keeps(self, box: Sequence[float]) -> int | None:
        """The consenting person a detected face on a photo was linked to, if any."""
        for link in self.links:
            if link.track is None and link.consents and same_face(link.box, box):
                return link.person
        return None

    def kept_tracks(self, analysis: str) -> dict[int, int]:
        """Track number -> consenting person, for links made on this very analysis."""
        return {
            link.track: link.person
            for link in self.links
            if link.track is not None and link.analysis == analysis and link.consents
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
    archive: Archive,
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
    wanted = recall or archive.settings.recall
    with archive.writing():
        with archive.session() as session:
            todo = [item.id for item in stale_items(session, wanted)]
            media = session.scalar(
                select(func.count()).select_from(Item).where(Item.kind.in_(RENDERED_KINDS))
            )
        report = render(
            archive, todo, threads=threads, every=every, recall=wanted, progress=progress
        )
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
                render_one(archive, item_id, threads=threads, every=every, recall=recall)
                report.rendered.append(item_id)
            except Exception as exc:  # the batch boundary: record what was caught and go on
                report.failed.append((item_id, f"{type(exc).__name__}: {exc}"))
            if progress is not None:
                progress(done, len(ids))
    finally:
        _collect_unreferenced(archive)  # once a batch: it lists the whole derivatives folder
    return report


def render_one(
    archive: Archive,
    item_id: str,
    *,
    threads: int = 2,
    every: int | None = None,
    recall: str | None = None,
) -> Derivative:
    """Render one item again.

    With no ``recall`` (a reviewer's decision, a consent change) the item keeps the profile and
    detection spacing of its previous derivative, so a video's tracks are replayed and keep their
    numbers; a first rendering takes the archive's setting. With ``recall`` (`temoin redact`) the
    item gets the higher of it and its previous profile: nothing is ever lowered.
    """
    folder = archive.root / provenance.DERIVATIVES
    tmp_dir = folder / ".tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with archive.session() as session:
        item = session.get(Item, item_id)
        if item is None or item.kind not in RENDERED_KINDS or item.blob_sha256 is None:
            raise ValueError(f"{item_id[:12]}: not a photo, video or voice note with an original")
        inputs = inputs_for(session, item)
        previous = session.get(Derivative, item.id)
        made = recall_of(previous)
        asked = recall or made or archive.settings.recall
        profile = PROFILES[asked if made is None or rank(asked) >= rank(made) else made]
        source = archive.vault.path_for(item.blob_sha256)
        tmp = tmp_dir / f"{item.id}{_SUFFIX[item.kind]}"
        try:
            if item.kind == PHOTO:
                rendered = _render_photo(source, tmp, inputs, threads, profile)
            elif item.kind == VIDEO:
                prior = json.loads(previous.record) if previous is not None else None
                rendered = _render_video(
                    source, tmp, item.blob_sha256, inputs, threads, every, profile, prior
                )
            else:
                rendered = _render_audio(source, tmp)
            sha, size = hash_file(tmp)
            relative = f"{provenance.DERIVATIVES}/{sha[:2]}/{sha}{_SUFFIX[item.kind]}"
            _place(tmp, archive.root / relative)
        finally:
            tmp.unlink(missing_ok=True)
        row = _record(session, archive, item, inputs, sha, size, relative, rendered)
        session.commit()
    return row


@dataclass
class Rendered:
    """What a rendering did, for the signed record."""

    detections: Any
    operations: list[dict[str, Any]]
    recall: str | None = None
    sound: bool = False
    covered: int = 0  # regions (photo), tracks (video) covered
    size: tuple[int, int] | None = None  # width, height of a picture or video


def _render_photo(
    source: Path, tmp: Path, inputs: Inputs, threads: int, profile: Profile
) -> Rendered:
    width, height = _upright_size(source)

    def keep(box: Box) -> bool:
        normal = box.normalised(width, height)
        return inputs.keeps(normal) is not None or inputs.dismisses(normal)

    result: PhotoResult = redact_photo(
        source,
        tmp,
        detector=_detector(threads),
        keep=keep,
        extra_boxes=[b for b, _, _ in inputs.boxes],
        mode=MODE,
        passes=profile.photo,
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
            if entry["person"] is None:
                entry["dismissed"] = True  # left uncovered: a reviewer said it is not a face
        detections.append(entry)
    kept = [d["person"] for d in detections if d.get("person") is not None]
    operations: list[dict[str, Any]] = [
        {"op": "upright", "from": "exif-orientation"},
        {
            "op": "detect-faces",
            "model": MODEL_VERSION,
            "threshold": 0.2,
            "recall": profile.name,
            "passes": list(profile.photo),
        },
        {"op": "cover", "mode": MODE, "margin": DEFAULT_MARGIN, "regions": len(result.anonymised)},
        {"op": "keep-consenting", "faces": len(kept), "people": sorted(set(kept))},
        {"op": "leave-dismissed", "regions": sum(1 for d in detections if d.get("dismissed"))},
        {"op": "encode", "format": "jpeg", "metadata": "none"},
    ]
    return Rendered(
        detections,
        operations,
        profile.name,
        False,
        len(result.anonymised),
        (result.width, result.height),
    )


def analysis_key(original_sha256: str, profile: Profile, every: int) -> str:
    """Names one run of detection and tracking over one original: the same key, the same tracks.

    Links to face tracks are made against this key, so a track number never comes to mean
    another face after the model, the profile, the tracker or the video decoder changed (frame
    numbers are the decoder's). Stored tracks that still do not fit the video as it decodes make
    the rendering fail (`TracksMismatch`) rather than place boxes on the wrong frames.
    """
    body: dict[str, Any] = {
        "original": original_sha256,
        "model": MODEL_VERSION,
        "recall": profile.as_record(),
        "every": every,
        "tracks": TRACKS_VERSION,
        "decoder": av.library_versions.get("libavcodec"),
    }
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def _render_video(
    source: Path,
    tmp: Path,
    original_sha256: str,
    inputs: Inputs,
    threads: int,
    every: int | None,
    profile: Profile,
    prior: dict[str, Any] | None,
) -> Rendered:
    spacing = every or _previous_every(prior, profile) or profile.every
    key = analysis_key(original_sha256, profile, spacing)
    stored = _stored_tracks(prior, key)
    manual = [(b, s or 0.0, e if e is not None else math.inf) for b, s, e in inputs.boxes]

    dismissed = inputs.dismissed_tracks(key) if stored is not None else set()

    def run(stored: StoredTracks | None) -> tuple[VideoResult, dict[int, int]]:
        kept = inputs.kept_tracks(key) if stored is not None else {}
        result = redact_video(
            source,
            tmp,
            detector=_detector(threads),
            profile=profile,
            every=spacing,
            keep_audio=not inputs.mute,
            extra_boxes=manual,
            keep_tracks=set(kept) | dismissed,
            stored=stored,
            progress=_FRAMES.get(),
            mode=MODE,
        )
        return result, kept

    result, kept = run(stored)
    width, height = result.width, result.height
    assert result.margins is not None
    margins = result.margins
    tracks = []
    for t in result.tracks:
        entry = {**t.as_record(width, height), "visible": t.number in kept or t.number in dismissed}
        if t.number in kept:
            entry["person"] = kept[t.number]
        elif t.number in dismissed:
            entry["dismissed"] = True
        if entry["visible"]:
            entry["covered_from"] = result.covered_from.get(t.number)
        tracks.append(entry)
    detections = {
        "frames": result.frames,
        "fps": round(result.fps, 3),
        "width": width,
        "height": height,
        "analysis": key,
        "recall": profile.name,
        "every": result.every,
        "detect_short_side": result.detect_short_side,
        "cuts": result.cuts,
        "margins": {"before": margins.before, "after": margins.after, "max_gap": margins.max_gap},
        "tracks": tracks,
        "faces_max": max((len(f) for f in result.detections), default=0),
        "frames_with_faces": sum(1 for f in result.detections if f),
        "kept": result.kept_frames,
    }
    operations: list[dict[str, Any]] = [
        {"op": "upright", "from": "display-matrix"},
        {
            "op": "detect-faces",
            "model": MODEL_VERSION,
            "threshold": 0.2,
            "recall": profile.name,
            "passes": [list(p) for p in profile.video_cycle],
            "every": result.every,
            "scene_cuts": len(result.cuts) - 1,
            "backward_search": True,
            "replayed": result.replayed,
        },
        {"op": "track-faces", "tracks": len(result.tracks), "margins": detections["margins"]},
        {"op": "cover", "mode": MODE, "margin": DEFAULT_MARGIN, "manual_boxes": len(manual)},
        {"op": "keep-consenting", "tracks": sorted(kept), "people": sorted(set(kept.values()))},
        {"op": "leave-dismissed", "tracks": sorted(dismissed)},
        {"op": "drop-audio"} if inputs.mute else {"op": "keep-audio", "audio": result.audio},
        {"op": "encode", "format": "h264-mp4", "metadata": "none"},
    ]
    covered_tracks = sum(1 for t in tracks if not t["visible"])
    return Rendered(
        detections,
        operations,
        profile.name,
        result.audio != "none",
        covered_tracks,
        (result.width, result.height),
    )


def _previous_every(prior: dict[str, Any] | None, profile: Profile) -> int | None:
    """The detection spacing the previous rendering used, if it ran this same profile."""
    found = (prior or {}).get("detections")
    if isinstance(found, dict) and found.get("recall") == profile.name:
        every = found.get("every")
        return int(every) if isinstance(every, int) else None
    return None


def _stored_tracks(prior: dict[str, Any] | None, key: str) -> StoredTracks | None:
    """The tracks of the previous rendering, if it ran the same analysis on the same original."""
    if prior is None:
        return None
    found = prior.get("detections")
    if not isinstance(found, dict) or found.get("analysis") != key or "tracks" not in found:
        return None
    width, height = int(found["width"]), int(found["height"])
    margins = Margins(**found["margins"])
    tracks = [Track.from_record(t, width, height) for t in found["tracks"]]
    return StoredTracks(tracks, [int(c) for c in found["cuts"]], margins, int(found["frames"]))


def _render_audio(source: Path, tmp: Path) -> Rendered:
    result = redact_audio(source, tmp)
    operations = [
        {
            "op": "copy-sound" if result.sound == "copied" else "re-encode-sound",
            "from": result.codec,
        },
        {"op": "encode", "format": "m4a", "metadata": "none"},
    ]
    return Rendered({"seconds": result.seconds}, operations, None, True, 0)


def _record(
    session: Session,
    archive: Archive,
    item: Item,
    inputs: Inputs,
    sha: str,
    size: int,
    relative: str,
    rendered: Rendered,
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
    text, signature = provenance.sign(provenance.signing_key(session, archive), record)
    row = session.get(Derivative, item.id)
    replaces = row.sha256 if row is not None else None
    if row is None:
        row = Derivative(item_id=item.id)
        session.add(row)
    row.sha256, row.original_sha256, row.path = sha, item.blob_sha256 or "", relative
    row.mime, row.size, row.inputs = _MIME[item.kind], size, fingerprint
    row.record, row.signature, row.made_at = text, signature, now
    archive.custody.append(
        session,
        archive.actor,
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
    return upright_size(source)


@cache
def _detector(threads: int) -> FaceDetector:
    """One loaded network per thread count for the whole process: loading costs about a second."""
    return FaceDetector(threads=threads)


def same_face(a: Any, b: Any) -> bool:
    """Whether two boxes of one photo (normalised x, y, w, h) are taken as the same face."""
    return _iou(_box(a), _box(b)) >= LINK_IOU


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
