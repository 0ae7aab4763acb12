"""Stories: a title and a window of time, and what of it the gate lets out.

`collect` is the publish stage's one reading of the archive. Every item and diary entry in the
window goes through protect's gate (`gate.check`, item by item); what it refuses is listed with its
reasons and never reaches a page, the feed, an e-mail or a bag of derivatives. Site, feed,
newsletter and bag all render the same `StoryView`, so they cannot disagree on what was let out.

Diary entries and dispatches are text: they pass when the note they were cut from passes. Photos
and videos are shown only through their derivative; nothing here ever names a vault path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import (
    Caption,
    Derivative,
    DiaryEntry,
    FigureRow,
    Item,
    ItemMoment,
    Moment,
    Review,
    Story,
)
from temoin.errors import AmbiguousStory, NotFound, StoryExists, UsageError
from temoin.events import Action
from temoin.kinds import ON_TIMELINE, RENDERED, Kind
from temoin.protect import gate
from temoin.publish.records import StoryRecord
from temoin.sort import notedays
from temoin.timeutil import to_local, to_utc

if TYPE_CHECKING:
    from temoin.context import ArchiveContext

_SUFFIXES = {"video/mp4": ".mp4", "audio/mp4": ".m4a", "image/jpeg": ".jpg"}


@dataclass(frozen=True)
class Media:
    """A derivative as it will be published: the signed file, byte for byte."""

    sha256: str
    path: str  # relative to the archive folder (derivatives/…)
    mime: str
    record: str  # the canonical JSON the signature covers
    signature: str

    @property
    def suffix(self) -> str:
        return _SUFFIXES.get(self.mime, ".jpg")


@dataclass
class Figure:
    value: int
    what: str
    text: str
    time_utc: datetime | None


@dataclass
class Row:
    """One line of the timeline: a diary entry, a dispatch, a photo, a video or a message."""

    kind: str  # entry, dispatch, note, photo, video, message, system
    item_id: str  # the item shown, or the note an entry was cut from
    time_utc: datetime | None
    marker: str = ""  # the diary's own words for the time ("Noon", "vers 9h15")
    text: str = ""
    caption: str | None = None
    media: Media | None = None
    entry_id: str | None = None
    moment: int | None = None
    approximate: bool = False
    decided_at: datetime | None = None  # when a person approved it: the feed's "updated"
    title: str | None = None  # a letter's own title, written in the web app's letter form
    figures: list[Figure] = field(default_factory=list)
    day_uncertain: bool = False  # the note gives no day: it is its file's (temoin.sort.notedays)


@dataclass
class Withheld:
    item_id: str
    kind: str
    name: str
    reasons: list[str]

    def line(self) -> str:
        return f"{self.item_id[:12]} {self.kind} {self.name}: {'; '.join(self.reasons)}"


@dataclass
class StoryView:
    slug: str
    title: str
    start: datetime  # UTC
    end: datetime
    created_at: datetime
    timezone: str
    rows: list[Row] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)
    moments: dict[int, str | None] = field(default_factory=dict)

    @property
    def media(self) -> list[Row]:
        return [r for r in self.rows if r.media is not None]

    @property
    def dispatches(self) -> list[Row]:
        return [r for r in self.rows if r.kind == "dispatch"]

    @property
    def shown_items(self) -> set[str]:
        return {r.item_id for r in self.rows}

    @property
    def updated(self) -> datetime:
        """The newest decision that changed what the story shows (deterministic, for the feed)."""
        return max([self.created_at, *(r.decided_at for r in self.rows if r.decided_at)])

    def local(self, moment: datetime | None) -> datetime | None:
        return to_local(moment, self.timezone) if moment is not None else None


class Gatekeeper:
    """Asks the gate once per item per publication, however many stories show the item."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._verdicts: dict[str, gate.Verdict] = {}

    def check(self, item_id: str) -> gate.Verdict:
        if item_id not in self._verdicts:
            self._verdicts[item_id] = gate.check(self.session, item_id)
        return self._verdicts[item_id]


