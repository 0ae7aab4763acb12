"""The sort stage's verbs as the Archive façade calls them.

Each verb takes the write lock when it changes something, writes its custody event in the same
transaction as the change, and brings the derived tables up to date first when they are stale.
Derived tables are stale when the custody log has recorded a change that sorting reads (an
ingest, a clock correction, a tag or caption) since they were built, or the time zone changed; reading commands rebuild them lazily, so an
ingest stays as fast as copying and hashing. When another process holds the lock, a reading
command answers from the tables as they are rather than wait.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from temoin.catalog import queries
from temoin.catalog.models import (
    Caption,
    ClockOffset,
    CustodyEvent,
    DiaryEntry,
    DupeMember,
    FigureRow,
    Item,
    ItemMoment,
    Moment,
    MomentName,
    NoteDay,
    SortState,
    Tag,
)
from temoin.errors import ArchiveLocked, NotFound, ReadOnlyArchive, UsageError
from temoin.events import Action
from temoin.kinds import Kind
from temoin.sort import clock, dupes, notedays, search, timeline
from temoin.sort.edits import is_entry
from temoin.sort.records import (
    CaptionRecord,
    ClockEstimate,
    ClockRecord,
    ClockSet,
    DupeMemberRecord,
    DupesRecord,
    FiguresRecord,
    MomentNameRecord,
    NoteDayRecord,
    NoteDaySet,
    NoteEntry,
    RebuildRecord,
    SearchHit,
    SearchRecord,
    StatedFigure,
    TagRecord,
    TimelineRecord,
)
from temoin.timeutil import check_zone, to_local

if TYPE_CHECKING:
    from temoin.context import ArchiveContext, Transaction

_BUILT = "built"  # sort_state key: "<custody seq>|<time zone>" the derived tables reflect


# -- freshness ----------------------------------------------------------------------------------


# Only these change what the timeline shows; redactions, reviews and publications do not, so
# publishing (which writes custody events of its own) never forces a re-sort.
_SORT_ACTIONS = (
    Action.INGESTED,
    Action.CLOCK_SET,
    Action.TAGGED,
    Action.CAPTIONED,
    Action.ENTRY_CHANGED,
    Action.DAY_SET,
)


def _stamp(session: Session, timezone: str) -> str:
    seq = (
        session.scalar(
            select(func.max(CustodyEvent.seq)).where(
                CustodyEvent.action.in_([str(a) for a in _SORT_ACTIONS])
            )
        )
        or 0
    )
    return f"{seq}|{timezone}"


def _is_fresh(session: Session, timezone: str) -> bool:
    built = session.get(SortState, _BUILT)
    return built is not None and built.value == _stamp(session, timezone)


def _mark_built(session: Session, timezone: str) -> None:
    session.merge(SortState(key=_BUILT, value=_stamp(session, timezone)))


def rebuild(ctx: ArchiveContext) -> RebuildRecord:
    """Rebuild the derived tables now, whether stale or not."""
    with ctx.transaction() as tx:
        report = timeline.rebuild(tx.session, ctx.settings.timezone)
        _mark_built(tx.session, ctx.settings.timezone)
    return cast(RebuildRecord, report.as_dict())


def ensure_sorted(ctx: ArchiveContext) -> bool:
    """Rebuild when stale; False when another writer holds the lock and the tables may be old."""
    timezone = ctx.settings.timezone
    with ctx.session() as session:
        if _is_fresh(session, timezone):
            return True
    try:
        with ctx.transaction() as tx:
            if not _is_fresh(tx.session, timezone):
                timeline.rebuild(tx.session, timezone)
                _mark_built(tx.session, timezone)
    except (ArchiveLocked, ReadOnlyArchive):  # shown as last sorted
        return False
    return True


def _changed(ctx: ArchiveContext, session: Session, was_fresh: bool) -> None:
    """Keep the derived tables fresh after a change that updated their rows in place (its
    transaction commits both)."""
    if was_fresh:
        session.flush()
        _mark_built(session, ctx.settings.timezone)


# -- timeline ---------------------------------------------------------------------------------


def show_timeline(
    ctx: ArchiveContext, *, day: date | None = None, timezone: str | None = None
) -> TimelineRecord:
    zone = check_zone(timezone or ctx.settings.timezone)
    fresh = ensure_sorted(ctx)
    with ctx.session() as session:
        days = timeline.view(session, zone, day)
        read_in = clock.load_clocks(session, ctx.settings.timezone).zones
    # `zone`: the zone times are shown in; `source_zones`: sources whose naive times are read in
    # a zone of their own (`clock --tz`) rather than the archive's.
    return {
        "timezone": zone,
        "zone": zone,
        "source_zones": dict(sorted(read_in.items())),
        "fresh": fresh,
        "days": days,
    }


# -- the day of a note written without one ------------------------------------------------------


def set_note_day(ctx: ArchiveContext, prefix: str, day: date | None) -> NoteDaySet:
    """Set by hand the day of a note that does not write one; None gives it back to the
    evidence. A date line in the note still dates the entries under it."""
    with ctx.transaction() as tx:
        session = tx.session
        item = _note(session, prefix)
        row = session.get(NoteDay, item.id)
        previous = row.day if row else None
        wanted = day.isoformat() if day else None
        if wanted != previous:
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            if wanted is None:
                session.delete(row)
            elif row is None:
                session.add(NoteDay(item_id=item.id, day=wanted, set_by=ctx.actor, at=now))
            else:
                row.day, row.set_by, row.at = wanted, ctx.actor, now
            tx.log(Action.DAY_SET, item.id, day=wanted, previous=previous)
    return {**note_day(ctx, item.id), "changed": wanted != previous, "previous": previous}


def note_day(ctx: ArchiveContext, prefix: str) -> NoteDayRecord:
    """A note's day, the evidence that gave it, and its timed entries as the timeline has them."""
    fresh = ensure_sorted(ctx)
    zone = ctx.settings.timezone
    with ctx.session() as session:
        item = _note(session, prefix)
        hand = session.get(NoteDay, item.id)
        rows = session.scalars(
            select(DiaryEntry)
            .where(DiaryEntry.item_id == item.id, DiaryEntry.time_utc.is_not(None))
            .order_by(DiaryEntry.seq)
        )
        entries: list[NoteEntry] = [
            {
                "id": e.id,
                "line": e.line,
                "marker": e.marker,
                "time": to_local(e.time_utc, zone).isoformat() if e.time_utc else None,
                "day_from": e.day_from,
                "day_uncertain": notedays.is_uncertain(e.day_from),
                "text": e.text,
            }
            for e in rows
        ]
    # The note's own day is what dates its first entries; later date lines only follow on.
    first_time: str | None = entries[0]["time"] if entries else None
    first_from: str | None = entries[0]["day_from"] if entries else None
    return {
        "id": item.id,
        "name": item.name,
        "source": item.source,
        "timezone": zone,
        "fresh": fresh,
        "day": first_time[:10] if first_time else None,
        "day_from": first_from,
        "day_from_label": notedays.label(first_from),
        "day_uncertain": any(e["day_uncertain"] for e in entries),
        "set_by_hand": hand.day if hand else None,
        "entries": entries,
    }


