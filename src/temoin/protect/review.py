"""The review queue and a reviewer's decisions, and consent changes that reach derivatives.

Every decision is a ``reviewed`` custody event in the same transaction as the change, and every
link can be taken back the same way. Decisions that change pixels (linking a face or a face track
to a person, adding a box, muting) render the derivative again at once, and a new rendering
cancels any approval: the reviewer approves what they saw, not what came after. A consent change
does the same for every item showing that person, so `people withdraw` leaves no
published-looking derivative with their face, and those items wait for review again.

Voices are accounted for without touching the sound: a reviewer links each voice heard to a
person and then says every voice is linked (``voices checked``); the gate reads both, with each
person's current consent, every time something is about to leave.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog import queries
from temoin.catalog.models import (
    Derivative,
    Dismissal,
    EntryChange,
    FaceLink,
    Item,
    Person,
    RedactBox,
    Review,
    VoiceLink,
)
from temoin.context import ArchiveContext, Transaction
from temoin.errors import DamageNotAcknowledged, NotRedacted, TemoinError, UsageError
from temoin.events import Action
from temoin.i18n import marked
from temoin.kinds import FACES, QUEUED, RENDERED, SOUND, TEXT_GATED, Kind
from temoin.protect import consent, derivatives, gate
from temoin.protect.records import ConsentResult, DerivativeShown, PersonRecord, ReviewRecord

NormBox = tuple[float, float, float, float]


# -- the consent register, as the CLI and the web app reach it ----------------------------------


def set_consent(ctx: ArchiveContext, name: str, **fields: Any) -> ConsentResult:
    """Add or change a person; items showing them are rendered again if their face's fate changed."""
    with ctx.writing():
        with ctx.transaction() as tx:
            change = consent.record(tx, name, **fields)
        rendered = _rerender_linked(ctx, change.person_id)
    return {
        "person": change.name,
        "consent": change.consent,
        "scope": change.scope,
        "rerendered": rendered,
    }


def withdraw(ctx: ArchiveContext, name: str, how: str = "") -> ConsentResult:
    """`people withdraw`: the person's faces are covered again wherever a reviewer linked them."""
    with ctx.session() as session:
        consent.find(session, name)
    return set_consent(ctx, name, consent=consent.WITHDRAWN, how=how or "withdrawn")


def people(ctx: ArchiveContext) -> list[PersonRecord]:
    with ctx.session() as session:
        return consent.people(session)


def _rerender_linked(ctx: ArchiveContext, person_id: int) -> list[str]:
    with ctx.session() as session:
        linked = set(
            session.scalars(select(FaceLink.item_id).where(FaceLink.person_id == person_id))
        )
        stale = [item.id for item in derivatives.stale_items(session) if item.id in linked]
    return _render(ctx, stale)


def _render(ctx: ArchiveContext, item_ids: list[str]) -> list[str]:
    report = derivatives.render(ctx, item_ids)
    if report.failed:
        item, reason = report.failed[0]
        raise TemoinError(f"{item[:12]}: could not be rendered again ({reason}); it stays refused")
    return report.rendered


# -- the queue -----------------------------------------------------------------------------------


def queue(ctx: ArchiveContext, status: str = gate.PENDING) -> list[ReviewRecord]:
    """Items with this review status (by default those awaiting a decision), oldest first, with
    what the detector found on each; ``withheld`` lists what was held back, with the reasons."""
    if status not in (gate.PENDING, gate.APPROVED, gate.WITHHELD):
        raise UsageError(f"{status}: a review status is pending, approved or withheld")
    with ctx.session() as session:
        chosen = Review.status == status
        if status == gate.PENDING:
            chosen = Review.status.is_(None) | chosen
        items = session.scalars(
            select(Item)
            .outerjoin(Review, Review.item_id == Item.id)
            .where(Item.kind.in_(QUEUED))
            .where(chosen)
            .where(Item.id.not_in(select(EntryChange.item_id)))  # an entry's older versions
            .order_by(Item.time_utc.is_(None), Item.time_utc, Item.id)
        )
        return [_record(session, ctx, item) for item in items]


