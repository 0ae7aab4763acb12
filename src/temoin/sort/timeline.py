"""One timeline out of many phones: the sort stage's rebuild, written once and in order.

    1. clocks     the corrections in force (per-source offsets and zones)
    2. times      every item's capture time, its clock and confidence (temoin.sort.clock)
    3. entries    text notes split into timed entries (temoin.sort.diary)
    4. moments    items and entries clustered by time gaps and place (temoin.sort.moments)
    5. figures    stated counts from entries and messages (temoin.sort.figures)
    6. search     the documents search reads (temoin.sort.search)

Everything written here is derived from the items, the clock corrections, tags, captions and moment
names, so a rebuild can run any number of times and never needs a custody event. `view` reads it
back as days → moments → rows for the CLI and, later, the web app.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from temoin.catalog.models import (
    Base,
    Caption,
    DiaryEntry,
    DupeMember,
    FigureRow,
    Item,
    ItemMoment,
    Moment,
    MomentName,
    Sighting,
    Tag,
)
from temoin.kinds import CHAT_LINES, ON_TIMELINE, Kind
from temoin.sort import notedays, search
from temoin.sort.clock import CONFIDENCE, Clocks, Resolved, load_clocks, resolve
from temoin.sort.diary import Entry, parse_diary
from temoin.sort.edits import changed_ids
from temoin.sort.figures import extract_figures, may_hold_figures
from temoin.sort.moments import Cluster, Point, carry_names, cluster
from temoin.sort.records import FigureRecord
from temoin.timeutil import to_local


@dataclass
class _Row:
    id: str
    kind: str
    source: str
    name: str
    meta: dict[str, Any]
    captured_raw: str | None
    capture_source: str | None
    text: str | None
    author: str | None
    old: tuple[datetime | None, str | None, float | None]


@dataclass
class _Entry:
    id: str
    item_id: str
    seq: int
    time_utc: datetime | None
    local: str | None
    text: str
    marker: str
    line: int
    is_dispatch: bool
    approximate: bool
    moment_id: int | None = None
    title: str | None = None
    day_from: str | None = None


@dataclass
class RebuildReport:
    items: int = 0
    changed: int = 0
    entries: int = 0
    figures: int = 0
    documents: int = 0
    moments: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def rebuild(session: Session, timezone: str) -> RebuildReport:
    """Recompute everything derived; the caller commits."""
    report = RebuildReport()
    lap = _Laps(report)
    clocks = load_clocks(session, timezone)
    rows = _load_items(session)
    report.items = len(rows)
    lap("load")
    times = _resolve_times(session, rows, clocks)
    lap("times")
    entries = _split_notes(session, rows, times, clocks, changed_ids(session))
    report.changed = _store_times(session, rows, times)
    lap("entries")
    clusters = _cluster(session, rows, times, entries)
    _store_entries(session, entries)
    _store_moments(session, clusters, {e.id for e in entries})
    report.entries, report.moments = len(entries), len(clusters)
    lap("moments")
    report.figures = _store_figures(session, rows, times, entries)
    lap("figures")
    report.documents = search.rebuild_index(session, _documents(session, rows, times, entries))
    lap("search")
    return report


def stored_and_resolved(
    session: Session, timezone: str
) -> list[tuple[str, tuple[datetime | None, str | None, float | None], Resolved]]:
    """Each item's time as the catalog holds it beside the time a rebuild would give it now,
    read-only: verify's check that the timeline's times follow from the checked inputs."""
    clocks = load_clocks(session, timezone)
    rows = _load_items(session)
    times = _resolve_times(session, rows, clocks)
    _split_notes(session, rows, times, clocks, changed_ids(session))
    return [(row.id, row.old, times[row.id]) for row in rows]


class _Laps:
    def __init__(self, report: RebuildReport) -> None:
        self.report = report
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.report.seconds[name] = now - self.last
        self.last = now


# -- steps ------------------------------------------------------------------------------------


def _load_items(session: Session) -> list[_Row]:
    query = select(
        Item.id,
        Item.kind,
        Item.source,
        Item.name,
        Item.meta,
        Item.captured_raw,
        Item.capture_source,
        Item.text,
        Item.author,
        Item.time_utc,
        Item.time_source,
        Item.capture_confidence,
    )
    return [
        _Row(r[0], r[1], r[2], r[3], r[4] or {}, r[5], r[6], r[7], r[8], (r[9], r[10], r[11]))
        for r in session.execute(query)
    ]


def _resolve_times(session: Session, rows: list[_Row], clocks: Clocks) -> dict[str, Resolved]:
    mtimes = dict(
        session.execute(
            select(Sighting.blob_sha256, func.min(Sighting.mtime)).group_by(Sighting.blob_sha256)
        ).all()
    )
    return {
        row.id: resolve(
            source=row.source,
            name=row.name if row.kind not in CHAT_LINES else "",
            meta=row.meta,
            captured_raw=row.captured_raw,
            capture_source=row.capture_source,
            mtime=mtimes.get(row.id),
            clocks=clocks,
        )
        for row in rows
    }


def entry_id(item_id: str, seq: int) -> str:
    return hashlib.sha256(f"{item_id}:entry:{seq}".encode()).hexdigest()


def _split_notes(
    session: Session,
    rows: list[_Row],
    times: dict[str, Resolved],
    clocks: Clocks,
    changed: set[str],
) -> list[_Entry]:
    """Notes become entries; a note with timed entries takes its first entry's time.

    A note that does not date its first times itself takes its day from the evidence
    (`temoin.sort.notedays`). An entry replaced or deleted (`temoin.sort.edits`) gives no entries
    and loses its time, so no story window takes it in again.
    """
    by_hand = notedays.hand_days(session)
    parsed: dict[str, list[Entry]] = {}
    undated: list[notedays.Note] = []
    for row in rows:
        if row.id in changed:
            times[row.id] = Resolved(None, None, None)
        elif row.kind == Kind.TEXT and row.text and not isinstance(row.meta.get("entry"), dict):
            parsed[row.id] = parse_diary(row.text)
            if row.id in by_hand or any(
                e.clock is not None and not e.headed for e in parsed[row.id]
            ):
                undated.append(notedays.Note(row.id, row.source, row.name, row.text))
    days = notedays.days_of(session, undated, {r.id: r.kind for r in rows}, times, clocks, by_hand)
    entries: list[_Entry] = []
    for row in rows:
        if row.id in changed or row.kind != Kind.TEXT or not row.text:
            continue
        if isinstance(row.meta.get("entry"), dict):
            entries.extend(_written_entry(row, row.meta["entry"], times, clocks))
            continue
        day, evidence = days.get(row.id, (None, None))
        notes = parse_diary(row.text, default_date=day) if day else parsed[row.id]
        made = _entries_of(row, notes, clocks, day_from=evidence)
        entries.extend(made)
        first = next((e.time_utc for e in made if e.time_utc is not None), None)
        if first is not None:
            times[row.id] = Resolved(first, "diary", CONFIDENCE["diary"])
    return entries


def _entries_of(
    row: _Row,
    parsed: list[Entry],
    clocks: Clocks,
    title: str | None = None,
    day_from: str | None = None,
) -> list[_Entry]:
    """A note's parsed entries as timeline rows, times through the source's clock; a title
    goes to dispatches only. `day_from` is what gave the day to entries under no date line."""
    out: list[_Entry] = []
    for seq, entry in enumerate(parsed):
        when = clocks.to_utc(entry.time, row.source, "diary") if entry.time else None
        out.append(
            _Entry(
                id=entry_id(row.id, seq),
                item_id=row.id,
                seq=seq,
                time_utc=when,
                local=entry.time.isoformat() if entry.time else None,
                text=entry.text,
                marker=entry.marker,
                line=entry.line,
                is_dispatch=entry.is_dispatch,
                approximate=entry.approximate,
                title=title if entry.is_dispatch else None,
                day_from=None if entry.day is None else "written" if entry.headed else day_from,
            )
        )
    return out


def _written_entry(
    row: _Row, fields: dict[str, Any], times: dict[str, Resolved], clocks: Clocks
) -> list[_Entry]:
    """An entry from the web app's form: its time is the form's field, or none at all.

    A letter is one dispatch, never split; a note is read like any diary (its own markers may
    time later lines) and the field times its first, unmarked part. Without a time field and
    without a marker nothing is timed: the item gets no time from its file either, so it is
    never published at a made-up hour.
    """
    day = date.fromisoformat(fields["day"]) if "day" in fields else None
    clock = dt_time.fromisoformat(fields["time"]) if "time" in fields else None
    at = datetime.combine(day, clock) if day and clock else None
    marker = fields.get("time", "")
    title = fields.get("title") or None
    text = row.text or ""
    if fields.get("form") == "letter":
        parsed = [Entry(at, text.strip(), marker, 1, is_dispatch=True, clock=clock, day=day)]
    else:
        parsed = parse_diary(text, default_date=day)
        if parsed and parsed[0].clock is None and not parsed[0].marker:
            first = parsed[0]
            parsed[0] = Entry(at, first.text, marker, first.line, first.is_dispatch, clock=clock)
    out = _entries_of(row, parsed, clocks, title, day_from="form" if day else None)
    first_time = next((e.time_utc for e in out if e.time_utc is not None), None)
    times[row.id] = (
        Resolved(first_time, "diary", CONFIDENCE["diary"])
        if first_time
        else Resolved(None, None, None)
    )
    return out


def _store_times(session: Session, rows: list[_Row], times: dict[str, Resolved]) -> int:
    """Write only what changed: a rebuild after one clock correction touches one device's items."""
    changes = []
    for row in rows:
        new = times[row.id]
        if (new.time_utc, new.source, new.confidence) != row.old:
            changes.append(
                {
                    "b_id": row.id,
                    "time_utc": new.time_utc,
                    "time_source": new.source,
                    "capture_confidence": new.confidence,
                }
            )
    if changes:
        # Core executemany: the ORM's bulk UPDATE costs several times more per row.
        table = _table(Item)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                time_utc=bindparam("time_utc"),
                time_source=bindparam("time_source"),
                capture_confidence=bindparam("capture_confidence"),
            ),
            changes,
        )
    return len(changes)


