"""The gate: the one check every later stage makes before anything leaves the archive.

`check` says yes only when all of these hold, and otherwise lists every reason it says no:

* the item's review, links, dismissals, boxes, voices and rendering, and the consent of everyone
  linked to it, are what the custody log records (``protect.replay``);
* a person approved the item (and, for a photo, video or voice note, approved *this* derivative),
  and, when its original is damaged (cut short or undecodable), said so in approving it;
* the derivative is current: made after the latest face link, manual box, muting or consent
  change affecting it, with the current detector model;
* its file is there, hashes to what was recorded, and its record's signature verifies;
* every face on it is covered, or linked by a reviewer to a person whose consent covers faces
  (on video: every face track), or dismissed by a reviewer as not a face;
* any sound it carries (a voice note, a video's sound track) has had its voices accounted for: a
  reviewer listened, linked every voice heard to a person, and said so (``voices checked``), and
  every linked person's consent covers their voice. A video whose voices are not accounted for
  leaves only muted;
* the file carries no EXIF, XMP, IPTC, comments, QuickTime location or device tags, and no dates.

Anything else is refused: whole chat exports (their messages are reviewed one by one) and unknown
kinds. Texts, chat messages and a chat's own lines ("Amina added Jonas") have no derivative:
they pass on a person's approval alone.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import Derivative, EntryChange, Item, Person, Review, VoiceLink
from temoin.context import ArchiveContext
from temoin.errors import SealBroken
from temoin.events import Action
from temoin.i18n import marked
from temoin.keep import keys as keyfile
from temoin.keep.sealing import Plain, Sealer, hash_file
from temoin.kinds import TEXT_GATED, GateRule, Kind, policy
from temoin.protect import provenance, replay
from temoin.protect.consent import covers
from temoin.protect.derivatives import Inputs, copy_atomic, inputs_for
from temoin.protect.detector import MODEL_VERSION

APPROVED, PENDING, WITHHELD = "approved", "pending", "withheld"
TEXT_KINDS = TEXT_GATED  # the kinds that pass on approval alone, as `temoin.kinds` rules them
_EXPORT_NAME = re.compile(r"^[0-9a-f]{16}\.(jpg|mp4|m4a)$")


@dataclass(frozen=True)
class _Folder:
    """The archive folder a bare session was opened on, and how its files are read."""

    root: Path
    sealer: Sealer


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)


def check(target: ArchiveContext | Session, item_id: str) -> Verdict:
    """May this item leave the archive? Default deny: ``ok`` only when nothing is wrong."""
    if isinstance(target, Session):
        return _check(target, _folder_of(target), item_id)
    with target.session() as session:
        return _check(session, target, item_id)


def publishable(target: ArchiveContext | Session) -> list[str]:
    """Ids of every item the gate lets out, in time order."""
    if not isinstance(target, Session):
        with target.session() as session:
            return _publishable(session, target)
    return _publishable(target, _folder_of(target))


def export_publishable(ctx: ArchiveContext, dest: Path) -> list[str]:
    """Copy each publishable derivative to ``dest`` with the public key and signed records.

    Files this function wrote earlier that the gate no longer lets out (consent withdrawn, approval
    cancelled) are removed from ``dest``, so a folder kept for looking at does not go on showing
    a face it must not.
    """
    dest.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    lines: list[str] = []
    with ctx.transaction() as tx:
        for item_id in _publishable(tx.session, ctx):
            row = tx.session.get(Derivative, item_id)
            if row is None:
                continue  # texts and messages have nothing to copy
            name = f"{item_id[:16]}{Path(row.path).suffix}"
            # the one place a derivative is written in clear: where the person pointed
            copy_atomic(provenance.readable(ctx, row.path, row.sha256), dest / name)
            written.append(name)
            lines.append(json.dumps({"record": json.loads(row.record), "signature": row.signature}))
            tx.log(Action.EXPORTED, item_id, file=name, sha256=row.sha256)
    for path in dest.iterdir():
        if _EXPORT_NAME.match(path.name) and path.name not in written:
            path.unlink()
    (dest / "provenance.jsonl").write_text("".join(f"{line}\n" for line in lines), "utf-8")
    if written:
        (dest / provenance.PUBLIC).write_bytes(provenance.export_public_key(ctx))
    return written


def metadata_problems(path: Path) -> list[str]:
    """Identifying metadata in a derivative, read straight from its bytes (no exiftool needed).

    JPEG: only the JFIF header may precede the image (no APP1-15: EXIF, XMP, ICC, IPTC, Adobe;
    no comments). MP4: no user-data, metadata, location or XMP boxes, and zero creation dates.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        handle.seek(0)
        if head[:2] == b"\xff\xd8":
            return _jpeg_problems(handle.read())
        if head[4:8] == b"ftyp":
            return _mp4_top_level(handle)
    return ["not a JPEG or MP4 written by temoin"]