def choices(ctx: ArchiveContext) -> tuple[list[str], list[str]]:
    """The kinds and sources of everything a reviewer may decide on, for the queue's filters."""
    with ctx.session() as session:
        rows = session.execute(
            select(Item.kind, Item.source).where(Item.kind.in_(QUEUED)).distinct()
        ).all()
    return sorted({k for k, _ in rows}), sorted({s for _, s in rows})


def next_in_queue(ctx: ArchiveContext, item_id: str) -> str | None:
    """The item after this one in the queue's order (or the first, if this one left it)."""
    with ctx.session() as session:
        ids = list(
            session.scalars(
                select(Item.id)
                .outerjoin(Review, Review.item_id == Item.id)
                .where(Item.kind.in_(QUEUED))
                .where(Review.status.is_(None) | (Review.status == gate.PENDING))
                .where(Item.id.not_in(select(EntryChange.item_id)))
                .order_by(Item.time_utc.is_(None), Item.time_utc, Item.id)
            )
        )
    if item_id in ids:
        later = ids[ids.index(item_id) + 1 :]
        return later[0] if later else None
    return ids[0] if ids else None


def show(ctx: ArchiveContext, prefix: str) -> ReviewRecord:
    with ctx.session() as session:
        return _record(session, ctx, queries.item_by_prefix(session, prefix))


def _record(session: Session, ctx: ArchiveContext, item: Item) -> ReviewRecord:
    review = session.get(Review, item.id)
    row = session.get(Derivative, item.id)
    signed: dict[str, Any] = json.loads(row.record) if row is not None else {}
    shown: DerivativeShown | None = None
    if row is not None:
        shown = {
            "sha256": row.sha256,
            "path": row.path,
            "current": derivatives.is_current(session, item, row),
            "made_at": signed.get("made_at"),
        }
    detections = signed.get("detections")
    analysis = (detections or {}).get("analysis") if item.kind == Kind.VIDEO else None
    record: ReviewRecord = {
        "id": item.id,
        "kind": item.kind,
        "name": item.name,
        "source": item.source,
        "status": review.status if review else gate.PENDING,
        "reason": review.reason if review else None,
        "text": item.shown_text if item.kind in TEXT_GATED else None,
        "derivative": shown,
        "damaged": item.damaged,
        "damage_acknowledged": bool(review and review.damage_acknowledged),
        "detections": detections,
        "links": [
            {
                "box": link.box,
                "track": link.track,
                "applies": link.track is None or link.analysis == analysis,
                "person": person.name,
                "consent": person.consent,
                "face_visible": consent.covers(person, "face"),
            }
            for link, person in session.execute(
                select(FaceLink, Person)
                .join(Person, Person.id == FaceLink.person_id)
                .where(FaceLink.item_id == item.id)
                .order_by(FaceLink.id)
            )
        ],
        "voices": {
            "checked": bool(review and review.voices_checked),
            "sound": bool(signed.get("sound")),
            "linked": [
                {
                    "person": person.name,
                    "consent": person.consent,
                    "voice": consent.covers(person, "voice"),
                }
                for person in session.scalars(
                    select(Person)
                    .join(VoiceLink, VoiceLink.person_id == Person.id)
                    .where(VoiceLink.item_id == item.id)
                    .order_by(VoiceLink.id)
                )
            ],
        },
        # numbered by their own ids: a number never comes to mean another box
        "boxes": [
            {"n": b.id, "box": b.box, "from": b.start, "to": b.end, "by": b.added_by}
            for b in _boxes(session, item)
        ],
        "dismissed": [
            {"box": d.box, "track": d.track, "by": d.dismissed_by}
            for d in session.scalars(
                select(Dismissal).where(Dismissal.item_id == item.id).order_by(Dismissal.id)
            )
        ],
        "decisions": [
            {"at": e.at, "actor": e.actor, **json.loads(e.detail)}
            for e in queries.events_for(session, item.id)
            if e.action == Action.REVIEWED.value
        ],
        "gate": gate._check(session, ctx, item.id).reasons,
    }
    if row is None:
        del record["detections"]  # nothing rendered yet: nothing was detected
    return record