# -- defining stories -----------------------------------------------------------------------------


def slugify(title: str) -> str:
    """ "Calais, 24 October 2016" → "calais-24-october-2016": a folder name any host serves."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:100]
    if not slug:
        raise UsageError(f"{title!r}: give a title with letters or digits, or --slug")
    return slug


def parse_when(text: str, timezone: str) -> datetime:
    """ISO 8601; without an offset it is local time in the archive's zone. Returns naive UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(f"{text}: not an ISO 8601 time (e.g. 2016-10-24T06:00)") from exc
    return to_utc(moment, timezone)


def create(
    ctx: ArchiveContext, title: str, start: str, end: str, slug: str | None = None
) -> StoryRecord:
    zone = ctx.settings.timezone
    first, last = parse_when(start, zone), parse_when(end, zone)
    if last <= first:
        raise UsageError("--to must come after --from")
    name = slugify(slug or title)
    with ctx.transaction() as tx:
        session = tx.session
        if session.get(Story, name) is not None:
            raise StoryExists(f"{name}: a story with that name already exists")
        story = Story(
            slug=name,
            title=title.strip(),
            start=first,
            end=last,
            created_by=ctx.actor,
            created_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        )
        session.add(story)
        tx.log(
            Action.STORY_CREATED,
            None,
            slug=name,
            title=story.title,
            start=first.isoformat() + "Z",
            end=last.isoformat() + "Z",
        )
        record = story_record(story, zone)
    return record


def story_record(story: Story, timezone: str) -> StoryRecord:
    return {
        "slug": story.slug,
        "title": story.title,
        "from": to_local(story.start, timezone).isoformat(),
        "to": to_local(story.end, timezone).isoformat(),
        "created_by": story.created_by,
    }


def list_stories(ctx: ArchiveContext) -> list[StoryRecord]:
    with ctx.session() as session:
        return [story_record(s, ctx.settings.timezone) for s in all_stories(session)]


def all_stories(session: Session) -> list[Story]:
    return list(session.scalars(select(Story).order_by(Story.start, Story.slug)))