def _cluster(
    session: Session, rows: list[_Row], times: dict[str, Resolved], entries: list[_Entry]
) -> list[Cluster]:
    noted = {e.item_id for e in entries if e.time_utc is not None}
    points = []
    for row in rows:
        when = times[row.id].time_utc
        # a chat export stands on the timeline through its messages and its own lines
        if when is None or row.kind not in ON_TIMELINE or row.id in noted:
            continue
        gps = row.meta.get("gps") if row.kind in (Kind.PHOTO, Kind.VIDEO) else None
        lat = gps.get("lat") if isinstance(gps, dict) else None
        lon = gps.get("lon") if isinstance(gps, dict) else None
        points.append(Point(row.id, when, lat, lon))
    points.extend(Point(e.id, e.time_utc, item_id=e.item_id) for e in entries if e.time_utc)
    clusters = cluster(points)
    carry_names(clusters, dict(session.execute(select(MomentName.item_id, MomentName.name)).all()))
    moment_of = {key: c.id for c in clusters for key in c.keys}
    for entry in entries:
        entry.moment_id = moment_of.get(entry.id)
    return clusters


def _store_entries(session: Session, entries: list[_Entry]) -> None:
    session.execute(delete(DiaryEntry))
    if entries:
        session.execute(insert(_table(DiaryEntry)), [e.__dict__ for e in entries])