# -- decisions -----------------------------------------------------------------------------------


def _pixel_decision(
    ctx: ArchiveContext, prefix: str, decide: Callable[[Session, Item], dict[str, Any]]
) -> ReviewRecord:
    """One decision that changes what the derivative shows, written the same way every time.

    `decide` checks and records the decision, returning its custody detail; the item then goes
    back to the queue and is rendered again, since an approval covered the old pixels only.
    """
    with ctx.writing():
        with ctx.transaction() as tx:
            item = queries.item_by_prefix(tx.session, prefix)
            detail = decide(tx.session, item)
            tx.log(Action.REVIEWED, item.id, **detail)
            _reopen(tx.session, item.id)
            item_id = item.id
        _render(ctx, [item_id])
    return show(ctx, item_id)


def link_face(ctx: ArchiveContext, prefix: str, face: int, person_name: str) -> ReviewRecord:
    """Say that detected face number ``face`` is this person; it stays visible only while the
    person's consent covers faces. Only a reviewer makes this link: nothing is recognised."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        if item.kind != Kind.PHOTO:
            raise UsageError(
                "--link-face is for photos; on a video, link a whole face track: --link-track N"
            )
        box = _photo_face(session, item, face)
        person = consent.find(session, person_name)
        for dismissal in _face_dismissals(session, item, box):
            session.delete(dismissal)  # it is a face after all: a person's face
        session.add(
            FaceLink(
                item_id=item.id,
                person_id=person.id,
                box=box,
                linked_by=ctx.actor,
                linked_at=_now(),
            )
        )
        return {"decision": "link-face", "face": face, "person": person.id, "box": box}

    return _pixel_decision(ctx, prefix, decide)


def unlink_face(ctx: ArchiveContext, prefix: str, face: int) -> ReviewRecord:
    """Take back a link on a photo: face ``face`` is covered again, whoever it was linked to."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        if item.kind != Kind.PHOTO:
            raise UsageError("--unlink-face is for photos; on a video use --unlink-track N")
        box = _photo_face(session, item, face)
        links = [
            link
            for link in session.scalars(
                select(FaceLink).where(FaceLink.item_id == item.id, FaceLink.track.is_(None))
            )
            if derivatives.same_face(link.box, box)
        ]
        if not links:
            raise UsageError(f"--unlink-face {face}: face {face} is not linked to anyone")
        for link in links:
            session.delete(link)
        people = [x.person_id for x in links]
        return {"decision": "unlink-face", "face": face, "people": people, "box": box}

    return _pixel_decision(ctx, prefix, decide)


def link_track(
    ctx: ArchiveContext, prefix: str, track: int, person_name: str, expect: str | None = None
) -> ReviewRecord:
    """Say that face track ``track`` of a video is this person: it stays visible, on every frame
    it covers, only while the person's consent covers faces. Nothing is recognised: the track
    follows one face by position, and the reviewer says whose it is."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        analysis, found = _video_track(session, item, track, expect)
        person = consent.find(session, person_name)
        for link in _track_links(session, item, track, analysis):  # one face: a new link replaces
            session.delete(link)
        for dismissal in _dismissals(session, item):
            if dismissal.track == track and dismissal.analysis == analysis:
                session.delete(dismissal)  # it is a face after all: a person's face
        box = [float(v) for v in found["hits"][0][1:5]]
        session.add(
            FaceLink(
                item_id=item.id,
                person_id=person.id,
                box=box,
                track=track,
                analysis=analysis,
                linked_by=ctx.actor,
                linked_at=_now(),
            )
        )
        return {
            "decision": "link-track",
            "track": track,
            "person": person.id,
            "analysis": analysis,
            "box": box,
        }

    return _pixel_decision(ctx, prefix, decide)


def unlink_track(
    ctx: ArchiveContext, prefix: str, track: int, expect: str | None = None
) -> ReviewRecord:
    """Take back a track's link: the face is covered again on every frame."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        analysis, _ = _video_track(session, item, track, expect)
        links = _track_links(session, item, track, analysis)
        if not links:
            raise UsageError(f"--unlink-track {track}: track {track} is not linked to anyone")
        for link in links:
            session.delete(link)
        return {
            "decision": "unlink-track",
            "track": track,
            "people": [x.person_id for x in links],
            "analysis": analysis,
        }

    return _pixel_decision(ctx, prefix, decide)