def find(session: Session, ref: str) -> Story:
    """The story a person means by `ref`: its slug, or its title or slug written in any case,
    with or without accents ("Évacuation", "evacuation", "CALAIS"), or the first words of one.

    A slug written exactly always wins, so the slugs an ambiguous reference lists always work.
    """
    story = session.get(Story, ref)
    if story is not None:
        return story
    stories = all_stories(session)
    key = _key(ref)
    matches = [s for s in stories if key and key in (s.slug, _key(s.title))]
    if not matches:
        matches = [
            s
            for s in stories
            if key and any(k.startswith(f"{key}-") for k in (s.slug, _key(s.title)))
        ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = "; ".join(f"{s.slug} ({s.title})" for s in matches)
        raise AmbiguousStory(f"{ref}: several stories match: {listed}; give one of these slugs")
    known = ", ".join(s.slug for s in stories) or "none yet (`temoin story new`)"
    raise NotFound(f"{ref}: no such story; known: {known}")


def _key(text: str) -> str:
    """A title or reference as a slug is made of it: no accents, no case, words joined by -."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.casefold()).strip("-")


# -- what a story shows -------------------------------------------------------------------------


def collect(session: Session, story: Story, keeper: Gatekeeper, timezone: str) -> StoryView:
    """The story's timeline as the gate lets it out, and what it withheld with the reasons."""
    view = StoryView(story.slug, story.title, story.start, story.end, story.created_at, timezone)
    in_window = Item.time_utc.between(story.start, story.end)
    entries = list(
        session.scalars(
            select(DiaryEntry)
            .where(DiaryEntry.time_utc.between(story.start, story.end))
            .order_by(DiaryEntry.time_utc, DiaryEntry.item_id, DiaryEntry.seq)
        )
    )
    noted = {e.item_id for e in entries}
    items = list(
        session.scalars(
            select(Item)
            # What may stand on a story's timeline (`kinds.ON_TIMELINE`); a chat export stands
            # there through its messages. A voice note stands there only when the gate lets its
            # sound out (every voice in it accounted for).
            .where(Item.kind.in_(ON_TIMELINE), in_window | Item.id.in_(noted))
            .order_by(Item.time_utc, Item.id)
        )
    )
    passed: dict[str, Item] = {}
    for item in items:
        verdict = keeper.check(item.id)
        if verdict.ok:
            passed[item.id] = item
        else:
            view.withheld.append(Withheld(item.id, item.kind, item.name, verdict.reasons))
    ids = list(passed)
    captions = dict(
        session.execute(select(Caption.item_id, Caption.text).where(Caption.item_id.in_(ids))).all()
    )
    decided = dict(
        session.execute(
            select(Review.item_id, Review.decided_at).where(Review.item_id.in_(ids))
        ).all()
    )
    moments = dict(
        session.execute(
            select(ItemMoment.item_id, ItemMoment.moment_id).where(ItemMoment.item_id.in_(ids))
        ).all()
    )
    derivatives = {
        d.item_id: d for d in session.scalars(select(Derivative).where(Derivative.item_id.in_(ids)))
    }
    for item in passed.values():
        if item.id in noted:
            continue  # a diary stands on the timeline through its entries
        row = Row(
            kind="note" if item.kind == Kind.TEXT else item.kind,
            item_id=item.id,
            time_utc=item.time_utc,
            text=(item.shown_text or "") if item.kind in gate.TEXT_KINDS else "",
            caption=captions.get(item.id),
            moment=moments.get(item.id),
            decided_at=decided.get(item.id),
            day_uncertain=item.kind == Kind.TEXT and item.time_source in notedays.FILE_CLOCKS,
        )
        if item.kind in RENDERED:  # shown only through its derivative
            d = derivatives[item.id]  # the gate let it out, so its derivative is there
            row.media = Media(d.sha256, d.path, d.mime, d.record, d.signature)
        view.rows.append(row)
    by_entry: dict[str, Row] = {}
    for entry in entries:
        if entry.item_id not in passed:
            continue
        row = Row(
            kind="dispatch" if entry.is_dispatch else "entry",
            item_id=entry.item_id,
            time_utc=entry.time_utc,
            marker=_clean_marker(entry.marker),
            text=entry.text,
            entry_id=entry.id,
            moment=entry.moment_id,
            approximate=entry.approximate,
            decided_at=decided.get(entry.item_id),
            title=entry.title,
            day_uncertain=notedays.is_uncertain(entry.day_from),
        )
        by_entry[entry.id] = row
        view.rows.append(row)
    view.rows.sort(key=_row_order)
    view.figures = _figures(session, story, set(passed), by_entry)
    used = {r.moment for r in view.rows if r.moment is not None}
    view.moments = dict(
        session.execute(select(Moment.id, Moment.name).where(Moment.id.in_(used))).all()
    )
    return view


def _figures(
    session: Session, story: Story, passed: set[str], by_entry: dict[str, Row]
) -> list[Figure]:
    figures: list[Figure] = []
    rows = session.scalars(
        select(FigureRow)
        .where(FigureRow.time_utc.between(story.start, story.end))
        .order_by(FigureRow.time_utc, FigureRow.id)
    )
    for row in rows:
        if row.item_id not in passed:
            continue  # a count from a withheld message or note is withheld with it
        figure = Figure(row.value, row.what, row.text, row.time_utc)
        figures.append(figure)
        if row.entry_id in by_entry:
            by_entry[row.entry_id].figures.append(figure)
    return figures


def _row_order(row: Row) -> tuple[Any, ...]:
    # Same instant: items before the note's entries, and a dispatch (the night's letter) last.
    return (
        row.time_utc is None,
        row.time_utc or datetime.min,
        row.kind == "dispatch",
        row.entry_id is not None,
        row.item_id,
    )


def _clean_marker(marker: str) -> str:
    return marker.strip().rstrip(":-–—").strip()
