"""Replay of the protect stage: consent, review decisions, links, dismissals, boxes, voices and
renderings, rebuilt from ``consent``, ``reviewed`` and ``redacted`` events.

This is the state the gate decides on, so it is checked twice: in full by `temoin verify`, and
for one item (with the consent of everyone linked to it) by the gate itself before anything
leaves. Each ``reviewed`` decision is replayed exactly as ``protect.review`` applies it: a
pixel-changing decision sends the item back to the queue, a new rendering reopens an approval,
a link replaces a dismissal. A few older events did not carry what is needed to replay them (the
box of an unlinked face, the analysis of an unlinked track); the links of those items are then
reported as not checked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import (
    CustodyEvent,
    Derivative,
    Dismissal,
    FaceLink,
    Person,
    RedactBox,
    Review,
    VoiceLink,
)
from temoin.events import Action
from temoin.keep.custody import event_hash
from temoin.keep.replay import Entry, Replayed, differs, lost, read_log, unlogged
from temoin.keep.verify import CHANGED, Fault
from temoin.protect import consent
from temoin.protect.derivatives import same_face

PENDING = "pending"
# Decisions that change pixels: the item goes back to the queue (review._pixel_decision).
_PIXEL = {
    "link-face", "unlink-face", "link-track", "unlink-track", "dismiss-face", "restore-face",
    "dismiss-track", "restore-track", "add-box", "remove-box", "mute", "unmute",
}  # fmt: skip
Box = tuple[float, ...]


@dataclass
class _Item:
    """What the log says one item's protect state is."""

    review: tuple[str, str | None, str | None, bool, bool] = (PENDING, None, None, False, False)
    links: list[tuple[int, int | None, str | None, Box | None]] = field(default_factory=list)
    dismissed: list[tuple[Box | None, int | None, str | None]] = field(default_factory=list)
    boxes: list[tuple[Box, float | None, float | None]] = field(default_factory=list)
    voices: set[int] = field(default_factory=set)
    rendering: str | None = None
    links_unknown: bool = False  # an older event did not say enough to replay the links

    def apply(self, entry: Entry) -> None:
        detail = entry.detail
        if entry.action == Action.REDACTED:
            self.rendering = detail.get("sha256")
            return
        decision = detail.get("decision")
        status, reason, derivative, mute, voices = self.review
        if decision == "approved":
            status, reason, derivative = "approved", detail.get("reason"), detail.get("derivative")
        elif decision == "withheld":
            status, reason, derivative = "withheld", detail.get("reason"), None
        elif decision == "released":
            status, reason, derivative = PENDING, None, None
        elif decision == "reopened":  # a new rendering: the approval named the old one
            status, reason = PENDING, None
        elif decision in _PIXEL:
            status, reason, derivative = PENDING, None, None
        if decision in ("mute", "unmute"):
            mute = decision == "mute"
        elif decision in ("voices-checked", "voices-unchecked"):
            voices = decision == "voices-checked"
        if detail.get("voices_checked") is False:
            voices = False
        self.review = (status, reason, derivative, mute, voices)
        self._links(str(decision), detail)

    def _links(self, decision: str, detail: dict[str, Any]) -> None:
        box = _box(detail.get("box"))
        track, analysis = detail.get("track"), detail.get("analysis")
        if decision == "link-face" and box is not None:
            self.dismissed = [d for d in self.dismissed if not _same(d, box)]
            self.links.append((int(detail["person"]), None, None, box))
        elif decision == "unlink-face":
            if box is None:
                self.links_unknown = True
            self.links = [
                x for x in self.links if x[1] is not None or box is None or not _near(x[3], box)
            ]
        elif decision == "link-track":
            self.links = [x for x in self.links if (x[1], x[2]) != (track, analysis)]
            self.dismissed = [d for d in self.dismissed if (d[1], d[2]) != (track, analysis)]
            self.links.append((int(detail["person"]), track, analysis, box))
        elif decision == "unlink-track":
            if "analysis" not in detail:
                self.links_unknown = True
            self.links = [x for x in self.links if (x[1], x[2]) != (track, analysis)]
        elif decision == "dismiss-face" and box is not None:
            self.dismissed.append((box, None, None))
        elif decision == "restore-face" and box is not None:
            self.dismissed = [d for d in self.dismissed if not _same(d, box)]
        elif decision == "dismiss-track":
            if not any((d[1], d[2]) == (track, analysis) for d in self.dismissed):
                self.dismissed.append((box, track, analysis))
        elif decision == "restore-track":
            self.dismissed = [d for d in self.dismissed if (d[1], d[2]) != (track, analysis)]
        elif decision == "add-box" and box is not None:
            self.boxes.append((box, detail.get("start"), detail.get("end")))
        elif decision == "remove-box" and box is not None:
            gone = (box, detail.get("start"), detail.get("end"))
            if gone in self.boxes:
                self.boxes.remove(gone)
        elif decision == "link-voice":
            self.voices.add(int(detail["person"]))
        elif decision == "unlink-voice":
            self.voices.discard(int(detail["person"]))