def _track_links(session: Session, item: Item, track: int, analysis: str) -> list[FaceLink]:
    return list(
        session.scalars(
            select(FaceLink).where(
                FaceLink.item_id == item.id,
                FaceLink.track == track,
                FaceLink.analysis == analysis,
            )
        )
    )


def _voice_links(session: Session, item: Item, person: Person) -> list[VoiceLink]:
    return list(
        session.scalars(
            select(VoiceLink).where(VoiceLink.item_id == item.id, VoiceLink.person_id == person.id)
        )
    )


def check_seen(current: str, expect: str | None) -> None:
    """Refuse a decision about a rendering other than the one the person was shown."""
    if expect is None:
        return
    wanted = expect.strip().lower()
    if len(wanted) < 12 or not all(c in "0123456789abcdef" for c in wanted):
        raise UsageError(f"--expect {expect}: give the rendering's SHA-256 (12 characters or more)")
    if not current.startswith(wanted):
        raise UsageError(
            marked(
                "the item was rendered again since you looked (now %(now)s, you saw %(seen)s): "
                "look at it again"
            )
            % {"now": current[:16], "seen": wanted[:16]}
        )


def _photo_face(session: Session, item: Item, face: int, expect: str | None = None) -> list[float]:
    row = session.get(Derivative, item.id)
    if row is None:
        raise NotRedacted()
    check_seen(row.sha256, expect)
    found = [d for d in json.loads(row.record)["detections"] if d.get("n") == face]
    if not found:
        raise UsageError(f"face {face}: the derivative has no face {face}")
    return [float(v) for v in found[0]["box"]]


def _video_track(
    session: Session, item: Item, track: int, expect: str | None
) -> tuple[str, dict[str, Any]]:
    """The analysis key of the video's current derivative and its track ``track``.

    Track numbers belong to one analysis: with ``expect`` (the rendering the reviewer looked
    at), a link cannot land on a number that has meanwhile come to mean another face.
    """
    if item.kind != Kind.VIDEO:
        raise UsageError(f"a {item.kind} has no face tracks (tracks are on videos)")
    row = session.get(Derivative, item.id)
    if row is None or not derivatives.is_current(session, item, row):
        raise NotRedacted()
    check_seen(row.sha256, expect)
    detections = json.loads(row.record).get("detections") or {}
    found = [t for t in detections.get("tracks", []) if t.get("n") == track]
    if not found:
        raise UsageError(f"track {track}: the derivative has no face track {track}")
    return str(detections["analysis"]), found[0]