def _store_moments(session: Session, clusters: list[Cluster], entry_keys: set[str]) -> None:
    session.execute(delete(ItemMoment))
    session.execute(delete(Moment))
    if not clusters:
        return
    session.execute(
        insert(Moment),
        [
            {"id": c.id, "name": c.name, "start": c.start, "end": c.end, "lat": c.lat, "lon": c.lon}
            for c in clusters
        ],
    )
    links = [
        {"item_id": key, "moment_id": c.id}
        for c in clusters
        for key in c.keys
        if key not in entry_keys
    ]
    if links:
        session.execute(insert(_table(ItemMoment)), links)


def _table(model: type[Base]) -> Table:
    """A model's table, for Core's executemany (mypy types `__table__` as any FROM clause)."""
    return cast(Table, model.__table__)


def _store_figures(
    session: Session, rows: list[_Row], times: dict[str, Resolved], entries: list[_Entry]
) -> int:
    session.execute(delete(FigureRow))
    found = []
    sources: list[tuple[str, str | None, str, datetime | None]] = [
        (e.item_id, e.id, e.text, e.time_utc) for e in entries if not e.is_dispatch
    ]
    sources.extend(
        (r.id, None, r.text, times[r.id].time_utc)
        for r in rows
        if r.kind == Kind.MESSAGE and r.text
    )
    for item_id, entry, text, when in sources:
        if not may_hold_figures(text):
            continue
        for figure in extract_figures(text):
            found.append(
                {
                    "item_id": item_id,
                    "entry_id": entry,
                    "value": figure.value,
                    "what": figure.what[:200],
                    "text": figure.text,
                    "approximate": figure.approximate,
                    "time_utc": when,
                }
            )
    if found:
        session.execute(insert(_table(FigureRow)), found)
    return len(found)