@dataclass
class _Catalog:
    """What the catalog says, for every item or for one."""

    reviews: dict[str, tuple[str, str | None, str | None, bool, bool]]
    links: dict[str, list[tuple[int, int | None, str | None, Box]]]
    dismissed: dict[str, list[tuple[Box, int | None, str | None]]]
    boxes: dict[str, list[tuple[Box, float | None, float | None]]]
    voices: dict[str, set[int]]
    renderings: dict[str, str]

    def items(self) -> set[str]:
        return set().union(
            self.reviews, self.links, self.dismissed, self.boxes, self.voices, self.renderings
        )


def replay_protect(session: Session, log: list[Entry]) -> Replayed:
    """Every person's consent and every item's decisions, against the whole catalog."""
    result = Replayed()
    states: dict[str, _Item] = defaultdict(_Item)
    people: dict[int, dict[str, Any]] = {}
    for entry in log:
        if entry.action == Action.CONSENT and isinstance(entry.detail.get("person"), int):
            people[entry.detail["person"]] = entry.detail
        elif entry.action in (Action.REVIEWED, Action.REDACTED) and entry.item:
            states[entry.item].apply(entry)
    result.faults += _consent_faults(session, people, None)
    catalog = _load(session, None)
    unknown = 0
    for item_id in sorted(catalog.items() | states.keys()):
        state = states.get(item_id, _Item())
        unknown += state.links_unknown
        result.faults += _item_faults(item_id, state, catalog)
    if unknown:
        result.unchecked.append(
            f"{unknown} item(s) had a face or track unlinked before the log recorded which "
            "one: their face links are not checked against it"
        )
    return result


def gate_faults(session: Session, item_id: str) -> list[Fault]:
    """One item's decisive state against the log: its events (each re-hashed), and the consent
    of everyone its catalog rows link to it. The gate refuses the item on any fault."""
    faults: list[Fault] = []
    state = _Item()
    for event in session.scalars(
        select(CustodyEvent)
        .where(
            CustodyEvent.item == item_id,
            CustodyEvent.action.in_([str(Action.REVIEWED), str(Action.REDACTED)]),
        )
        .order_by(CustodyEvent.seq)
    ):
        if (
            event_hash(
                event.seq, event.at, event.actor, event.action, event.item, event.detail, event.prev
            )
            != event.hash
        ):
            faults.append(Fault(CHANGED, f"custody event #{event.seq}", "it was edited"))
            continue
        state.apply(Entry(event.seq, event.action, event.item, json.loads(event.detail)))
    catalog = _load(session, item_id)
    faults += _item_faults(item_id, state, catalog)
    linked = {p for x in catalog.links.get(item_id, []) for p in [x[0]]}
    linked |= catalog.voices.get(item_id, set())
    linked |= {x[0] for x in state.links} | state.voices
    people = {
        entry.detail["person"]: entry.detail
        for entry in read_log(session, [Action.CONSENT])
        if entry.detail.get("person") in linked
    }
    faults += _consent_faults(session, people, linked)
    return faults


def _consent_faults(
    session: Session, logged: dict[int, dict[str, Any]], only: set[int] | None
) -> list[Fault]:
    query = select(Person)
    if only is not None:
        query = query.where(Person.id.in_(only))
    rows = {p.id: p for p in session.scalars(query)}
    faults = []
    for pid in sorted(rows.keys() | logged.keys()):
        what = f"person #{pid}"
        person, detail = rows.get(pid), logged.get(pid)
        if person is None:
            faults.append(lost(f"consent of {what}", "records it"))
            continue
        if detail is None:
            faults.append(unlogged(f"consent of {what}", "it"))
            continue
        if person.consent != detail.get("consent"):
            faults.append(differs(f"consent of {what}", person.consent, detail.get("consent")))
        if sorted(person.scope or []) != sorted(detail.get("scope") or []):
            faults.append(
                differs(f"consent scope of {what}", sorted(person.scope or []), detail.get("scope"))
            )
        if "record_sha256" in detail and consent.record_hash(person) != detail["record_sha256"]:
            faults.append(
                Fault(
                    CHANGED,
                    f"consent record of {what}",
                    "its name, description, time or manner differ from what was recorded",
                )
            )
    return faults


