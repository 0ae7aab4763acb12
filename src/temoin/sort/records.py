"""What the sort stage's verbs return: `TypedDict`s, so the CLI's ``--json``, the web pages and the
tests keep reading plain dicts while mypy checks every key where one is built or read."""

from __future__ import annotations

from typing import Any, TypedDict


class FigureRecord(TypedDict):
    """A stated count as `timeline --json` and `figures --json` give it."""

    value: int
    what: str
    text: str
    approximate: bool


class RebuildRecord(TypedDict):
    items: int
    changed: int
    entries: int
    figures: int
    documents: int
    moments: int
    seconds: dict[str, float]  # per step


class TimelineRecord(TypedDict):
    timezone: str
    zone: str  # the zone times are shown in
    source_zones: dict[str, str]  # sources whose naive times are read in a zone of their own
    fresh: bool  # False: shown as last sorted (another writer held the lock)
    days: list[dict[str, Any]]  # as `timeline.view` builds them


class StatedFigure(FigureRecord):
    """A count as `temoin figures` lists it: where and when it was said, and by which item."""

    time: str | None
    time_utc: str | None
    item: str
    entry: str | None
    kind: str  # entry, or the chat line's kind (message)
    source: str


class FiguresRecord(TypedDict):
    timezone: str
    fresh: bool
    figures: list[StatedFigure]


class NoteEntry(TypedDict):
    id: str
    line: int
    marker: str | None
    time: str | None
    day_from: str | None
    day_uncertain: bool
    text: str


class NoteDayRecord(TypedDict):
    id: str
    name: str
    source: str
    timezone: str
    fresh: bool
    day: str | None
    day_from: str | None  # the evidence that gave the day
    day_from_label: str | None
    day_uncertain: bool
    set_by_hand: str | None
    entries: list[NoteEntry]


class NoteDaySet(NoteDayRecord):
    changed: bool
    previous: str | None


class ClockSet(TypedDict):
    source: str
    offset_seconds: float
    previous_seconds: float
    timezone: str | None
    reason: str
    offset: str  # as written: +00:05:00


class ClockRecord(TypedDict):
    source: str
    offset: str
    offset_seconds: float
    timezone: str | None
    set_by: str
    reason: str
    at: str


class ClockEstimate(TypedDict):
    proposals: list[dict[str, Any]]  # `clock.Proposal.as_dict`
    applied: list[str]  # the sources whose offset was set


class DupeMemberRecord(TypedDict):
    id: str
    kind: str
    source: str
    name: str
    representative: bool
    distance: int | None


class DupeGroupRecord(TypedDict):
    group: int
    items: list[DupeMemberRecord]


class DupesRecord(TypedDict):
    hashed: int
    failed: list[str]
    groups: list[DupeGroupRecord]


class SearchHit(TypedDict):
    id: str
    entry: str | None
    field: str
    kind: str | None
    source: str | None
    name: str | None
    time: str | None
    time_utc: str | None
    text: str


class SearchRecord(TypedDict):
    query: str
    fresh: bool
    results: list[SearchHit]


class TagRecord(TypedDict):
    id: str
    added: list[str]
    tags: list[str]


class CaptionRecord(TypedDict):
    id: str
    caption: str
    previous: str | None


class MomentNameRecord(TypedDict):
    moment: int
    name: str
    previous: str | None
    items: int


class EntryChangeRecord(TypedDict):
    id: str
    replaced_by: str | None
    deleted: bool