def _documents(
    session: Session, rows: list[_Row], times: dict[str, Resolved], entries: list[_Entry]
) -> list[search.Doc]:
    docs = [
        search.Doc(e.item_id, "entry", e.text, e.time_utc or times[e.item_id].time_utc, e.id)
        for e in entries
    ]
    for row in rows:
        when = times[row.id].time_utc
        if row.kind in search.LINE_KINDS:
            if row.text:
                body = f"{row.author}: {row.text}" if row.author else row.text
                docs.append(search.Doc(row.id, "message", body, when))
        else:
            docs.append(search.Doc(row.id, "name", row.name, when))
    for item_id, caption in session.execute(select(Caption.item_id, Caption.text)):
        docs.append(search.Doc(item_id, "caption", caption, _time(times, item_id)))
    for item_id, tag in session.execute(select(Tag.item_id, Tag.tag)):
        docs.append(search.Doc(item_id, "tag", tag, _time(times, item_id)))
    return docs


def _time(times: dict[str, Resolved], item_id: str) -> datetime | None:
    found = times.get(item_id)
    return found.time_utc if found else None


# -- reading it back ----------------------------------------------------------------------------


def view(session: Session, timezone: str, day: date | None = None) -> list[dict[str, Any]]:
    """Days (local to `timezone`) → moments → rows, in time order; undated items last."""
    tags: dict[str, list[str]] = defaultdict(list)
    for item_id, tag in session.execute(select(Tag.item_id, Tag.tag).order_by(Tag.tag)):
        tags[item_id].append(tag)
    captions = dict(session.execute(select(Caption.item_id, Caption.text)).all())
    dupes = {
        item_id: (group, rep)
        for item_id, group, rep in session.execute(
            select(DupeMember.item_id, DupeMember.group_id, DupeMember.is_representative)
        )
    }
    moments = {m.id: m for m in session.scalars(select(Moment))}
    figures = figures_by_row(session)
    rows: list[dict[str, Any]] = []
    noted = set(session.scalars(select(DiaryEntry.item_id).where(DiaryEntry.time_utc.is_not(None))))
    items = session.execute(
        select(Item, ItemMoment.moment_id)
        .outerjoin(ItemMoment, ItemMoment.item_id == Item.id)
        .where(Item.kind.in_(ON_TIMELINE))
    )
    gone = changed_ids(session)
    for item, moment_id in items:
        if item.id in noted or item.id in gone:
            continue
        record = _item_row(item, moment_id, timezone)
        record["tags"] = tags.get(item.id, [])
        if item.id in captions:
            record["caption"] = captions[item.id]
        if item.id in dupes:
            record["dupe_group"], record["representative"] = dupes[item.id]
        record["figures"] = figures.get(item.id, [])
        rows.append(record)
    sources = dict(session.execute(select(Item.id, Item.source).where(Item.id.in_(noted))).all())
    for entry in session.scalars(select(DiaryEntry).where(DiaryEntry.time_utc.is_not(None))):
        record = _entry_row(entry, sources.get(entry.item_id, ""), timezone)
        record["figures"] = figures.get(entry.id, [])
        rows.append(record)
    # Same instant: a note's entries stay in the order written, after items of that instant.
    rows.sort(
        key=lambda r: (
            r["time_utc"] is None,
            r["time_utc"] or "",
            r.get("item", ""),
            r.get("line", 0),
            r["id"],
        )
    )
    return _days(rows, moments, timezone, day)