def link_voice(ctx: ArchiveContext, prefix: str, person_name: str) -> ReviewRecord:
    """Say that this person's voice is heard on a voice note or a video's sound."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        _check_sound(item)
        person = consent.find(session, person_name)
        if not _voice_links(session, item, person):
            session.add(
                VoiceLink(
                    item_id=item.id, person_id=person.id, linked_by=ctx.actor, linked_at=_now()
                )
            )
        return {"decision": "link-voice", "person": person.id}

    return _voice_decision(ctx, prefix, decide)


def unlink_voice(ctx: ArchiveContext, prefix: str, person_name: str) -> ReviewRecord:
    def decide(session: Session, item: Item) -> dict[str, Any]:
        _check_sound(item)
        person = consent.find(session, person_name)
        links = _voice_links(session, item, person)
        if not links:
            raise UsageError(f"--unlink-voice: no voice of {person_name!r} is linked here")
        for link in links:
            session.delete(link)
        detail: dict[str, Any] = {"decision": "unlink-voice", "person": person.id}
        review = session.get(Review, item.id)
        if review is not None and review.voices_checked:
            # a voice heard is no longer accounted for: the check no longer holds
            review.voices_checked = False
            detail["voices_checked"] = False
        return detail

    return _voice_decision(ctx, prefix, decide)


def set_voices_checked(ctx: ArchiveContext, prefix: str, checked: bool) -> ReviewRecord:
    """The reviewer listened to the whole sound and linked every voice heard (or takes it back)."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        _check_sound(item)
        review = session.get(Review, item.id) or Review(item_id=item.id, status=gate.PENDING)
        review.voices_checked = checked
        session.add(review)
        return {"decision": "voices-checked" if checked else "voices-unchecked"}

    return _voice_decision(ctx, prefix, decide)


def _check_sound(item: Item) -> None:
    if item.kind not in SOUND:
        raise UsageError(f"a {item.kind} has no sound: voices are linked on voice notes and videos")


def _voice_decision(
    ctx: ArchiveContext, prefix: str, decide: Callable[[Session, Item], dict[str, Any]]
) -> ReviewRecord:
    """A decision about voices: logged like any other, but the rendering stays as it is (the
    sound is not changed; the gate reads voice links and consent when something leaves)."""
    with ctx.transaction() as tx:
        item = queries.item_by_prefix(tx.session, prefix)
        detail = decide(tx.session, item)
        tx.log(Action.REVIEWED, item.id, **detail)
        item_id = item.id
    return show(ctx, item_id)


def dismiss_face(
    ctx: ArchiveContext, prefix: str, face: int, *, restore: bool = False, expect: str | None = None
) -> ReviewRecord:
    """Say that detected face ``face`` of a photo is not a face (a poster, a flower): it is left
    uncovered. ``restore`` takes that back and it is covered again. ``expect`` is the rendering
    whose face numbers the person looked at."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        if item.kind != Kind.PHOTO:
            raise UsageError("--dismiss-face is for photos; on a video use --dismiss-track N")
        box = _photo_face(session, item, face, expect)
        if restore:
            gone = _face_dismissals(session, item, box)
            if not gone:
                raise UsageError(f"face {face} was not dismissed")
            for d in gone:
                session.delete(d)
            return {"decision": "restore-face", "face": face, "box": box}
        linked = session.scalars(
            select(FaceLink).where(FaceLink.item_id == item.id, FaceLink.track.is_(None))
        )
        if any(derivatives.same_face(link.box, box) for link in linked):
            raise UsageError(f"face {face} is linked to a person: unlink it first")
        session.add(
            Dismissal(item_id=item.id, box=box, dismissed_by=ctx.actor, dismissed_at=_now())
        )
        return {"decision": "dismiss-face", "face": face, "box": box}

    return _pixel_decision(ctx, prefix, decide)


def dismiss_track(
    ctx: ArchiveContext,
    prefix: str,
    track: int,
    *,
    restore: bool = False,
    expect: str | None = None,
) -> ReviewRecord:
    """Say that face track ``track`` of a video is not a face; ``restore`` takes that back."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        analysis, found = _video_track(session, item, track, expect)
        mine = [
            d for d in _dismissals(session, item) if d.track == track and d.analysis == analysis
        ]
        if restore:
            if not mine:
                raise UsageError(f"track {track} was not dismissed")
            for d in mine:
                session.delete(d)
            return {"decision": "restore-track", "track": track, "analysis": analysis}
        if _track_links(session, item, track, analysis):
            raise UsageError(f"track {track} is linked to a person: unlink it first")
        box = [float(v) for v in found["hits"][0][1:5]]
        if not mine:
            session.add(
                Dismissal(
                    item_id=item.id,
                    box=box,
                    track=track,
                    analysis=analysis,
                    dismissed_by=ctx.actor,
                    dismissed_at=_now(),
                )
            )
        else:
            box = mine[0].box
        return {"decision": "dismiss-track", "track": track, "analysis": analysis, "box": box}

    return _pixel_decision(ctx, prefix, decide)