def _mp4_top_level(handle: BinaryIO) -> list[str]:
    """Walk the top-level boxes by their headers, reading only the small ones (not ``mdat``)."""
    problems: list[str] = []
    while header := handle.read(8):
        if len(header) < 8:
            return [*problems, "damaged MP4 structure"]
        size, kind = struct.unpack(">I4s", header)
        extra = b""
        if size == 1:
            extra = handle.read(8)
            (size,) = struct.unpack(">Q", extra)
        elif size == 0:
            size = os.fstat(handle.fileno()).st_size - handle.tell() + 8
        body = size - 8 - len(extra)
        if body < 0:
            return [*problems, "damaged MP4 structure"]
        if kind in (b"mdat", b"free", b"skip"):
            handle.seek(body, os.SEEK_CUR)
            continue
        problems += _mp4_problems(header + extra + handle.read(body))
    return problems


def _check(session: Session, folder: provenance.Folder | None, item_id: str) -> Verdict:
    item = session.get(Item, item_id)
    if item is None:
        return Verdict(False, [marked("no such item")])
    reasons: list[str] = []
    change = session.get(EntryChange, item_id)
    if change is not None:
        reasons.append(
            marked("replaced by a newer version") if change.replaced_by else marked("deleted")
        )
    review = session.get(Review, item_id)
    if review is None or review.status == PENDING:
        reasons.append(marked("not approved by a person yet"))
    elif review.status == WITHHELD:
        why = review.reason or marked("no reason given")
        reasons.append(marked("withheld: %(reason)s") % {"reason": why})
    elif review.status != APPROVED:
        reasons.append(marked("unknown review status %(status)s") % {"status": repr(review.status)})
    elif item.damaged and not review.damage_acknowledged:
        reasons.append(
            marked("the original is damaged (%(damage)s) and the approval does not acknowledge it")
            % {"damage": item.damaged}
        )
    # The decisive state must be what the custody log records: a row edited in the database
    # (a "no" made "yes", an approval forged, a link or box removed) keeps the item in.
    reasons += [
        marked("the catalog disagrees with the custody log: %(fault)s") % {"fault": f.line()}
        for f in replay.gate_faults(session, item_id)
    ]
    rule = policy(item.kind).gate
    if rule is GateRule.TEXT:
        return Verdict(not reasons, reasons)
    if rule is GateRule.NEVER:
        never = marked("a %(kind)s is never published as such") % {"kind": item.kind}
        return Verdict(False, [*reasons, never])
    reasons += _derivative_reasons(session, folder, item, review, rule)
    return Verdict(not reasons, reasons)