def _note(session: Session, prefix: str) -> Item:
    item = queries.item_by_prefix(session, prefix)
    if item.kind != Kind.TEXT:
        raise UsageError(f"{item.id[:12]}: a {item.kind}, not a note: only notes take a day")
    if is_entry(item):
        raise UsageError(
            f"{item.id[:12]}: written in the web app's form, which gives its day; "
            "change the entry there"
        )
    return item


def list_figures(
    ctx: ArchiveContext, *, day: date | None = None, timezone: str | None = None
) -> FiguresRecord:
    """Every stated count in time order (undated last), with the sentence it was said in and
    the item it came from; only those of `day` (local to the zone) when one is given."""
    zone = check_zone(timezone or ctx.settings.timezone)
    fresh = ensure_sorted(ctx)
    found: list[StatedFigure] = []
    with ctx.session() as session:
        rows = session.execute(
            select(FigureRow, Item.source, Item.kind)
            .join(Item, Item.id == FigureRow.item_id)
            .order_by(FigureRow.time_utc.is_(None), FigureRow.time_utc, FigureRow.id)
        )
        for figure, source, kind in rows:
            local = to_local(figure.time_utc, zone) if figure.time_utc else None
            if day is not None and (local is None or local.date() != day):
                continue
            found.append(
                StatedFigure(
                    **timeline.figure_record(figure),
                    time=local.isoformat() if local else None,
                    time_utc=figure.time_utc.isoformat() + "Z" if figure.time_utc else None,
                    item=figure.item_id,
                    entry=figure.entry_id,
                    kind="entry" if figure.entry_id else kind,
                    source=source,
                )
            )
    return {"timezone": zone, "fresh": fresh, "figures": found}