def remove_box(ctx: ArchiveContext, prefix: str, number: int) -> ReviewRecord:
    """Take back box ``number`` a reviewer added (as `review ID` numbers them: by the box's own
    id, so a number never comes to mean another box)."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        found = [b for b in _boxes(session, item) if b.id == number]
        if not found:
            raise UsageError(f"--remove-box {number}: the item has no added box {number}")
        gone = found[0]
        session.delete(gone)
        return {"decision": "remove-box", "box": gone.box, "start": gone.start, "end": gone.end}

    return _pixel_decision(ctx, prefix, decide)


def release(ctx: ArchiveContext, prefix: str) -> ReviewRecord:
    """A withheld item goes back to the queue, to be decided again."""
    with ctx.transaction() as tx:
        item = queries.item_by_prefix(tx.session, prefix)
        review = tx.session.get(Review, item.id)
        if review is None or review.status != gate.WITHHELD:
            raise UsageError(f"{item.id[:12]} is not withheld")
        _decide(tx, item.id, gate.PENDING, None, None, decision="released")
        item_id = item.id
    return show(ctx, item_id)


def _boxes(session: Session, item: Item) -> list[RedactBox]:
    return list(
        session.scalars(
            select(RedactBox).where(RedactBox.item_id == item.id).order_by(RedactBox.id)
        )
    )


def _face_dismissals(session: Session, item: Item, box: list[float]) -> list[Dismissal]:
    return [
        d
        for d in _dismissals(session, item)
        if d.track is None and derivatives.same_face(d.box, box)
    ]


def _dismissals(session: Session, item: Item) -> list[Dismissal]:
    return list(session.scalars(select(Dismissal).where(Dismissal.item_id == item.id)))


def add_box(
    ctx: ArchiveContext,
    prefix: str,
    box: Sequence[float],
    start: float | None = None,
    end: float | None = None,
) -> ReviewRecord:
    """Cover a region the detector missed (on a video, only between ``start`` and ``end``)."""
    _check_box(box)
    if start is not None and end is not None and end < start:
        raise UsageError("--to comes before --from")

    def decide(session: Session, item: Item) -> dict[str, Any]:
        if item.kind not in FACES:
            raise UsageError(f"a {item.kind} has no pixels to cover")
        if item.kind == Kind.PHOTO and (start is not None or end is not None):
            raise UsageError("--from and --to apply to videos only")
        session.add(
            RedactBox(
                item_id=item.id,
                box=list(box),
                start=start,
                end=end,
                added_by=ctx.actor,
                added_at=_now(),
            )
        )
        return {"decision": "add-box", "box": list(box), "start": start, "end": end}

    return _pixel_decision(ctx, prefix, decide)


def set_mute(ctx: ArchiveContext, prefix: str, mute: bool) -> ReviewRecord:
    """Remove (or restore) a video's sound: voices identify people as faces do."""

    def decide(session: Session, item: Item) -> dict[str, Any]:
        if item.kind != Kind.VIDEO:
            raise UsageError(f"a {item.kind} has no sound track to mute")
        review = session.get(Review, item.id) or Review(item_id=item.id, status=gate.PENDING)
        review.mute = mute
        detail: dict[str, Any] = {"decision": "mute" if mute else "unmute"}
        if not mute and review.voices_checked:
            review.voices_checked = False  # the sound comes back: listen to it again
            detail["voices_checked"] = False
        session.add(review)
        return detail

    return _pixel_decision(ctx, prefix, decide)