def _derivative_reasons(
    session: Session,
    folder: provenance.Folder | None,
    item: Item,
    review: Review | None,
    rule: GateRule,
) -> list[str]:
    row = session.get(Derivative, item.id)
    if row is None:
        return [marked("no derivative yet (run `temoin redact`)")]
    reasons: list[str] = []
    inputs = inputs_for(session, item)
    if row.inputs != inputs.fingerprint():
        reasons.append(marked("the derivative is older than the latest decision or consent change"))
    if review is not None and review.status == APPROVED and review.derivative_sha256 != row.sha256:
        reasons.append(marked("the approval was given to another rendering of this item"))
    if folder is None:
        unknown = marked("the archive folder is unknown: cannot check the derivative's file")
        return [*reasons, unknown]
    if not provenance.signature_ok(provenance.public_key(folder), row.record, row.signature):
        reasons.append(marked("the derivative's signature does not verify"))
    try:
        record: dict[str, Any] = json.loads(row.record)
    except json.JSONDecodeError:
        return [*reasons, marked("the derivative's record is unreadable")]
    if record.get("sha256") != row.sha256 or record.get("model_version") != MODEL_VERSION:
        reasons.append(marked("the derivative's record does not match (or an older model made it)"))
    stored = folder.root / row.path
    missing = [*reasons, marked("%(path)s is missing") % {"path": row.path}]
    if not stored.is_file():
        return missing
    changed = [*reasons, marked("%(path)s was changed after it was made") % {"path": row.path}]
    try:
        # the stored bytes themselves, each time: a decrypted copy is made once a process
        if folder.sealer.hash_stored(stored)[0] != row.sha256:
            return changed
        path = provenance.readable(folder, row.path, row.sha256)
    except SealBroken:  # does not decrypt, or holds another file's bytes
        return changed
    except FileNotFoundError:
        return missing
    if rule is GateRule.FACES:
        reasons += _face_reasons(session, record, inputs)
    if record.get("sound", True):  # older records did not say: count them as having sound
        reasons += voice_reasons(session, item, review)
    reasons += [marked("metadata: %(problem)s") % {"problem": p} for p in metadata_problems(path)]
    return reasons


def voice_reasons(session: Session, item: Item, review: Review | None) -> list[str]:
    """Why the sound of this item may not leave yet (empty when its voices are accounted for)."""
    video = item.kind == Kind.VIDEO
    if review is None or not review.voices_checked:
        return [
            marked(
                "its sound is withheld until a reviewer has linked every voice heard to a person "
                "and said so (voices checked), or mute it"
            )
            if video
            else marked(
                "the voice note is withheld until a reviewer has linked every voice heard to a "
                "person and said so (voices checked), or leave it withheld"
            )
        ]
    reasons = []
    for person in session.scalars(
        select(Person)
        .join(VoiceLink, VoiceLink.person_id == Person.id)
        .where(VoiceLink.item_id == item.id)
        .order_by(Person.id)
    ):
        if not covers(person, "voice"):
            reasons.append(
                (
                    marked("its sound: person #%(n)s's consent does not cover their voice")
                    if video
                    else marked(
                        "the voice note: person #%(n)s's consent does not cover their voice"
                    )
                )
                % {"n": person.id}
            )
    return reasons


def _face_reasons(session: Session, record: dict[str, Any], inputs: Inputs) -> list[str]:
    detections = record.get("detections")
    if isinstance(detections, dict):
        return _track_reasons(session, detections, inputs)
    reasons: list[str] = []
    for entry in detections or []:
        if entry.get("anonymised"):
            continue
        box = tuple(entry.get("box") or (0.0, 0.0, 0.0, 0.0))
        if entry.get("dismissed") and inputs.dismisses(box):  # a reviewer: not a face
            continue
        person = session.get(Person, entry.get("person") or -1)
        face = {"n": entry.get("n", "?"), "person": person.id if person else None}
        if person is None or inputs.keeps(box) != person.id:
            reasons.append(marked("face %(n)s is visible and not linked to anyone") % face)
        elif not covers(person, "face"):
            reasons.append(
                marked("face %(n)s is visible but person #%(person)s has not consented to faces")
                % face
            )
    return reasons