def figures_by_row(session: Session) -> dict[str, list[FigureRecord]]:
    """Each timeline row's stated counts, keyed by the entry they were said in, or by the
    message (an item) when they were said in a chat."""
    found: dict[str, list[FigureRecord]] = defaultdict(list)
    for row in session.scalars(select(FigureRow).order_by(FigureRow.id)):
        found[row.entry_id or row.item_id].append(figure_record(row))
    return found


def figure_record(row: FigureRow) -> FigureRecord:
    return {"value": row.value, "what": row.what, "text": row.text, "approximate": row.approximate}


def _item_row(item: Item, moment_id: int | None, timezone: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "time": to_local(item.time_utc, timezone).isoformat() if item.time_utc else None,
        "time_utc": item.time_utc.isoformat() + "Z" if item.time_utc else None,
        "time_source": item.time_source,
        "confidence": item.capture_confidence,
        "source": item.source,
        "moment": moment_id,
        "name": item.name,
    }
    if item.kind == Kind.TEXT:  # a note with no time of its own: where it sits is its file's time
        record["day_uncertain"] = item.time_source in notedays.FILE_CLOCKS
    if item.kind in CHAT_LINES:
        record["author"] = item.author
        record["text"] = item.shown_text
        record["chat"] = item.parent_id
        if item.attachment_id:
            record["attachment"] = item.attachment_id
        if item.attachment_missing:
            record["attachment_missing"] = True
    return record


def _entry_row(entry: DiaryEntry, source: str, timezone: str) -> dict[str, Any]:
    assert entry.time_utc is not None
    return {
        "id": entry.id,
        "kind": "dispatch" if entry.is_dispatch else "entry",
        "item": entry.item_id,
        "time": to_local(entry.time_utc, timezone).isoformat(),
        "time_utc": entry.time_utc.isoformat() + "Z",
        "time_source": "diary",
        "confidence": CONFIDENCE["diary"],
        "source": source,
        "moment": entry.moment_id,
        "marker": entry.marker,
        "line": entry.line,
        "approximate": entry.approximate,
        "text": entry.text,
        "tags": [],
        "day_from": entry.day_from,
        "day_from_label": notedays.label(entry.day_from),
        "day_uncertain": notedays.is_uncertain(entry.day_from),
    }


def _days(
    rows: list[dict[str, Any]], moments: dict[int, Moment], timezone: str, day: date | None
) -> list[dict[str, Any]]:
    days: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row["time"][:10] if row["time"] else "undated"
        if day is not None and key != day.isoformat():
            continue
        bucket = days.setdefault(key, {"day": key, "moments": []})
        moment_id = row.get("moment")
        if not bucket["moments"] or bucket["moments"][-1]["id"] != moment_id:
            bucket["moments"].append(
                _moment_head(moments.get(moment_id or -1), moment_id, timezone)
            )
        bucket["moments"][-1]["items"].append(row)
    return list(days.values())


def _moment_head(moment: Moment | None, moment_id: int | None, timezone: str) -> dict[str, Any]:
    head: dict[str, Any] = {"id": moment_id, "name": None, "start": None, "end": None, "items": []}
    if moment is not None:
        head.update(
            name=moment.name,
            start=to_local(moment.start, timezone).isoformat(),
            end=to_local(moment.end, timezone).isoformat(),
        )
        if moment.lat is not None:
            head["place"] = {"lat": round(moment.lat, 5), "lon": round(moment.lon or 0.0, 5)}
    return head