def approve(
    ctx: ArchiveContext, prefix: str, expect: str | None = None, damaged_ok: bool = False
) -> ReviewRecord:
    """A person's yes to the item as it is now (for media: to its current derivative).

    ``expect`` is the hash (or its first 12 characters or more) of the rendering the person
    looked at; if the item was rendered again since, nothing is approved. A damaged original
    may be missing what would make it unfair or unsafe to show (a cut picture, a face in the
    lost part), so its approval needs ``damaged_ok``: the reviewer says they saw the damage, and
    custody records that they did.
    """
    with ctx.transaction() as tx:
        session = tx.session
        item = queries.item_by_prefix(session, prefix)
        if item.damaged and not damaged_ok:
            raise DamageNotAcknowledged(
                f"{item.name}: the original is damaged ({item.damaged}); approve it only "
                "acknowledging that (--damaged-ok, or the box on its review page)"
            )
        sha = None
        if item.kind in RENDERED:
            row = session.get(Derivative, item.id)
            if row is None or not derivatives.is_current(session, item, row):
                raise NotRedacted()
            check_seen(row.sha256, expect)
            sha = row.sha256
        _decide(tx, item.id, gate.APPROVED, None, sha, damage=item.damaged if damaged_ok else None)
        item_id = item.id
    return show(ctx, item_id)


def withhold(ctx: ArchiveContext, prefix: str, reason: str) -> ReviewRecord:
    if not reason.strip():
        raise UsageError("--withhold needs a reason")
    with ctx.transaction() as tx:
        item = queries.item_by_prefix(tx.session, prefix)
        _decide(tx, item.id, gate.WITHHELD, reason.strip(), None)
        item_id = item.id
    return show(ctx, item_id)


def _decide(
    tx: Transaction,
    item_id: str,
    status: str,
    reason: str | None,
    sha: str | None,
    *,
    decision: str | None = None,
    damage: str | None = None,
) -> None:
    review = tx.session.get(Review, item_id) or Review(item_id=item_id)
    review.status, review.reason, review.derivative_sha256 = status, reason, sha
    review.decided_by, review.decided_at = tx.actor, _now()
    review.damage_acknowledged = damage is not None  # every other decision drops it
    tx.session.add(review)
    detail: dict[str, Any] = {"decision": decision or status}
    if reason:
        detail["reason"] = reason
    if sha:
        detail["derivative"] = sha
    if damage is not None:
        detail["damage_acknowledged"] = damage
    tx.log(Action.REVIEWED, item_id, **detail)


def _reopen(session: Session, item_id: str) -> None:
    """A pixel-changing decision sends the item back to the queue (logged with the decision)."""
    review = session.get(Review, item_id)
    if review is not None:
        review.status, review.reason, review.derivative_sha256 = gate.PENDING, None, None
        review.damage_acknowledged = False


# -- parsing what people type ---------------------------------------------------------------------


def parse_box(text: str) -> NormBox:
    """``"0.41,0.22,0.08,0.12"``: x, y, width, height as fractions of the upright picture."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise UsageError(f"{text}: a box is x,y,w,h, fractions of the picture") from exc
    box = (x, y, w, h)
    _check_box(box)
    return box


_TIME = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$|^(\d+(?:\.\d+)?)$")


def parse_time(text: str | None) -> float | None:
    """``"00:12"``, ``"1:02:03"`` or ``"12.5"`` as seconds."""
    if text is None:
        return None
    match = _TIME.match(text.strip())
    if not match:
        raise UsageError(f"{text}: a time is mm:ss, hh:mm:ss or seconds")
    hours, minutes, seconds, plain = match.groups()
    if plain is not None:
        return float(plain)
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def _check_box(box: Sequence[float]) -> None:
    x, y, w, h = box
    if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1):
        raise UsageError("a box is x,y,w,h with x,y in [0,1) and w,h in (0,1]")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