def _track_reasons(session: Session, detections: dict[str, Any], inputs: Inputs) -> list[str]:
    """A video may show a face track only where a reviewer linked it, on this very analysis, to
    a person whose consent covers faces."""
    tracks = detections.get("tracks")
    if not isinstance(tracks, list):  # a record from before tracks: no face may be kept
        kept = detections.get("kept", 1)
        return [marked("%(n)s face(s) left visible on the video") % {"n": kept}] if kept else []
    analysis = str(detections.get("analysis"))
    linked = inputs.kept_tracks(analysis)
    dismissed = inputs.dismissed_tracks(analysis)
    reasons = []
    visible = [t for t in tracks if t.get("visible")]
    for track in visible:
        if track.get("dismissed") and track.get("n") in dismissed:
            continue
        person = session.get(Person, track.get("person") or -1)
        face = {"n": track.get("n", "?"), "person": person.id if person else None}
        if person is None or linked.get(track.get("n")) != person.id:
            reasons.append(marked("face track %(n)s is visible and not linked to anyone") % face)
        elif not covers(person, "face"):
            reasons.append(
                marked(
                    "face track %(n)s is visible but person #%(person)s has not consented to faces"
                )
                % face
            )
    if detections.get("kept") and not visible:
        reasons.append(marked("faces are left visible on frames no linked track accounts for"))
    return reasons


def _publishable(session: Session, folder: provenance.Folder | None) -> list[str]:
    ids = session.scalars(
        select(Review.item_id)
        .join(Item, Item.id == Review.item_id)
        .where(Review.status == APPROVED)
        .order_by(Item.time_utc.is_(None), Item.time_utc, Item.id)
    )
    return [i for i in ids if _check(session, folder, i).ok]


def _folder_of(session: Session) -> _Folder | None:
    """The archive folder behind a bare session, as the archive that opened it recorded it
    (``ArchiveContext.session``); never guessed from the catalog's location, which on a
    server says nothing of the folder. None refuses every file (default deny), as does an
    encrypted archive whose sealer the session was not given."""
    given = session.info.get("archive_root")
    if given is None:
        return None
    root = Path(given)
    sealer = session.info.get("archive_sealer")
    if sealer is None:
        if keyfile.is_encrypted(root):
            return None
        sealer = Plain()
    return _Folder(root, sealer)


def _jpeg_problems(data: bytes) -> list[str]:
    problems: list[str] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return [*problems, "damaged JPEG structure"]
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: only entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xE1 <= marker <= 0xEF:
            problems.append(f"APP{marker - 0xE0} segment (EXIF, XMP, ICC, IPTC or vendor data)")
        elif marker == 0xFE:
            problems.append("comment segment")
        pos += 2 + length
    return problems


_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}
# FFmpeg writes an empty udta/meta/hdlr/ilst skeleton even bit-exact: the boxes are fine, what
# they hold is not. ``meta`` is a full box (4 bytes of version and flags before its children).
_MP4_FORBIDDEN = {
    b"\xa9xyz": "location",
    b"loci": "location",
    b"uuid": "vendor (XMP) box",
    b"XMP_": "XMP",
    b"\xa9mak": "device make",
    b"\xa9mod": "device model",
    b"\xa9too": "encoder",
    b"\xa9swr": "software",
    b"\xa9day": "date",
}
_MP4_MUST_BE_EMPTY = {b"ilst": "metadata list", b"keys": "metadata keys"}


