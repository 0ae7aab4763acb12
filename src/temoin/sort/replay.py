"""Replay of the sort stage's state: clock corrections, tags, captions, days set by hand and
entries replaced or deleted from their events, and the timeline's times recomputed from inputs that are themselves
checked.

An item's time is derived: its stated time (vouched for by its ingest event), its file time (by
its sighting's event) and the clock corrections in force (by ``clock-set`` events). When the
derived tables are up to date, every stored time must be what a rebuild gives now; when they are
stale, the next reading command rebuilds them from those same checked inputs anyway.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from temoin.catalog.models import Caption, ClockOffset, EntryChange, NoteDay, Tag
from temoin.events import Action
from temoin.keep.replay import (
    Entry,
    Replayed,
    compare_counts,
    compare_values,
    differs,
    lost,
    unlogged,
)
from temoin.sort import stage, timeline


def replay_sort(session: Session, log: list[Entry], timezone: str) -> Replayed:
    result = Replayed()
    clocks: list[tuple[str, float, str | None]] = []
    tags: Counter[tuple[str, str]] = Counter()
    captions: dict[str, str] = {}
    changes: dict[str, str | None] = {}  # entry -> its new version, None when deleted
    days: dict[str, str | None] = {}  # note -> the day set by hand, None when given back
    for entry in log:
        detail = entry.detail
        if entry.action == Action.CLOCK_SET:
            offset = detail.get("offset_seconds")
            clocks.append(
                (
                    str(detail.get("source")),
                    float(offset) if isinstance(offset, int | float) else 0.0,
                    detail.get("timezone"),
                )
            )
        elif entry.action == Action.TAGGED and entry.item:
            tags.update((entry.item, str(t)) for t in detail.get("tags") or [])
        elif entry.action == Action.CAPTIONED and entry.item and "text" in detail:
            captions[entry.item] = str(detail["text"])
        elif entry.action == Action.ENTRY_CHANGED and entry.item:
            new = detail.get("replaced_by")
            changes[entry.item] = str(new) if new else None
        elif entry.action == Action.DAY_SET and entry.item:
            day = detail.get("day")
            days[entry.item] = str(day) if day else None
    _clocks(session, clocks, result)
    result.faults += compare_counts(
        tags,
        Counter((i, t) for i, t in session.execute(select(Tag.item_id, Tag.tag))),
        lambda k: f"tag {k[1]!r} of item {k[0]}",
        "this tag",
    )
    have = {i: t for i, t in session.execute(select(Caption.item_id, Caption.text))}
    result.faults += compare_values(captions, have, lambda i: f"caption of item {i}")
    _changes(session, changes, result)
    result.faults += compare_values(
        {i: d for i, d in days.items() if d is not None},
        dict(session.execute(select(NoteDay.item_id, NoteDay.day)).all()),
        lambda i: f"day of note {i}",
    )
    if stage._is_fresh(session, timezone):
        _times(session, timezone, result)
    return result


def _changes(session: Session, expected: dict[str, str | None], result: Replayed) -> None:
    """An edit or a deletion is expected when its event says so; a row without one is forged
    (it would take an approved entry off the site), a row lost would put an old text back."""
    have = dict(session.execute(select(EntryChange.item_id, EntryChange.replaced_by)).all())
    result.faults += compare_values(expected, have, lambda i: f"change of entry {i}", _change)


def _change(replaced_by: str | None) -> str:
    return f"replaced by {replaced_by}" if replaced_by else "deleted"


def _clocks(
    session: Session, expected: list[tuple[str, float, str | None]], result: Replayed
) -> None:
    rows = session.execute(
        select(ClockOffset.source, ClockOffset.offset_seconds, ClockOffset.timezone).order_by(
            ClockOffset.id
        )
    ).all()
    actual = [(source, float(offset), zone) for source, offset, zone in rows]
    for n, (have, want) in enumerate(zip(actual, expected, strict=False), start=1):
        if have != want:
            result.faults.append(
                differs(f"clock correction #{n} ({want[0]})", _clock(have), _clock(want))
            )
    for n, want in enumerate(expected[len(actual) :], start=len(actual) + 1):
        result.faults.append(lost(f"clock correction #{n} ({want[0]})"))
    for n, have in enumerate(actual[len(expected) :], start=len(expected) + 1):
        result.faults.append(unlogged(f"clock correction #{n} ({have[0]})", "it"))


def _clock(value: tuple[str, float, Any]) -> str:
    source, offset, zone = value
    return f"{source} {offset:+g} s" + (f" in {zone}" if zone else "")


def _times(session: Session, timezone: str, result: Replayed) -> None:
    for item_id, stored, resolved in timeline.stored_and_resolved(session, timezone):
        if stored[0] != resolved.time_utc:
            result.faults.append(
                differs(
                    f"capture time of item {item_id}",
                    _utc(stored[0]),
                    f"{_utc(resolved.time_utc)} (from its original and the recorded clocks)",
                )
            )
        elif stored[1:] != (resolved.source, resolved.confidence):
            result.faults.append(
                differs(
                    f"time source of item {item_id}",
                    f"{stored[1]} ({stored[2]})",
                    f"{resolved.source} ({resolved.confidence})",
                )
            )


def _utc(moment: Any) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None