# -- clocks -----------------------------------------------------------------------------------


def set_clock(
    ctx: ArchiveContext,
    source: str,
    offset_seconds: float | None,
    *,
    reason: str = "",
    timezone: str | None = None,
) -> ClockSet:
    """Correct one device's clock; every item of that source moves on the next rebuild.

    `offset_seconds` None keeps the offset in force (to set only the source's zone)."""
    if timezone is not None:
        check_zone(timezone)
    with ctx.transaction() as tx:
        session = tx.session
        known = session.scalar(select(func.count()).where(Item.source == source))
        if not known:
            names = sorted(session.scalars(select(Item.source).distinct()))
            raise NotFound(f"{source}: no such source; known: {', '.join(names) or 'none'}")
        record = _set_clock(tx, source, offset_seconds, reason, timezone)
    return record


def _set_clock(
    tx: Transaction,
    source: str,
    offset_seconds: float | None,
    reason: str,
    timezone: str | None,
) -> ClockSet:
    session = tx.session
    previous = session.scalars(
        select(ClockOffset).where(ClockOffset.source == source).order_by(ClockOffset.id.desc())
    ).first()
    if offset_seconds is None:
        offset_seconds = previous.offset_seconds if previous else 0.0
    zone = timezone if timezone is not None else (previous.timezone if previous else None)
    session.add(
        ClockOffset(
            source=source,
            offset_seconds=offset_seconds,
            timezone=zone,
            set_by=tx.actor,
            reason=reason,
            at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
    detail = {
        "source": source,
        "offset_seconds": offset_seconds,
        "previous_seconds": previous.offset_seconds if previous else 0.0,
        "timezone": zone,
        "reason": reason,
    }
    tx.log(Action.CLOCK_SET, None, **detail)
    return ClockSet(
        source=source,
        offset_seconds=offset_seconds,
        previous_seconds=previous.offset_seconds if previous else 0.0,
        timezone=zone,
        reason=reason,
        offset=clock.format_offset(offset_seconds),
    )


def clocks(ctx: ArchiveContext) -> list[ClockRecord]:
    """Every correction ever set, oldest first (the newest per source is in force)."""
    with ctx.session() as session:
        return [
            {
                "source": row.source,
                "offset": clock.format_offset(row.offset_seconds),
                "offset_seconds": row.offset_seconds,
                "timezone": row.timezone,
                "set_by": row.set_by,
                "reason": row.reason,
                "at": row.at.isoformat() + "Z",
            }
            for row in session.scalars(select(ClockOffset).order_by(ClockOffset.id))
        ]


def estimate_clock(ctx: ArchiveContext, *, apply: bool = False) -> ClockEstimate:
    """Propose offsets from GPS stamps, then from near-duplicates seen on two sources."""
    with ctx.writing():
        with ctx.transaction() as tx:  # the hashes and groups are kept even if applying fails
            report = dupes.DupeReport()
            dupes.hash_missing(tx.session, ctx.vault.path_for, report)
            dupes.regroup(tx.session, report)
        with ctx.transaction() as tx:
            session = tx.session
            current = clock.load_clocks(session, ctx.settings.timezone)
            gps = clock.estimate_from_gps(_gps_samples(session, current), current)
            anchors = {s: p.offset_seconds for s, p in gps.items()}
            for source, seconds in current.offsets.items():
                anchors.setdefault(source, seconds)
            pairs = clock.estimate_from_pairs(_pair_samples(session, current), anchors, current)
            proposals = [*gps.values(), *(p for s, p in pairs.items() if s not in current.offsets)]
            applied: list[str] = []
            for proposal in proposals:
                if not apply or abs(proposal.offset_seconds - proposal.current_seconds) < 0.5:
                    continue
                reason = (
                    f"estimated from {proposal.evidence}: {proposal.samples} samples, "
                    f"spread {proposal.spread_seconds:.1f} s, confidence {proposal.confidence:.2f}"
                )
                _set_clock(tx, proposal.source, proposal.offset_seconds, reason, None)
                applied.append(proposal.source)
    return {"proposals": [p.as_dict() for p in proposals], "applied": applied}


def _gps_samples(session: Session, clocks_: clock.Clocks) -> list[clock.GpsSample]:
    samples = []
    rows = session.execute(
        select(Item.source, Item.meta, Item.captured_raw, Item.capture_source).where(
            Item.kind == Kind.PHOTO, Item.captured_raw.is_not(None)
        )
    )
    for source, meta, raw, origin in rows:
        gps = clock.gps_time(meta)
        camera = clock.camera_time(raw, origin, source, clocks_)
        if gps is not None and camera is not None:
            samples.append(clock.GpsSample(source, gps, camera))
    return samples


def _pair_samples(session: Session, clocks_: clock.Clocks) -> list[clock.PairSample]:
    """Copies on two sources whose times both come from their own cameras, and differ.

    Identical stated times mean the copy carried the original's metadata: no evidence of skew.
    """
    rows = session.execute(
        select(DupeMember.group_id, Item.source, Item.captured_raw, Item.capture_source).join(
            Item, Item.id == DupeMember.item_id
        )
    )
    by_group: dict[int, list[tuple[str, str | None, datetime]]] = {}
    for group_id, source, raw, origin in rows:
        camera = clock.camera_time(raw, origin, source, clocks_)
        if camera is not None:
            by_group.setdefault(group_id, []).append((source, raw, camera))
    samples = []
    for members in by_group.values():
        for i, (source_a, raw_a, time_a) in enumerate(members):
            for source_b, raw_b, time_b in members[i + 1 :]:
                if source_a != source_b and raw_a != raw_b:
                    samples.append(clock.PairSample(source_a, time_a, source_b, time_b))
    return samples


# -- near-duplicates ------------------------------------------------------------------------------


def find_dupes(ctx: ArchiveContext) -> DupesRecord:
    with ctx.transaction() as tx:
        session = tx.session
        report = dupes.DupeReport()
        dupes.hash_missing(session, ctx.vault.path_for, report)
        dupes.regroup(session, report)
        session.flush()
        groups: dict[int, list[DupeMemberRecord]] = {}
        rows = session.execute(
            select(DupeMember, Item.source, Item.name, Item.kind)
            .join(Item, Item.id == DupeMember.item_id)
            .order_by(DupeMember.group_id, DupeMember.is_representative.desc(), Item.id)
        )
        for member, source, name, kind in rows:
            groups.setdefault(member.group_id, []).append(
                {
                    "id": member.item_id,
                    "kind": kind,
                    "source": source,
                    "name": name,
                    "representative": member.is_representative,
                    "distance": member.distance,
                }
            )
    return {
        "hashed": report.hashed,
        "failed": report.failed,
        "groups": [{"group": g, "items": items} for g, items in groups.items()],
    }


# -- search -------------------------------------------------------------------------------------


def find(ctx: ArchiveContext, query: str, *, limit: int | None = None) -> SearchRecord:
    fresh = ensure_sorted(ctx)
    zone = ctx.settings.timezone
    with ctx.session() as session:
        hits = search.search(session, query, limit=limit)
        ids = {h.item_id for h in hits}
        items = {
            row.id: row
            for row in session.execute(
                select(Item.id, Item.kind, Item.source, Item.name).where(Item.id.in_(ids))
            )
        }
    results: list[SearchHit] = []
    for hit in hits:
        item = items.get(hit.item_id)
        results.append(
            {
                "id": hit.item_id,
                "entry": hit.entry_id,
                "field": hit.field,
                "kind": item.kind if item else None,
                "source": item.source if item else None,
                "name": item.name if item else None,
                "time": to_local(hit.time_utc, zone).isoformat() if hit.time_utc else None,
                "time_utc": hit.time_utc.isoformat() + "Z" if hit.time_utc else None,
                "text": hit.body,
            }
        )
    return {"query": query, "fresh": fresh, "results": results}


# -- tags, captions, moment names -----------------------------------------------------------------


def tag(ctx: ArchiveContext, prefix: str, words: list[str]) -> TagRecord:
    clean = sorted({w.strip().lower() for w in words if w.strip()})
    if not clean:
        raise UsageError("give at least one tag")
    if any(len(w) > 100 for w in clean):
        raise UsageError("a tag is at most 100 characters")
    with ctx.transaction() as tx:
        session = tx.session
        fresh = _is_fresh(session, ctx.settings.timezone)
        item = queries.item_by_prefix(session, prefix)
        have = set(session.scalars(select(Tag.tag).where(Tag.item_id == item.id)))
        new = [w for w in clean if w not in have]
        for word in new:
            session.add(Tag(item_id=item.id, tag=word))
            search.add_doc(session, search.Doc(item.id, "tag", word, item.time_utc))
        if new:
            tx.log(Action.TAGGED, item.id, tags=new)
        _changed(ctx, session, fresh)
        tags = sorted(have | set(new))
    return {"id": item.id, "added": new, "tags": tags}


def caption(ctx: ArchiveContext, prefix: str, text: str) -> CaptionRecord:
    text = text.strip()
    if not text:
        raise UsageError("the caption is empty")
    with ctx.transaction() as tx:
        session = tx.session
        fresh = _is_fresh(session, ctx.settings.timezone)
        item = queries.item_by_prefix(session, prefix)
        row = session.get(Caption, item.id)
        previous = row.text if row else None
        if row is None:
            session.add(Caption(item_id=item.id, text=text))
        else:
            row.text = text
        search.remove_docs(session, item.id, "caption")
        search.add_doc(session, search.Doc(item.id, "caption", text, item.time_utc))
        tx.log(Action.CAPTIONED, item.id, text=text, previous=previous)
        _changed(ctx, session, fresh)
    return {"id": item.id, "caption": text, "previous": previous}


def name_moment(ctx: ArchiveContext, ref: str, name: str) -> MomentNameRecord:
    """Name the moment numbered `ref` in `timeline`, or the one holding the item `ref`."""
    name = name.strip()
    if not name:
        raise UsageError("the name is empty")
    ensure_sorted(ctx)
    with ctx.transaction() as tx:
        session = tx.session
        fresh = _is_fresh(session, ctx.settings.timezone)
        moment = _moment(session, ref)
        keys = list(
            session.scalars(select(ItemMoment.item_id).where(ItemMoment.moment_id == moment.id))
        )
        keys += session.scalars(select(DiaryEntry.id).where(DiaryEntry.moment_id == moment.id))
        for key in keys:
            session.merge(MomentName(item_id=key, name=name))
        previous, moment.name = moment.name, name
        # A moment is no item of its own; the event names the first item that anchors it.
        tx.log(
            Action.CAPTIONED,
            keys[0] if keys else None,
            moment=moment.id,
            moment_name=name,
            previous=previous,
            start=moment.start.isoformat() + "Z",
            end=moment.end.isoformat() + "Z",
        )
        _changed(ctx, session, fresh)
    return {"moment": moment.id, "name": name, "previous": previous, "items": len(keys)}


def _moment(session: Session, ref: str) -> Moment:
    if ref.isdigit():
        found = session.get(Moment, int(ref))
        if found is not None:
            return found
        if len(ref) < 4:
            raise NotFound(f"{ref}: no such moment (see `temoin timeline`)")
    item = queries.item_by_prefix(session, ref)
    moment_id = session.scalar(select(ItemMoment.moment_id).where(ItemMoment.item_id == item.id))
    if moment_id is None:
        moment_id = session.scalar(
            select(DiaryEntry.moment_id).where(DiaryEntry.item_id == item.id).limit(1)
        )
    found = session.get(Moment, moment_id) if moment_id is not None else None
    if found is None:
        raise NotFound(f"{ref}: that item has no time, so it is in no moment")
    return found