def _mp4_problems(data: bytes, start: int = 0, end: int | None = None) -> list[str]:
    problems: list[str] = []
    pos, end = start, len(data) if end is None else end
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return [*problems, "damaged MP4 structure"]
        name = kind.decode("latin-1")
        if kind in _MP4_FORBIDDEN:
            problems.append(f"{_MP4_FORBIDDEN[kind]} ({name} box)")
        elif kind in _MP4_MUST_BE_EMPTY and size > header + (8 if kind == b"keys" else 0):
            problems.append(f"{_MP4_MUST_BE_EMPTY[kind]} ({name} box) is not empty")
        elif kind == b"mvhd" and _mvhd_dated(data[pos + header : pos + size]):
            problems.append("non-zero creation date")
        if kind in _MP4_CONTAINERS:
            problems += _mp4_problems(data, pos + header, pos + size)
        elif kind == b"meta":
            problems += _mp4_problems(data, pos + header + 4, pos + size)
        pos += size
    return problems


def _mvhd_dated(body: bytes) -> bool:
    if not body:
        return False
    width = 8 if body[0] == 1 else 4
    created = body[4 : 4 + width]
    return any(created)


# -- audit: a second, independent look at what the gate produced -----------------------------------

_MEDIA_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".webp", ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".m4a",
}  # fmt: skip


@dataclass
class AuditReport:
    """What the audit still sees: faces no decision accounts for, and metadata left behind.

    ``accounted`` counts faces it found that a reviewer left visible on purpose (linked to a
    person whose consent covers faces); they are not problems and are not listed.
    """

    findings: list[dict[str, Any]] = field(default_factory=list)
    accounted: int = 0


def audit(ctx: ArchiveContext, extra: tuple[Path, ...] = ()) -> AuditReport:
    """Faces the Haar cascades still see, and metadata still present, on every derivative file,
    on anything else lying in ``derivatives/``, and on ``extra`` files or folders (an export).

    In an encrypted archive what lies in ``derivatives/`` is looked at decrypted, in memory. A
    derivative's file that does not decrypt is listed, since nobody can say what it shows; any
    other file there that is not sealed is looked at as it lies (a copy put there by hand)."""
    from temoin.protect.audit import audit_file

    targets: dict[Path, Derivative | None] = {}
    report = AuditReport()
    folder = ctx.root / provenance.DERIVATIVES
    with ctx.session() as session:
        for derivative in session.scalars(select(Derivative).order_by(Derivative.item_id)):
            targets[ctx.root / derivative.path] = derivative
        loose = [folder] if folder.is_dir() else []
        for path in _media_files([*loose, *extra]):
            if path not in targets:  # an exported copy still answers to its derivative's hash
                sha = _content_hash(ctx, path)
                targets[path] = (
                    session.scalar(select(Derivative).where(Derivative.sha256 == sha))
                    if sha is not None
                    else None
                )
        for stored, row in targets.items():
            if not stored.is_file():
                continue
            shown = _shown(stored, ctx.root)
            try:
                path = _clear(ctx, stored, row)
            except SealBroken:
                if row is not None and stored == ctx.root / row.path:
                    problem = "does not decrypt, or holds other bytes than its hash: altered"
                    report.findings.append(_finding(shown, row, "unreadable", problem=problem))
                    continue
                path = stored  # not sealed by the archive: a copy put there by hand, in clear
            for problem in metadata_problems(path):
                report.findings.append(_finding(shown, row, "metadata", problem=problem))
            if path.suffix.lower() == ".m4a" or (row is not None and row.mime.startswith("audio/")):
                continue  # a sound: its metadata was checked, it has no face to look for
            visible = _visible_faces(session, row, path)
            for found in audit_file(path):
                if visible.accounts_for(found.box, found.frame):
                    report.accounted += 1
                    continue
                report.findings.append(
                    _finding(
                        shown,
                        row,
                        "face",
                        box=list(found.box),
                        frame=found.frame,
                        cascade=found.cascade,
                        confidence=round(found.confidence, 2),
                    )
                )
    return report


def _stored_in(ctx: ArchiveContext, path: Path) -> bool:
    """Whether ``path`` is one of the archive's own (sealed, when encrypted) files."""
    return path.is_relative_to(ctx.root.absolute()) or path.is_relative_to(ctx.root)