def _item_faults(item_id: str, state: _Item, catalog: _Catalog) -> list[Fault]:
    faults: list[Fault] = []
    have = catalog.reviews.get(item_id, (PENDING, None, None, False, False))
    names = ("review decision", "withhold reason", "approved rendering", "muting", "voices checked")
    for name, mine, logged in zip(names, have, state.review, strict=True):
        if mine != logged:
            faults.append(differs(f"{name} of item {item_id}", mine, logged))
    if not state.links_unknown:
        faults += _match(
            [(x[:3], x[3]) for x in state.links],
            [(x[:3], x[3]) for x in catalog.links.get(item_id, [])],
            lambda k: (
                f"face link of item {item_id} to person #{k[0]}"
                + (f" (track {k[1]})" if k[1] is not None else "")
            ),
        )
    faults += _match(
        [((d[1], d[2]), d[0]) for d in state.dismissed],
        [((d[1], d[2]), d[0]) for d in catalog.dismissed.get(item_id, [])],
        lambda k: (
            f"dismissal of track {k[0]} on item {item_id}"
            if k[0] is not None
            else f"dismissal of a face on item {item_id}"
        ),
    )
    faults += _match(
        [((b[1], b[2]), b[0]) for b in state.boxes],
        [((b[1], b[2]), b[0]) for b in catalog.boxes.get(item_id, [])],
        lambda k: f"added box on item {item_id}",
    )
    voices = catalog.voices.get(item_id, set())
    for pid in sorted(state.voices - voices):
        faults.append(lost(f"voice link of item {item_id} to person #{pid}"))
    for pid in sorted(voices - state.voices):
        faults.append(unlogged(f"voice link of item {item_id} to person #{pid}", "it"))
    rendering = catalog.renderings.get(item_id)
    if rendering != state.rendering:
        what = f"derivative of item {item_id}"
        if rendering is None:
            faults.append(lost(what, f"records its rendering {state.rendering}"))
        elif state.rendering is None:
            faults.append(unlogged(what, "its rendering"))
        else:
            faults.append(differs(what, rendering, state.rendering))
    return faults


def _match(
    expected: Iterable[tuple[Any, Box | None]],
    actual: Iterable[tuple[Any, Box]],
    name: Any,
) -> list[Fault]:
    """Pair rows by key and box; a box the log did not record matches any box of that key."""
    left = list(actual)
    missing = []
    wild = []
    for key, box in expected:
        if box is None:
            wild.append(key)
            continue
        found = next((r for r in left if r[0] == key and r[1] == box), None)
        if found is None:
            missing.append(key)
        else:
            left.remove(found)
    for key in wild:
        found = next((r for r in left if r[0] == key), None)
        if found is None:
            missing.append(key)
        else:
            left.remove(found)
    faults = [lost(name(key)) for key in missing]
    faults += [unlogged(name(key), "it") for key, _ in left]
    return faults


def _load(session: Session, item_id: str | None) -> _Catalog:
    def rows(*columns: Any) -> Any:
        query = select(*columns)
        if item_id is not None:
            query = query.where(columns[0] == item_id)
        return session.execute(query.order_by(*columns[:1])).all()

    catalog = _Catalog({}, defaultdict(list), defaultdict(list), defaultdict(list), {}, {})
    for r in rows(
        Review.item_id,
        Review.status,
        Review.reason,
        Review.derivative_sha256,
        Review.mute,
        Review.voices_checked,
    ):
        catalog.reviews[r[0]] = (r[1], r[2], r[3], bool(r[4]), bool(r[5]))
    for r in rows(
        FaceLink.item_id, FaceLink.person_id, FaceLink.track, FaceLink.analysis, FaceLink.box
    ):
        catalog.links[r[0]].append((r[1], r[2], r[3], _box(r[4]) or ()))
    for r in rows(Dismissal.item_id, Dismissal.box, Dismissal.track, Dismissal.analysis):
        catalog.dismissed[r[0]].append((_box(r[1]) or (), r[2], r[3]))
    for r in rows(RedactBox.item_id, RedactBox.box, RedactBox.start, RedactBox.end):
        catalog.boxes[r[0]].append((_box(r[1]) or (), r[2], r[3]))
    for r in rows(VoiceLink.item_id, VoiceLink.person_id):
        catalog.voices.setdefault(r[0], set()).add(r[1])
    for r in rows(Derivative.item_id, Derivative.sha256):
        catalog.renderings[r[0]] = r[1]
    return catalog


def _box(value: Any) -> Box | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    return tuple(float(v) for v in value)


def _near(a: Box | None, b: Box) -> bool:
    return a is not None and same_face(list(a), list(b))


def _same(dismissal: tuple[Box | None, int | None, str | None], box: Box) -> bool:
    return dismissal[1] is None and _near(dismissal[0], box)