def _content_hash(ctx: ArchiveContext, path: Path) -> str | None:
    """The hash of what a file holds (decrypted, for the archive's own); None when it does not
    decrypt (the audit lists it then)."""
    if not _stored_in(ctx, path):
        return hash_file(path)[0]
    try:
        return ctx.sealer.hash_stored(path)[0]
    except SealBroken:
        return None


def _clear(ctx: ArchiveContext, path: Path, row: Derivative | None) -> Path:
    """The file to look at: an export as it is, an archive's own file decrypted (checked against
    its row's hash when it is that row's file)."""
    if not _stored_in(ctx, path):
        return path
    sha = row.sha256 if row is not None and path == ctx.root / row.path else None
    return ctx.sealer.clear(path, sha)


def _finding(path: str, row: Derivative | None, kind: str, **detail: Any) -> dict[str, Any]:
    return {
        "file": path,
        "item": row.item_id if row else None,
        "kind": kind,
        **detail,
    }


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _media_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [
            p.absolute()
            for p in candidates
            if p.is_file()
            and p.suffix.lower() in _MEDIA_SUFFIXES
            and not any(part.startswith(".") for part in p.parts[-2:])
        ]
    return found


@dataclass
class _Visible:
    """Boxes a reviewer left visible for consenting people, normalised to the picture: photo
    faces, or a video's visible face tracks (placed frame by frame as the renderer placed them)."""

    photo: list[tuple[float, ...]] = field(default_factory=list)
    tracks: list[Any] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    margins: Any = None
    size: tuple[int, int] = (1, 1)

    def accounts_for(self, found: tuple[int, int, int, int], frame: int | None) -> bool:
        width, height = self.size
        if frame is None:
            boxes = self.photo
        elif self.tracks:
            from temoin.protect.tracks import boxes_at

            boxes = [
                b.normalised(width, height)
                for b, _, _ in boxes_at(self.tracks, self.cuts, self.margins, frame)
            ]
        else:
            boxes = []
        return any(_covers_box(kept, found, width, height) for kept in boxes)


def _visible_faces(session: Session, row: Derivative | None, path: Path) -> _Visible:
    if row is None:
        return _Visible()
    record = json.loads(row.record)
    detections = record.get("detections")
    if isinstance(detections, list):
        from PIL import Image

        kept = []
        for entry in detections:
            person = session.get(Person, entry.get("person") or -1)
            if not entry.get("anonymised") and covers(person, "face"):
                kept.append(tuple(entry["box"]))
        if not kept:
            return _Visible()
        with Image.open(path) as image:
            return _Visible(photo=kept, size=image.size)
    if isinstance(detections, dict) and isinstance(detections.get("tracks"), list):
        from temoin.protect.tracks import Margins, Track

        width, height = int(detections["width"]), int(detections["height"])
        tracks = []
        for entry in detections["tracks"]:
            person = session.get(Person, entry.get("person") or -1)
            if entry.get("visible") and covers(person, "face"):
                tracks.append(Track.from_record(entry, width, height))
        if tracks:
            margins = Margins(**detections["margins"])
            return _Visible(
                tracks=tracks, cuts=detections["cuts"], margins=margins, size=(width, height)
            )
    return _Visible()


def _covers_box(
    kept: tuple[float, ...], found: tuple[int, int, int, int], width: int, height: int
) -> bool:
    """Whether a cascade's pixel box lies mostly inside a kept face's (normalised) box."""
    x, y, w, h = kept
    kx0, ky0, kx1, ky1 = x * width, y * height, (x + w) * width, (y + h) * height
    fx, fy, fw, fh = found
    iw = min(kx1, fx + fw) - max(kx0, fx)
    ih = min(ky1, fy + fh) - max(ky0, fy)
    return iw > 0 and ih > 0 and iw * ih >= 0.5 * fw * fh
